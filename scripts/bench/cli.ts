/**
 * `npm run bench:cli`: what `xlp` costs and how soon it notices that the hypervisor is done, each
 * measured against a baseline in the same run.
 *
 * 1. Whole-process time (spawn to exit, as a shell script sees it) of `xlp --version`,
 *    `xlp list --backend mock` and `xlp status NAME` (a persisted mock holding 3 payloads)
 *    against `node -e 0`, the floor any Node CLI pays; `list` and `status` also as the same code
 *    run from tsc's module files (scripts/bench/xlp-modules.mjs: the layout before the bundle
 *    dist/xlp/xlp.cjs). Runs are interleaved so drift hits all alike. Where `perf` can count a
 *    child's CPU time (task-clock), that is printed too: on a machine busy with other work it
 *    moves much less than the wall clock does. The load average is printed with the table.
 *    Goals (issue 14): `--version` within 5 ms of bare node, `list` and `status` within 20 ms.
 *    `--startup` runs this part only.
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
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initMockState, MockHypervisor, openMockBackend } from '../../lib/mock/index.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { buildPayloads } from '../payloads/builder.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const XLP = join(ROOT, 'bin', 'xlp.js');
const XLP_MODULES = join(ROOT, 'scripts', 'bench', 'xlp-modules.mjs');
const STARTUP_ONLY = process.argv.includes('--startup');
/** Whether `perf stat` can count a child's task-clock here (not in every container). */
const PERF = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', 'true'], { encoding: 'utf8' }).status === 0;
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
  cpu = false,
): Promise<{ code: number | null; ms: number; exitedAt: number; answeredAt: number; err: string; cpuMs?: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    // With `cpu`, perf runs node and reports its task-clock as the last line of stderr (perf's own
    // start is inside the wall time then, alike for every contender, the baseline included).
    const child = cpu
      ? spawn('perf', ['stat', '-x,', '-e', 'task-clock', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let answeredAt = 0;
    child.stdout.on('data', () => (answeredAt ||= wallNow()));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const exitedAt = wallNow();
      const ms = performance.now() - t0;
      const cpuMs = cpu ? Number(err.trim().split('\n').at(-1)?.split(',')[0]) : undefined;
      resolve({ code, ms, exitedAt, answeredAt: answeredAt || exitedAt, err, ...(cpuMs === undefined ? {} : { cpuMs }) });
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
  type Case = readonly [name: string, args: string[], goalMs?: number];
  const cases: Case[] = [
    ['node -e 0', ['-e', '0']],
    ['xlp --version', [XLP, '--version'], 5],
    ['xlp list --backend mock', [XLP, 'list', '--backend', 'mock'], 20],
    ['  (the same from dist/cli modules)', [XLP_MODULES, 'list', '--backend', 'mock']],
    ['xlp status NAME', [XLP, 'status', 'bench_one', '--backend', 'mock'], 20],
    ['  (the same from dist/cli modules)', [XLP_MODULES, 'status', 'bench_one', '--backend', 'mock']],
  ];
  const wall = cases.map((): number[] => []);
  const cpu = cases.map((): number[] => []);
  const load = loadavg()[0]!;
  for (let i = 0; i < 3; i++) for (const [, args] of cases) await run(args, env); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [k, [name, args]] of cases.entries()) {
      const r = await run(args, env, PERF);
      if (r.code !== 0) throw new Error(`${name.trim()} exited ${r.code}: ${r.err}`);
      wall[k]!.push(r.ms);
      if (r.cpuMs !== undefined && Number.isFinite(r.cpuMs)) cpu[k]!.push(r.cpuMs);
    }
  }
  const base = stats(wall[0]!);
  const baseCpu = cpu[0]!.length ? stats(cpu[0]!) : null;
  console.log(
    `whole-process time, ${RUNS} interleaved runs each (spawn to exit), load average ${load.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs:`,
  );
  console.log(
    `  ${'command'.padEnd(36)} ${'median'.padStart(9)} ${'p90'.padStart(9)}   vs node -e 0 (median)  ${baseCpu ? '  CPU (task-clock)   vs node' : ''}   goal`,
  );
  for (const [k, [name, , goal]] of cases.entries()) {
    const s = stats(wall[k]!);
    const over = s.median - base.median;
    const c = baseCpu && cpu[k]!.length ? stats(cpu[k]!) : null;
    const cpuCol = c && baseCpu ? `  ${ms(c.median)}  ${k === 0 ? '         ' : `+${ms(c.median - baseCpu.median)}`}` : '';
    const verdict = goal === undefined ? '' : `within ${goal} ms: ${over <= goal ? 'met' : 'NOT met'}`;
    console.log(
      `  ${name.padEnd(36)} ${ms(s.median)} ${ms(s.p90)}   ${k === 0 ? '   (baseline)        ' : `+${ms(over)} (x${(s.median / base.median).toFixed(2)})`}${cpuCol}   ${verdict}`,
    );
  }
  if (!STARTUP_ONLY) {
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
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
