/**
 * `npm run fuzz`: every fuzz target of scripts/fuzz/targets.ts, each in a worker thread with a time
 * limit per input (a hang is a bug: the input is saved like one that threw). Jazzer.js does not run
 * on this glibc, so the generators are the project's own (scripts/fuzz/*.ts, targeted at the
 * bounds each reader checks). Settings come from the environment:
 *   XLP_FUZZ_RUNS        inputs per target (default 50000)
 *   XLP_FUZZ_SEED        the run's seed (printed; input i of a seed is always the same input)
 *   XLP_FUZZ_START       first input index (default 0): a long run is split into parts by index
 *   XLP_FUZZ_TARGETS     comma-separated target names (default: all)
 *   XLP_FUZZ_TIME_LIMIT_MS  per-input limit for every target (default: each target's own)
 *   XLP_FUZZ_KEEP_GOING  1: go on after a finding and count them all (default: stop at the first)
 *   XLP_FUZZ_LIB         the lib/ tree to test (default: this repository's; experiments plant bugs in a copy)
 *   XLP_FUZZ_OUT         where counterexamples go (default .cache/fuzz/)
 *   XLP_FUZZ_JOBS        workers at a time (default: the cores, at most 4)
 *   XLP_FUZZ_CHUNK       inputs per worker (default 12500): a target's range is shared out in chunks
 * Replay one input: XLP_FUZZ_SEED=<seed> XLP_FUZZ_START=<index> XLP_FUZZ_RUNS=1 XLP_FUZZ_TARGETS=<target>.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { type Finding, runTarget, type TargetRun } from './fuzz/engine.js';
import { FUZZ_TARGETS, type TargetEntry } from './fuzz/targets.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

const runs = intEnv('XLP_FUZZ_RUNS', 50_000, 1);
const start = intEnv('XLP_FUZZ_START', 0, 0);
const seed = process.env.XLP_FUZZ_SEED ? intEnv('XLP_FUZZ_SEED', 0, -(2 ** 31)) | 0 : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const timeLimit = process.env.XLP_FUZZ_TIME_LIMIT_MS ? intEnv('XLP_FUZZ_TIME_LIMIT_MS', 0, 1) : null;
const keepGoing = process.env.XLP_FUZZ_KEEP_GOING === '1';
const lib = process.env.XLP_FUZZ_LIB ?? join(ROOT, 'lib');
const outDir = process.env.XLP_FUZZ_OUT ?? join(ROOT, '.cache', 'fuzz');
const wanted = process.env.XLP_FUZZ_TARGETS
  ? process.env.XLP_FUZZ_TARGETS.split(',').map((s) => s.trim())
  : FUZZ_TARGETS.map((t) => t.name);
const unknown = wanted.filter((n) => !FUZZ_TARGETS.some((t) => t.name === n));
if (unknown.length) throw new Error(`unknown fuzz target(s): ${unknown.join(', ')} (known: ${FUZZ_TARGETS.map((t) => t.name).join(', ')})`);
const targets = FUZZ_TARGETS.filter((t) => wanted.includes(t.name));

const jobs = intEnv('XLP_FUZZ_JOBS', Math.max(1, Math.min(availableParallelism(), 4)), 1);
const chunk = intEnv('XLP_FUZZ_CHUNK', 12_500, 1);

console.log(
  `fuzz: ${runs} inputs per target (indexes ${start}..${start + runs - 1}), seed ${seed}, targets ${targets.map((t) => t.name).join(', ')}, ${jobs} at a time` +
    `${lib === join(ROOT, 'lib') ? '' : `, lib ${lib}`}`,
);
const t0 = performance.now();
// Each target's range is cut into chunks that run in parallel workers (the machine's cores, and
// targets that mostly wait, such as cli-args, overlap well); results are merged per target.
const queue = targets.flatMap((entry) => {
  const parts: { entry: TargetEntry; from: number; count: number }[] = [];
  for (let from = start; from < start + runs; from += chunk) parts.push({ entry, from, count: Math.min(chunk, start + runs - from) });
  return parts;
});
const pending = new Map(targets.map((t) => [t.name, queue.filter((q) => q.entry === t).length]));
const merged = new Map<string, TargetRun & { findings: Finding[]; stats: Record<string, number> }>();
const progress = new Map<string, number>();
const firstStart = new Map<string, number>();
const printed = new Map<string, number>();

function report(name: string): void {
  const r = merged.get(name)!;
  const oracles = Object.entries(r.stats)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const verdict = r.findings.length ? `${r.findings.length} finding(s)` : 'passed';
  console.log(`fuzz ${name}: ${r.inputs} inputs ${verdict} in ${(r.ms / 1000).toFixed(1)}s (seed ${seed})${oracles ? `; ${oracles}` : ''}`);
  for (const f of [...r.findings].sort((a, b) => a.index - b.index)) {
    console.error(`fuzz ${name}: input ${f.index} (${f.kind}): ${f.message.split('\n').slice(0, 12).join('\n  ')}`);
    console.error(
      `  replay: XLP_FUZZ_TARGETS=${name} XLP_FUZZ_SEED=${seed} XLP_FUZZ_START=${f.index} XLP_FUZZ_RUNS=1 npm run fuzz${f.file ? `; input written to ${f.file}` : ''}`,
    );
  }
}

async function worker(): Promise<void> {
  for (let job = queue.shift(); job; job = queue.shift()) {
    const { entry, from, count } = job;
    if (!firstStart.has(entry.name)) firstStart.set(entry.name, performance.now());
    const r = await runTarget({
      entry,
      root: ROOT,
      lib,
      seed,
      start: from,
      count,
      timeLimitMs: timeLimit ?? entry.timeLimitMs,
      outDir,
      keepGoing,
      progressEveryMs: 60_000,
      onProgress: (done) => {
        progress.set(`${entry.name}@${from}`, done);
        // One line per target and minute, however many of its chunks are running.
        const now = performance.now();
        if (now - (printed.get(entry.name) ?? 0) < 50_000) return;
        printed.set(entry.name, now);
        const total =
          [...progress].filter(([k]) => k.startsWith(`${entry.name}@`)).reduce((n, [, v]) => n + v, 0) +
          (merged.get(entry.name)?.inputs ?? 0);
        console.log(`fuzz ${entry.name}: ${total}/${runs} inputs after ${((now - t0) / 1000).toFixed(0)}s`);
      },
    });
    progress.delete(`${entry.name}@${from}`);
    const m = merged.get(entry.name) ?? { name: entry.name, seed, start, inputs: 0, ms: 0, findings: [], stats: {} };
    m.findings.push(...r.findings);
    for (const [k, v] of Object.entries(r.stats)) m.stats[k] = (m.stats[k] ?? 0) + v;
    merged.set(entry.name, { ...m, inputs: m.inputs + r.inputs, ms: performance.now() - firstStart.get(entry.name)! });
    pending.set(entry.name, pending.get(entry.name)! - 1);
    if (pending.get(entry.name) === 0) report(entry.name);
  }
}

await Promise.all(Array.from({ length: jobs }, () => worker()));
const results = [...merged.values()];
const findings = results.reduce((n, r) => n + r.findings.length, 0);
const inputs = results.reduce((n, r) => n + r.inputs, 0);
console.log(
  `fuzz: ${targets.length} target(s), ${inputs} inputs, ${findings} finding(s) in ${((performance.now() - t0) / 1000).toFixed(1)}s (seed ${seed})`,
);
process.exit(findings ? 1 : 0);
