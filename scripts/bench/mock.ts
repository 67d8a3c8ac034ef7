/**
 * `npm run bench:mock`: the in-process mock's speed beside a plain in-memory Map doing the same
 * bookkeeping, measured in the same run.
 *   - a full upload/apply/revert/unload cycle of a small payload (each action completed by the next
 *     GET, as a poller would see it); upload includes the real preflight of the payload bytes;
 *   - GET and LIST with 1,000 payloads loaded.
 * Goals (issue 4): full cycle median < 1 ms, LIST of 1,000 < 5 ms.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initMockState, MockHypervisor, openMockBackend } from '../../lib/mock/index.js';
import { buildPayload } from '../payloads/builder.js';
import { payloadVariant } from '../payloads/variants.js';

const XEN = 'b3c4000000000000000000000000000000000017';
const here = new URL('.', import.meta.url).pathname;

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), p90: q(0.9), perSecond: 1000 / q(0.5) };
}

async function time(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

const fmt = (ms: number) => (ms < 0.01 ? `${(ms * 1000).toFixed(2)} µs` : ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

const built = await buildPayload({
  name: 'bench_nop',
  sources: [join(here, '..', '..', 'test', 'parity', 'payloads', 'nop.c')],
  xenDepends: XEN,
});
const bytes = new Uint8Array(await readFile(built.path));
const identity = { buildId: XEN, quiesceMs: 0, rendezvousNs: 0 };

// ---------------------------------------------------------------- full cycle
const mock = new MockHypervisor({ identity, timers: false });
const cycle = async (name: string) => {
  await mock.upload(name, bytes);
  await mock.action(name, 'APPLY');
  if ((await mock.get(name)).state !== 'APPLIED') throw new Error('apply did not complete');
  await mock.action(name, 'REVERT');
  if ((await mock.get(name)).state !== 'CHECKED') throw new Error('revert did not complete');
  await mock.action(name, 'UNLOAD');
};
await time(300, (i) => cycle(`warm${i}`));
const mockCycle = stats(await time(3000, (i) => cycle(`p${i}`)));

type Rec = { state: string; rc: number; bytes: Uint8Array };
const map = new Map<string, Rec>();
const mapCycle = async (name: string) => {
  map.set(name, { state: 'CHECKED', rc: 0, bytes: bytes.slice() });
  map.get(name)!.rc = -11;
  const r = map.get(name)!;
  r.state = 'APPLIED';
  r.rc = 0;
  map.get(name)!.rc = -11;
  map.get(name)!.state = 'CHECKED';
  map.get(name)!.rc = 0;
  map.delete(name);
};
await time(300, (i) => mapCycle(`warm${i}`));
const baseCycle = stats(await time(3000, (i) => mapCycle(`p${i}`)));

// ---------------------------------------------------------------- 1,000 payloads
const many = new MockHypervisor({ identity, timers: false });
const names: string[] = [];
for (let i = 0; i < 1000; i++) {
  const name = `payload_${i}`;
  await many.upload(name, payloadVariant(bytes, i));
  map.set(name, { state: 'CHECKED', rc: 0, bytes });
  names.push(name);
}
const pick = (i: number) => names[(i * 7919) % names.length]!;
await time(1000, (i) => many.get(pick(i)));
const mockGet = stats(await time(20000, (i) => many.get(pick(i))));
const baseGet = stats(await time(20000, async (i) => ({ ...map.get(pick(i))! })));
await time(50, () => many.list());
const mockList = stats(await time(500, () => many.list()));
const baseList = stats(
  await time(500, async () => Array.from(map, ([name, r]) => ({ name, state: r.state, rc: r.rc, metadata: new Uint8Array(0) }))),
);

// ---------------------------------------------------------------- persisted (for reference)
const dir = join(await mkdtemp(join(tmpdir(), 'xlp-bench-')), 'state');
await initMockState(dir, identity);
const onDisk = await openMockBackend({ stateDir: dir, timers: false });
const diskCycle = async (name: string) => {
  await onDisk.upload(name, bytes);
  await onDisk.action(name, 'APPLY');
  await onDisk.get(name);
  await onDisk.action(name, 'REVERT');
  await onDisk.get(name);
  await onDisk.action(name, 'UNLOAD');
};
await time(5, (i) => diskCycle(`warm${i}`));
const persisted = stats(await time(40, (i) => diskCycle(`d${i}`)));

const rows: [string, ReturnType<typeof stats>, ReturnType<typeof stats>, number][] = [
  ['upload/apply/revert/unload cycle', mockCycle, baseCycle, 1],
  ['GET, 1,000 loaded', mockGet, baseGet, 1],
  ['LIST of 1,000', mockList, baseList, 5],
];
console.log(`xen-livepatch mock benchmark (node ${process.version}, payload ${bytes.length} bytes)\n`);
console.log(
  `${'operation'.padEnd(34)}${'mock median'.padStart(13)}${'mock p90'.padStart(12)}${'mock ops/s'.padStart(13)}${'Map median'.padStart(13)}${'ratio'.padStart(9)}   goal`,
);
for (const [what, m, b, goal] of rows) {
  const ok = what.startsWith('GET') ? '' : m.median < goal ? `< ${goal} ms: met` : `< ${goal} ms: MISSED`;
  console.log(
    `${what.padEnd(34)}${fmt(m.median).padStart(13)}${fmt(m.p90).padStart(12)}${Math.round(m.perSecond).toLocaleString('en').padStart(13)}${fmt(b.median).padStart(13)}${`${(m.median / b.median).toFixed(0)}x`.padStart(9)}   ${ok}`,
  );
}
console.log(
  `\nfor reference, the same cycle on a state directory (lock + fsync'ed atomic writes): median ${fmt(persisted.median)}, p90 ${fmt(persisted.p90)}`,
);
await mock.close();
await many.close();
await onDisk.close();
