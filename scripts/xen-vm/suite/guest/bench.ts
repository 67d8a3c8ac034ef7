// npm run bench:xen, in dom0: side by side in one boot
//   - per-call latency of GET and LIST through the addon vs the C tool (`xen-livepatch list`, and a
//     GET-only run: `xen-livepatch apply` of a payload that is already applied);
//   - apply and revert from an already-running node process (the library: Livepatcher, and the bare
//     Backend + a GET poll) vs the C tool's whole `xen-livepatch apply`/`revert` (which sleeps 60 ms);
//   - the `xlp apply`/`revert` CLI's whole-command time, beside `node -e 0` (node's own start-up).
// The contenders are measured in interleaved rounds, so a slow phase of the emulator hits them alike.
// Every action uses Xen's default 30 ms quiesce timeout, as the C tool does; under TCG the CPUs now
// and then miss that rendezvous (status rc -EBUSY): such an attempt is counted and redone.
import { rmSync } from 'node:fs';
import {
  type Backend,
  type BackendActionOptions as ActionOptions,
  type BackendUploadOptions as UploadOptions,
  type ConsoleReadOptions,
  Livepatcher,
  type LivepatchAction,
  type NativeBackend,
  TimeoutError,
} from '../../../../lib/index.js';
import { check, median, nowMs, percentile, plan, readStaged, runChild, sleep, STAGE } from './common.js';

const NAME = 'bench';
const XLP = `${STAGE}/node_modules/.bin/xlp`;

export interface Series {
  what: string;
  unit: 'us' | 'ms';
  n: number;
  median: number;
  p90: number;
  min: number;
  /** Attempts redone because the CPUs missed the 30 ms rendezvous. */
  timeouts?: number;
}

class Sampler {
  readonly samples = new Map<string, number[]>();
  readonly timeouts = new Map<string, number>();
  add(what: string, ms: number): void {
    const list = this.samples.get(what) ?? [];
    list.push(ms);
    this.samples.set(what, list);
  }
  timedOut(what: string): void {
    this.timeouts.set(what, (this.timeouts.get(what) ?? 0) + 1);
  }
  /** Times `fn`; a rendezvous timeout (`fn` returns 'timeout') is counted and the attempt redone. */
  async time(what: string, fn: () => Promise<unknown>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const t0 = nowMs();
      const r = await fn();
      const ms = nowMs() - t0;
      if (r !== 'timeout') return this.add(what, ms);
      this.timedOut(what);
    }
    throw new Error(`${what}: five rendezvous timeouts in a row`);
  }
  series(what: string, unit: 'us' | 'ms'): Series {
    const xs = this.samples.get(what) ?? [];
    const f = unit === 'us' ? 1000 : 1;
    const r = (v: number) => +(v * f).toFixed(unit === 'us' ? 0 : 1);
    const t = this.timeouts.get(what);
    return {
      what,
      unit,
      n: xs.length,
      median: r(median(xs)),
      p90: r(percentile(xs, 90)),
      min: r(Math.min(...xs)),
      ...(t ? { timeouts: t } : {}),
    };
  }
}

/** The backend, counting the calls made through it and the time they took (per method). */
/**
 * Where a Livepatcher operation spends the time it is not in a backend call: inside `op(name, fn)`,
 * the time before each call (since the operation began or the previous call ended), keyed by the
 * call's place and method ("apply 3 action": before the third call, an action), and the time after
 * the last call until the operation resolves ("apply end").
 */
interface Gaps {
  op<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Median of each gap over the operations timed, in ms, in the order first seen. */
  medians(): Record<string, number>;
}

function counting(backend: NativeBackend): { backend: Backend; calls: Map<string, { n: number; ms: number }>; gaps: Gaps } {
  const calls = new Map<string, { n: number; ms: number }>();
  const gapSamples = new Map<string, number[]>();
  let current: { name: string; k: number; lastEnd: number } | null = null;
  const gap = (key: string, ms: number) => {
    const list = gapSamples.get(key) ?? [];
    list.push(ms);
    gapSamples.set(key, list);
  };
  const gaps: Gaps = {
    async op(name, fn) {
      current = { name, k: 0, lastEnd: nowMs() };
      try {
        return await fn();
      } finally {
        const c = current as { name: string; k: number; lastEnd: number } | null;
        if (c) gap(`${c.name} end`, nowMs() - c.lastEnd);
        current = null;
      }
    },
    medians: () => Object.fromEntries([...gapSamples].map(([k, v]) => [k, +median(v).toFixed(2)])),
  };
  const wrap =
    <A extends unknown[], R>(what: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t0 = nowMs();
      const c = current as { name: string; k: number; lastEnd: number } | null;
      if (c) gap(`${c.name} ${++c.k} ${what}`, t0 - c.lastEnd);
      try {
        return await fn(...a);
      } finally {
        const e = calls.get(what) ?? { n: 0, ms: 0 };
        e.n++;
        const end = nowMs();
        e.ms += end - t0;
        calls.set(what, e);
        if (c && current === c) c.lastEnd = end;
      }
    };
  return {
    calls,
    gaps,
    backend: {
      kind: backend.kind,
      xenVersion: wrap('xenVersion', () => backend.xenVersion()),
      upload: wrap('upload', (n: string, b: Uint8Array, o?: UploadOptions) => backend.upload(n, b, o)),
      get: wrap('get', (n: string) => backend.get(n)),
      list: wrap('list', () => backend.list()),
      action: wrap('action', (n: string, a: LivepatchAction, o?: ActionOptions) => backend.action(n, a, o)),
      readConsole: wrap('readConsole', (o?: ConsoleReadOptions) => backend.readConsole(o)),
      sendDebugKeys: wrap('sendDebugKeys', (k: string) => backend.sendDebugKeys(k)),
      close: () => backend.close(),
    },
  };
}

/** Waits for the pending action; 'timeout' when the CPUs missed the rendezvous (rc -EBUSY). */
async function waitDone(backend: NativeBackend, name: string): Promise<'done' | 'timeout'> {
  for (;;) {
    const s = await backend.get(name);
    if (s.rc === -11) {
      await sleep(1);
      continue;
    }
    if (s.rc === -16) return 'timeout';
    if (s.rc !== 0) throw new Error(`${name}: rc ${s.rc}`);
    return 'done';
  }
}

/** The C tool; exit 1 with "Error 16" after an action is the rendezvous timeout. */
async function tool(args: string[]): Promise<'ok' | 'timeout'> {
  const r = await runChild('xen-livepatch', args);
  if (r.code === 0) return 'ok';
  if (/Error 16/.test(r.stdout + r.stderr)) return 'timeout';
  throw new Error(`xen-livepatch ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
}

async function xlp(args: string[]): Promise<'ok' | 'timeout'> {
  const r = await runChild(XLP, [...args, '--json'], { ...process.env, NO_COLOR: '1' });
  if (r.code === 0) return 'ok';
  if (r.code === 5 && /EBUSY|TIMEOUT|timed out/i.test(r.stdout)) return 'timeout';
  throw new Error(`xlp ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
}

async function ensure(backend: NativeBackend, state: 'APPLIED' | 'CHECKED'): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const s = await backend.get(NAME);
    if (s.state === state && s.rc !== -11) return;
    await backend.action(NAME, state === 'APPLIED' ? 'APPLY' : 'REVERT');
    await waitDone(backend, NAME);
  }
  throw new Error(`cannot bring ${NAME} to ${state}`);
}

export async function runBench(
  backend: NativeBackend,
): Promise<{ series: Series[]; ratios: Record<string, number>; breakdowns: Record<string, unknown> }> {
  const breakdowns: Record<string, unknown> = {};
  const it = plan.bench.iterations;
  const s = new Sampler();
  await backend.upload(NAME, new Uint8Array(readStaged(plan.bench.payload.file)));
  const all: Series[] = [];
  const ratios: Record<string, number> = {};
  const r2 = (x: number) => +x.toFixed(2);

  await check('bench GET/LIST per call: addon vs xen-livepatch', async () => {
    for (let i = 0; i < 20; i++) await backend.get(NAME); // warm-up
    const perRound = Math.ceil(it.call / it.process);
    for (let round = 0; round < it.process; round++) {
      for (let i = 0; i < perRound; i++) await s.time('get', () => backend.get(NAME));
      for (let i = 0; i < perRound; i++) await s.time('list', () => backend.list());
      await s.time('true', () => runChild('/bin/true', []));
      await s.time('tool list', () => tool(['list']));
      await ensure(backend, 'APPLIED');
      // The C tool has no get command: `apply` of an applied payload is one GET, then "No action needed".
      await s.time('tool get', () => tool(['apply', NAME]));
      await ensure(backend, 'CHECKED');
    }
    const out = {
      get: s.series('get', 'us'),
      list: s.series('list', 'us'),
      spawnTrue: s.series('true', 'ms'),
      toolList: s.series('tool list', 'ms'),
      toolGet: s.series('tool get', 'ms'),
    };
    out.get.what = 'addon get()';
    out.list.what = 'addon list() (1 payload)';
    out.spawnTrue.what = 'spawn /bin/true (process baseline)';
    out.toolList.what = 'xen-livepatch list (whole process)';
    out.toolGet.what = 'xen-livepatch apply <applied>: one GET (whole process)';
    all.push(...Object.values(out));
    ratios['xen-livepatch list / addon list()'] = +(out.toolList.median / (out.list.median / 1000)).toFixed(1);
    ratios['xen-livepatch GET-only / addon get()'] = +(out.toolGet.median / (out.get.median / 1000)).toFixed(1);
    return out;
  });

  await check('bench apply/revert: running node process vs xen-livepatch', async (problems) => {
    const stateDir = '/tmp/xlp-bench-state';
    rmSync(stateDir, { recursive: true, force: true });
    const counted = counting(backend);
    const lp = await Livepatcher.open({ backend: counted.backend, stateDir });
    const lpAction = async (f: () => Promise<{ outcome: string }>) => {
      try {
        const r = await f();
        if (r.outcome !== 'done') problems.push(`Livepatcher: ${r.outcome}`);
        return 'ok';
      } catch (e) {
        if (e instanceof TimeoutError) return 'timeout';
        throw e;
      }
    };
    const raw = async (action: 'APPLY' | 'REVERT') => {
      await backend.action(NAME, action);
      return waitDone(backend, NAME);
    };
    for (let i = 0; i < it.action; i++) {
      await ensure(backend, 'CHECKED');
      await s.time('lp apply', () => counted.gaps.op('apply', () => lpAction(() => lp.apply(NAME))));
      await s.time('lp revert', () => counted.gaps.op('revert', () => lpAction(() => lp.revert(NAME))));
      await s.time('raw apply', () => raw('APPLY'));
      await s.time('raw revert', () => raw('REVERT'));
      await s.time('tool apply', () => tool(['apply', NAME]));
      await s.time('tool revert', () => tool(['revert', NAME]));
    }
    const out = {
      lpApply: s.series('lp apply', 'ms'),
      lpRevert: s.series('lp revert', 'ms'),
      rawApply: s.series('raw apply', 'ms'),
      rawRevert: s.series('raw revert', 'ms'),
      toolApply: s.series('tool apply', 'ms'),
      toolRevert: s.series('tool revert', 'ms'),
    };
    out.lpApply.what = 'Livepatcher.apply() in a running process';
    out.lpRevert.what = 'Livepatcher.revert() in a running process';
    out.rawApply.what = 'Backend.action(APPLY) + GET poll';
    out.rawRevert.what = 'Backend.action(REVERT) + GET poll';
    out.toolApply.what = 'xen-livepatch apply (whole process, sleeps 60 ms)';
    out.toolRevert.what = 'xen-livepatch revert (whole process, sleeps 60 ms)';
    all.push(...Object.values(out));
    // Where the library's time goes: its hypercalls (per method, per apply+revert pair) vs the rest.
    const pairs = (s.samples.get('lp apply')?.length ?? 0) + (s.timeouts.get('lp apply') ?? 0);
    const lpTotal = [...(s.samples.get('lp apply') ?? []), ...(s.samples.get('lp revert') ?? [])].reduce((a, b) => a + b, 0);
    const breakdown = Object.fromEntries(
      [...counted.calls].map(([k, v]) => [k, { perPair: +(v.n / pairs).toFixed(1), msPerPair: +(v.ms / pairs).toFixed(1) }]),
    );
    const inCalls = [...counted.calls.values()].reduce((a, v) => a + v.ms, 0);
    const libraryBreakdown = {
      pairs,
      msPerPair: +(lpTotal / pairs).toFixed(1),
      inBackendCallsMsPerPair: +(inCalls / pairs).toFixed(1),
      calls: breakdown,
      // Medians, ms: the library's own time before each backend call and after the last one.
      outsideCalls: counted.gaps.medians(),
    };
    ratios['Livepatcher.apply / xen-livepatch apply'] = r2(out.lpApply.median / out.toolApply.median);
    ratios['Livepatcher.revert / xen-livepatch revert'] = r2(out.lpRevert.median / out.toolRevert.median);
    ratios['Backend+poll apply / xen-livepatch apply'] = r2(out.rawApply.median / out.toolApply.median);
    ratios['Backend+poll revert / xen-livepatch revert'] = r2(out.rawRevert.median / out.toolRevert.median);
    if (out.lpApply.median > out.toolApply.median / 2)
      problems.push(
        `Livepatcher.apply median ${out.lpApply.median} ms is more than half of xen-livepatch apply's ${out.toolApply.median} ms`,
      );
    if (out.lpRevert.median > out.toolRevert.median / 2)
      problems.push(
        `Livepatcher.revert median ${out.lpRevert.median} ms is more than half of xen-livepatch revert's ${out.toolRevert.median} ms`,
      );
    breakdowns.library = libraryBreakdown;
    return { ...out, libraryBreakdown };
  });

  await check('bench xlp apply/revert CLI (whole command) beside node start-up', async () => {
    await ensure(backend, 'CHECKED');
    // Whether this dom0's node takes the code cache the build made (same V8, same flags).
    const probe = await runChild(process.execPath, [
      '-e',
      `process.stdout.write(String(require(${JSON.stringify(`${STAGE}/node_modules/xen-livepatch/bin/bundle.js`)}).loadBundle().cacheUsed))`,
    ]);
    breakdowns.cli = {
      codeCacheUsed: probe.stdout.trim() === 'true' ? true : probe.stdout.trim() === 'false' ? false : probe.stdout + probe.stderr,
    };
    for (let i = 0; i < it.cli; i++) {
      await s.time('node', () => runChild(process.execPath, ['-e', '0']));
      await s.time('xlp version', () => runChild(XLP, ['--version']));
      await s.time('xlp help', () => runChild(XLP, ['--help']));
      await s.time('xlp list', () => xlp(['list']));
      await s.time('xlp apply', () => xlp(['apply', NAME]));
      await s.time('xlp revert', () => xlp(['revert', NAME]));
    }
    const out = {
      node: s.series('node', 'ms'),
      version: s.series('xlp version', 'ms'),
      help: s.series('xlp help', 'ms'),
      list: s.series('xlp list', 'ms'),
      apply: s.series('xlp apply', 'ms'),
      revert: s.series('xlp revert', 'ms'),
    };
    out.node.what = 'node -e 0 (node start-up under TCG)';
    out.version.what = 'xlp --version (node start-up, the CLI not loaded)';
    out.help.what = 'xlp --help (start-up and the CLI loaded, no backend)';
    out.list.what = 'xlp list --json (start-up, the CLI, libxenctrl opened, one LIST)';
    out.apply.what = 'xlp apply --json (whole command)';
    out.revert.what = 'xlp revert --json (whole command)';
    all.push(...Object.values(out));
    const toolApply = all.find((x) => x.what.startsWith('xen-livepatch apply (whole'))?.median ?? NaN;
    const toolRevert = all.find((x) => x.what.startsWith('xen-livepatch revert (whole'))?.median ?? NaN;
    ratios['xlp apply / xen-livepatch apply'] = r2(out.apply.median / toolApply);
    ratios['xlp revert / xen-livepatch revert'] = r2(out.revert.median / toolRevert);
    ratios['node -e 0 / xlp apply'] = r2(out.node.median / out.apply.median);
    ratios['xlp --version / xlp apply'] = r2(out.version.median / out.apply.median);
    ratios['xlp list / xlp apply'] = r2(out.list.median / out.apply.median);
    return out;
  });

  await ensure(backend, 'CHECKED').catch(() => undefined);
  await backend.action(NAME, 'UNLOAD').catch(() => undefined);
  return { series: all, ratios, breakdowns };
}
