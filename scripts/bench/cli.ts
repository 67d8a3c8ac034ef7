/**
 * `npm run bench:cli`: what `xlp` costs and how soon it notices that the hypervisor is done, each
 * measured against a baseline in the same run.
 *
 * 1. Whole-process time (spawn to exit, as a shell script sees it) of `xlp --version` and
 *    `xlp list --backend mock` (a persisted mock holding 3 payloads) against `node -e 0`, the
 *    floor any Node CLI pays. Runs are interleaved so drift hits all three alike.
 *    Goal (issue 5): each within 60 ms of bare node.
 *
 * 2. Completion latency: the time from the moment the mock completes an APPLY to the moment the
 *    caller has its answer. The mock decides completion by a due time (`pending.dueAt`, on the
 *    clock it is given): the idle loop "runs" then, and the first GET from that moment on sees
 *    the payload APPLIED. So:
 *    - in-process: `Livepatcher.apply()` resolving, minus `dueAt` (the mock on a sub-millisecond
 *      wall clock, quiesce delays of 5 to 50 ms so the poller is caught at different points of
 *      its back-off);
 *    - whole process: the parent receiving `xlp apply`'s result on stdout, and seeing it exit,
 *      minus `dueAt` read from the mock's state file while the action is pending (the mock's clock
 *      is Date.now, whole milliseconds, so these carry up to 1 ms of rounding). The GET that
 *      observes completion also makes the persisted mock write its new state (fsync'ed): that is
 *      the simulator's cost, included here.
 *    No baseline is measured here: the C tool (`xen-livepatch apply`) needs a hypervisor, and
 *    `npm run bench:xen` measures it on one. What this prints beside the measurements is a model,
 *    labelled as one, from the C tool's source (tools/misc/xen-livepatch.c): it sleeps a fixed
 *    DELAY = 2 x 30 ms after the hypercall, then GETs once, so an action that completes q ms after
 *    the hypercall is reported 60 - q ms after it completed, and one that takes longer than 60 ms
 *    is reported as not completed. No ratio is printed against the model. Goal: under 5 ms.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initMockState, MockHypervisor, openMockBackend } from '../../lib/mock/index.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { buildPayloads } from '../payloads/builder.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const XLP = join(ROOT, 'bin', 'xlp.js');
const XEN = 'c0ffee00000000000000000000000000000000b5';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

const wallNow = (): number => performance.timeOrigin + performance.now();

function stats(samples: readonly number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { min: s[0]!, median: q(0.5), p90: q(0.9), max: s.at(-1)! };
}
const ms = (x: number) => `${x.toFixed(1).padStart(6)} ms`;

function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; ms: number; exitedAt: number; answeredAt: number; err: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let answeredAt = 0;
    child.stdout.on('data', () => (answeredAt ||= wallNow()));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const exitedAt = wallNow();
      resolve({ code, ms: performance.now() - t0, exitedAt, answeredAt: answeredAt || exitedAt, err });
    });
  });
}

const tmp = await mkdtemp(join(tmpdir(), 'xlp-bench-'));
try {
  // ---------------------------------------------------------------- payloads and a mock
  const src = join(ROOT, 'test', 'workflow', 'payloads', 'wf.c');
  const built = await buildPayloads(
    ['one', 'two', 'three', 'target'].map((n) => ({
      name: `bench_${n}`,
      sources: [src],
      xenDepends: XEN,
      defines: { WF_VARIANT: `"${n}"` },
    })),
  );
  const path = (n: string) => built.get(`bench_${n}`)!.path;
  const mockDir = join(tmp, 'mock');
  await initMockState(mockDir, { buildId: XEN, quiesceMs: 0 });
  {
    const m = await openMockBackend({ stateDir: mockDir, ifMissing: 'error' });
    const lp = await Livepatcher.open({ backend: m, stateDir: join(mockDir, 'workflow') });
    await lp.load(path('one'));
    await lp.upload('bench_two', path('two'));
    await lp.upload('bench_three', path('three'));
    await lp.close();
  }
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', XLP_BACKEND: 'mock', XLP_MOCK_STATE: mockDir };
  for (const k of Object.keys(env)) if (k.startsWith('XLP_FAULT')) delete env[k];

  // ---------------------------------------------------------------- 1. whole-process time
  const cases: [string, string[]][] = [
    ['node -e 0', ['-e', '0']],
    ['xlp --version', [XLP, '--version']],
    ['xlp list --backend mock', [XLP, 'list', '--backend', 'mock']],
  ];
  const samples = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  for (let i = 0; i < 3; i++) for (const [, args] of cases) await run(args, env); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, args] of cases) {
      const r = await run(args, env);
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.err}`);
      samples.get(name)!.push(r.ms);
    }
  }
  const base = stats(samples.get('node -e 0')!);
  console.log(`whole-process time, ${RUNS} interleaved runs each (spawn to exit):`);
  console.log(`  ${'command'.padEnd(26)} ${'median'.padStart(9)} ${'p90'.padStart(9)}   vs node -e 0 (median)   goal`);
  for (const [name] of cases) {
    const s = stats(samples.get(name)!);
    const over = s.median - base.median;
    const verdict = name === 'node -e 0' ? '' : over <= 60 ? 'within 60 ms: met' : 'more than 60 ms: NOT met';
    console.log(
      `  ${name.padEnd(26)} ${ms(s.median)} ${ms(s.p90)}   ${name === 'node -e 0' ? '   (baseline)        ' : `+${ms(over)} (x${(s.median / base.median).toFixed(2)})`}   ${verdict}`,
    );
  }

  // ---------------------------------------------------------------- 2a. completion latency, in process
  const latencies: number[] = [];
  const quiesces = [5, 10, 20, 35, 50];
  {
    const clock = { now: wallNow };
    for (const q of quiesces) {
      const xen = new MockHypervisor({ identity: { buildId: XEN, quiesceMs: q, rendezvousNs: 0 }, clock, timers: false });
      const lp = await Livepatcher.open({ backend: xen, stateDir: join(tmp, `lp-${q}`) });
      await lp.upload('bench_target', path('target'));
      for (let i = 0; i < Math.max(6, Math.round(RUNS / 3)); i++) {
        let dueAt = 0;
        const scheduled = lp.apply('bench_target');
        // The action is scheduled synchronously inside apply(); read its due time while it is pending.
        for (;;) {
          const pending = (await xen.inspect()).pending;
          if (pending) {
            dueAt = pending.dueAt;
            break;
          }
          await new Promise((r) => setImmediate(r));
        }
        await scheduled;
        latencies.push(wallNow() - dueAt);
        await lp.revert('bench_target');
      }
      await lp.close();
    }
  }
  const inProc = stats(latencies);

  // ---------------------------------------------------------------- 2b. completion latency, whole process
  const procLatencies: number[] = [];
  const answerLatencies: number[] = [];
  const getCost: number[] = [];
  {
    const dir = join(tmp, 'mock-latency');
    const QUIESCE = 150; // long enough to read the due time from the state file while it is pending
    await initMockState(dir, { buildId: XEN, quiesceMs: QUIESCE, rendezvousNs: 0 });
    const m = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
    await m.upload('bench_target', await readFile(path('target')));
    for (let i = 0; i < 5; i++) await m.get('bench_target');
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await m.get('bench_target');
      getCost.push(performance.now() - t);
    }
    await m.close();
    const penv = { ...env, XLP_MOCK_STATE: dir };
    for (let i = 0; i < Math.max(5, Math.round(RUNS / 3)); i++) {
      const child = run([XLP, 'apply', 'bench_target', '--backend', 'mock'], penv);
      let dueAt = 0;
      const deadline = Date.now() + 5_000;
      while (!dueAt && Date.now() < deadline) {
        try {
          const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { machine: { pending: { dueAt: number } | null } };
          if (state.machine.pending) dueAt = state.machine.pending.dueAt;
        } catch {
          // Being replaced: read again.
        }
        if (!dueAt) await new Promise((r) => setTimeout(r, 2));
      }
      const r = await child;
      if (r.code !== 0 || !dueAt) throw new Error(`xlp apply: exit ${r.code}, due time ${dueAt ? 'read' : 'not seen'}: ${r.err}`);
      procLatencies.push(r.exitedAt - dueAt);
      answerLatencies.push(r.answeredAt - dueAt);
      const back = await run([XLP, 'revert', 'bench_target', '--backend', 'mock'], penv);
      if (back.code !== 0) throw new Error(`xlp revert: ${back.err}`);
    }
  }
  const proc = stats(procLatencies);
  const answer = stats(answerLatencies);

  // The C tool's answer, as a model (see the header): not measured in this run.
  const C_TOOL_DELAY_MS = 60;
  const model = (q: number) => (q < C_TOOL_DELAY_MS ? `${C_TOOL_DELAY_MS - q} ms` : 'fails ("did not complete")');
  console.log('');
  console.log("completion latency: the mock completing an APPLY (its due time) -> the caller's answer (measured):");
  console.log(
    `  ${'measurement'.padEnd(44)} ${'median'.padStart(9)} ${'p90'.padStart(9)} ${'max'.padStart(9)}   C tool, modelled (60 ms - quiesce q; not measured)`,
  );
  const line = (name: string, s: ReturnType<typeof stats>, modelled: string) =>
    console.log(`  ${name.padEnd(44)} ${ms(s.median)} ${ms(s.p90)} ${ms(s.max)}   ${modelled}`);
  line(
    `Livepatcher.apply() resolves (quiesce ${quiesces[0]}-${quiesces.at(-1)} ms)`,
    inProc,
    `${model(quiesces.at(-1)!)} to ${model(quiesces[0]!)}`,
  );
  line('xlp apply prints its result (quiesce 150 ms)', answer, model(150));
  line('xlp apply process exits (quiesce 150 ms)', proc, model(150));
  console.log(
    `  model: the C tool sleeps DELAY = ${C_TOOL_DELAY_MS} ms after the hypercall, then GETs once (tools/misc/xen-livepatch.c); \`npm run bench:xen\` measures it on Xen`,
  );
  const verdict = (s: ReturnType<typeof stats>) => (s.median < 5 ? 'met' : 'NOT met');
  console.log(
    `  goal: under 5 ms (median) -> in-process ${verdict(inProc)}; xlp result printed ${verdict(answer)}; xlp process exit ${verdict(proc)}`,
  );
  console.log(
    `  (whole process: every hypercall of the persisted mock takes its file lock and checks its state file, ${stats(getCost).median.toFixed(2)} ms per GET ` +
      'here, and the GET that sees completion also writes the new state with fsync; after the answer, Node tears down)',
  );
} finally {
  await rm(tmp, { recursive: true, force: true });
}
