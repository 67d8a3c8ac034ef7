/**
 * The planted-bug experiment: does the fuzzer find the ELF-reader bugs a blind one missed? Each
 * plant is a one-line change to a copy of lib/ (the repository is not touched); the `elf` target
 * runs on the copy, with the targeted generator and with the blind one, from several seeds, and
 * the table gives the index of the first input that exposed the bug (a hang is caught by the time
 * limit, a throw by the check).
 *   npx tsx scripts/fuzz/planted.ts            (XLP_PLANT_SEEDS=5, XLP_PLANT_BUDGET=20000)
 * test/properties/planted.test.ts runs the targeted half for one seed.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Finding, runTarget } from './engine.js';
import type { TargetEntry } from './targets.js';

export interface Plant {
  readonly name: string;
  readonly description: string;
  /** File under lib/, the exact text to replace (once) and its replacement. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** How the bug shows: a hang (caught by the time limit) or an exception. */
  readonly shows: Finding['kind'];
}

export const PLANTS: readonly Plant[] = [
  {
    name: 'rela-entsize-0',
    description: 'a RELA section with sh_entsize 0 is read (the entry-size check is gone): preflight loops forever',
    file: 'elf/elf-file.ts',
    find: '    if (s.entsize < BigInt(min)) return null;\n',
    replace: '',
    shows: 'timeout',
  },
  {
    name: 'section-past-end',
    description: 'a section may end up to 8 bytes past the end of the file: preflight reads past its buffer and throws',
    file: 'elf/sections.ts',
    find: 'return s.offset + s.size <= BigInt(r.length);',
    replace: 'return s.offset + s.size <= BigInt(r.length) + 8n;',
    shows: 'exception',
  },
];

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

export const GENERATORS: readonly TargetEntry[] = [
  { name: 'elf', module: './elf.ts', description: 'targeted', timeLimitMs: 5_000 },
  { name: 'elf-untargeted', module: './elf-untargeted.ts', description: 'blind', timeLimitMs: 5_000 },
];

/** A copy of lib/ with the bug planted, under .cache/ (node_modules resolve from there). */
export function plantedLib(plant: Plant): string {
  const dir = join(ROOT, '.cache', 'planted', plant.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'lib'), join(dir, 'lib'), { recursive: true });
  const file = join(dir, 'lib', plant.file);
  const text = readFileSync(file, 'utf8');
  if (text.split(plant.find).length !== 2)
    throw new Error(`plant ${plant.name}: the text to replace is not in lib/${plant.file} exactly once`);
  writeFileSync(file, text.replace(plant.find, plant.replace));
  return join(dir, 'lib');
}

/** The first finding of `generator` on the planted copy within `budget` inputs, or null. */
export async function firstFinding(
  plant: Plant,
  lib: string,
  generator: TargetEntry,
  seed: number,
  budget: number,
): Promise<Finding | null> {
  const out = join(ROOT, '.cache', 'planted', plant.name, 'found');
  const r = await runTarget({
    entry: generator,
    root: ROOT,
    lib,
    seed,
    start: 0,
    count: budget,
    timeLimitMs: generator.timeLimitMs,
    outDir: out,
    keepGoing: false,
  });
  return r.findings[0] ?? null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seeds = Number(process.env.XLP_PLANT_SEEDS ?? 5);
  const budget = Number(process.env.XLP_PLANT_BUDGET ?? 20_000);
  console.log(`planted ELF-reader bugs: first input (of ${budget}) that exposes each, per seed\n`);
  console.log(`| plant | generator | ${Array.from({ length: seeds }, (_, i) => `seed ${i + 1}`).join(' | ')} |`);
  console.log(`|---|---|${'---|'.repeat(seeds)}`);
  for (const plant of PLANTS) {
    const lib = plantedLib(plant);
    for (const g of GENERATORS) {
      const cells: string[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const f = await firstFinding(plant, lib, g, seed, budget);
        cells.push(f ? `${f.index}${f.kind === plant.shows ? '' : ` (${f.kind})`}` : `none in ${budget}`);
      }
      console.log(`| ${plant.name} | ${g.description} | ${cells.join(' | ')} |`);
    }
    rmSync(join(ROOT, '.cache', 'planted', plant.name), { recursive: true, force: true });
  }
}
