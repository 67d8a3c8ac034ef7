/**
 * `npm run fuzz`: fast-check's long run of the preflight property over mutations of every fixture
 * (Jazzer.js does not run on this glibc). Budget and seed come from the environment:
 *   XLP_FUZZ_RUNS  number of inputs (default 2000)
 *   XLP_FUZZ_SEED  replay a run (the seed is printed at the start and on failure)
 *   XLP_FUZZ_PATH  replay one counterexample path (printed on failure)
 * A failing input is also written to .cache/fuzz/ for readelf and xlp check.
 */
import fc from 'fast-check';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readElf, readWork } from '../lib/elf/index.js';
import { readPayload } from '../lib/payload/index.js';
import { preflight } from '../lib/preflight/index.js';
import { fixtures } from '../test/fixtures/catalogue.js';
import { applyMutations, assertWellFormed, fieldSlots, inputArb, type MutatedInput, optionsFor, type Slot } from '../test/properties/mutations.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const UNITS_PER_BYTE = 128;
const UNITS_FLOOR = 20_000;

const runs = Number(process.env.XLP_FUZZ_RUNS ?? 2000);
const seed = process.env.XLP_FUZZ_SEED !== undefined ? Number(process.env.XLP_FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const path = process.env.XLP_FUZZ_PATH;
if (!Number.isInteger(runs) || runs <= 0) throw new Error(`XLP_FUZZ_RUNS must be a positive integer, not ${process.env.XLP_FUZZ_RUNS}`);

const all = await fixtures();
const originals = new Map<string, { bytes: Buffer; slots: Slot[] }>();
for (const [name, f] of all) originals.set(name, { bytes: f.bytes, slots: fieldSlots(f.bytes) });
const names = [...originals.keys()];

console.log(`fuzz: ${runs} inputs over ${names.length} fixtures, seed ${seed}${path ? `, path ${path}` : ''}`);
let last: { input: MutatedInput; bytes: Buffer } | undefined;
const started = performance.now();

function check(input: MutatedInput): void {
  const o = originals.get(input.fixture)!;
  const bytes = applyMutations(o.bytes, o.slots, input);
  last = { input, bytes };
  readWork.units = 0;
  readElf(bytes);
  const model = readPayload(bytes);
  if (model.payload) void model.payload.symbols.length;
  assertWellFormed(preflight(bytes, optionsFor(input)));
  if (readWork.units > UNITS_PER_BYTE * bytes.length + UNITS_FLOOR) {
    throw new Error(`superlinear work: ${readWork.units} units for ${bytes.length} bytes`);
  }
}

const result = fc.check(fc.property(inputArb(names), check), { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: false });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (result.failed) {
  const dir = join(ROOT, '.cache', 'fuzz');
  await mkdir(dir, { recursive: true });
  const counter = result.counterexample?.[0] as MutatedInput | undefined;
  const file = join(dir, `counterexample-${seed}.livepatch`);
  if (counter) {
    const o = originals.get(counter.fixture)!;
    await writeFile(file, applyMutations(o.bytes, o.slots, counter));
  } else if (last) await writeFile(file, last.bytes);
  console.error(fc.defaultReportMessage(result));
  console.error(`fuzz: FAILED after ${result.numRuns} inputs in ${seconds}s (seed ${seed}, path ${result.counterexamplePath}); input written to ${file}`);
  process.exit(1);
}
console.log(`fuzz: ${result.numRuns} inputs passed in ${seconds}s (seed ${seed})`);
