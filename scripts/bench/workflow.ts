/**
 * `npm run bench:workflow`: what a `Livepatcher` adds to the hypercalls it makes, on the in-memory
 * mock (so the hypercalls cost next to nothing and what is measured is the library's own work:
 * host lock, in-flight record, registry, console transcript, event-loop round trips).
 *   - baseline: the same backend, called bare: ACTION then GET until done, for APPLY then REVERT;
 *   - `Livepatcher.apply()` + `revert()` of the same payload, its state directory in RAM (/dev/shm,
 *     as a dom0 booted from an initramfs has it) and on the disk (the OS temporary directory).
 * Prints per apply+revert pair: median wall time, CPU time, and the ratio to the baseline.
 * Issue 14's goal is on the real hypervisor (`npm run bench:xen`: Livepatcher.apply() at most
 * 0.15x the C tool's apply); this is the part of it that does not need Xen.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockHypervisor } from '../../lib/mock/index.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { buildPayload } from '../payloads/builder.js';

const XEN = 'b3c4000000000000000000000000000000000017';
const here = new URL('.', import.meta.url).pathname;
const PAIRS = Number(process.env.XLP_BENCH_PAIRS ?? 300);

const built = await buildPayload({
  name: 'bench_nop',
  sources: [join(here, '..', '..', 'test', 'parity', 'payloads', 'nop.c')],
  xenDepends: XEN,
});
const identity = { buildId: XEN, quiesceMs: 0, rendezvousNs: 0 };

interface Sample {
  wall: number[];
  cpu: number[];
}

async function measure(pair: () => Promise<void>): Promise<Sample> {
  for (let i = 0; i < 30; i++) await pair();
  const s: Sample = { wall: [], cpu: [] };
  for (let i = 0; i < PAIRS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await pair();
    s.wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    s.cpu.push((d.user + d.system) / 1000);
  }
  return s;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

async function bare(): Promise<Sample> {
  const xen = new MockHypervisor({ identity, timers: false });
  await xen.upload('bench_nop', await import('node:fs/promises').then((f) => f.readFile(built.path)));
  const until = async (state: string) => {
    for (;;) {
      const s = await xen.get('bench_nop');
      if (s.rc !== -11) {
        if (s.state !== state) throw new Error(`bare: ${s.state} rc ${s.rc}`);
        return;
      }
    }
  };
  const r = await measure(async () => {
    await xen.action('bench_nop', 'APPLY');
    await until('APPLIED');
    await xen.action('bench_nop', 'REVERT');
    await until('CHECKED');
  });
  await xen.close();
  return r;
}

async function library(parent: string): Promise<Sample> {
  const stateDir = await mkdtemp(join(parent, 'xlp-bench-workflow-'));
  const xen = new MockHypervisor({ identity, timers: false });
  const lp = await Livepatcher.open({ backend: xen, stateDir });
  await lp.upload('bench_nop', built.path);
  try {
    return await measure(async () => {
      if ((await lp.apply('bench_nop')).outcome !== 'done') throw new Error('apply: not done');
      if ((await lp.revert('bench_nop')).outcome !== 'done') throw new Error('revert: not done');
    });
  } finally {
    await lp.close();
    await xen.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const base = await bare();
const rows: [string, Sample][] = [['bare Backend: ACTION + GET poll, APPLY then REVERT (baseline)', base]];
if (existsSync('/dev/shm')) rows.push(['Livepatcher apply() + revert(), state directory in /dev/shm', await library('/dev/shm')]);
rows.push([`Livepatcher apply() + revert(), state directory in ${tmpdir()}`, await library(tmpdir())]);

console.log(`per apply+revert pair on the in-memory mock, ${PAIRS} pairs each, medians (node ${process.version}):`);
console.log(`  ${'what'.padEnd(66)}${'wall'.padStart(10)}${'CPU'.padStart(10)}${'wall vs baseline'.padStart(20)}`);
for (const [what, s] of rows) {
  const w = median(s.wall);
  const c = median(s.cpu);
  const vs = s === base ? '(baseline)' : `+${(w - median(base.wall)).toFixed(2)} ms (x${(w / median(base.wall)).toFixed(1)})`;
  console.log(`  ${what.padEnd(66)}${`${w.toFixed(2)} ms`.padStart(10)}${`${c.toFixed(2)} ms`.padStart(10)}${vs.padStart(20)}`);
}
