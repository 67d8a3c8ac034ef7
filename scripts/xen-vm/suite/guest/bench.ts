// npm run bench:xen, in dom0: side by side in one boot
//   - per-call latency of GET and LIST through the addon vs the C tool (`xen-livepatch list`, and a
//     GET-only run: `xen-livepatch apply` of a payload that is already applied);
//   - apply and revert from an already-running node process (the library: Livepatcher, and the bare
//     Backend + a GET poll) vs the C tool's whole `xen-livepatch apply`/`revert` (which sleeps 60 ms);
//   - the `xlp apply`/`revert` CLI's whole-command time, beside `node -e 0` (node's own start-up).
import { rmSync } from 'node:fs';
import type { NativeBackend } from '../../../../lib/native/index.js';
import { Livepatcher } from '../../../../lib/workflow/livepatcher.js';
import { check, median, nowMs, percentile, plan, readStaged, runChild, sleep, STAGE } from './common.js';

const NAME = 'bench';

export interface Series {
  what: string;
  unit: 'us' | 'ms';
  n: number;
  median: number;
  p90: number;
  min: number;
}

function series(what: string, unit: 'us' | 'ms', xs: number[]): Series {
  const f = unit === 'us' ? 1000 : 1;
  const r = (v: number) => +(v * f).toFixed(unit === 'us' ? 0 : 1);
  return { what, unit, n: xs.length, median: r(median(xs)), p90: r(percentile(xs, 90)), min: r(Math.min(...xs)) };
}

async function timeIt(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await fn(i);
    out.push(nowMs() - t0);
  }
  return out;
}

async function waitDone(backend: NativeBackend, name: string): Promise<void> {
  for (;;) {
    const s = await backend.get(name);
    if (s.rc !== -11) {
      if (s.rc !== 0) throw new Error(`${name}: rc ${s.rc}`);
      return;
    }
    await sleep(1);
  }
}

async function tool(args: string[]): Promise<number> {
  const r = await runChild('xen-livepatch', args);
  if (r.code !== 0) throw new Error(`xen-livepatch ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
  return r.ms;
}

async function xlp(args: string[]): Promise<number> {
  const r = await runChild(`${STAGE}/node_modules/.bin/xlp`, [...args, '--json'], { ...process.env, NO_COLOR: '1' });
  if (r.code !== 0) throw new Error(`xlp ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
  return r.ms;
}

export async function runBench(backend: NativeBackend): Promise<{ series: Series[]; ratios: Record<string, number> }> {
  const it = plan.bench.iterations;
  const all: Series[] = [];
  const ratios: Record<string, number> = {};
  await backend.upload(NAME, new Uint8Array(readStaged(plan.bench.payload.file)));

  await check('bench GET/LIST per call: addon vs xen-livepatch', async () => {
    await timeIt(20, () => backend.get(NAME));
    await timeIt(20, () => backend.list());
    const get = series('addon get()', 'us', await timeIt(it.call, () => backend.get(NAME)));
    const list = series('addon list() (1 payload)', 'us', await timeIt(it.call, () => backend.list()));
    const spawnTrue = series('spawn /bin/true (process baseline)', 'ms', await timeIt(it.process, async () => (await runChild('/bin/true', [])).ms));
    const toolList = series('xen-livepatch list (whole process)', 'ms', await timeIt(it.process, () => tool(['list'])));
    await backend.action(NAME, 'APPLY');
    await waitDone(backend, NAME);
    // The C tool has no get command: `apply` of an applied payload is one GET, then "No action needed".
    const toolGet = series('xen-livepatch apply <applied> (one GET, whole process)', 'ms', await timeIt(it.process, () => tool(['apply', NAME])));
    await backend.action(NAME, 'REVERT');
    await waitDone(backend, NAME);
    all.push(get, list, spawnTrue, toolList, toolGet);
    ratios['xen-livepatch list / addon list()'] = +(toolList.median / (list.median / 1000)).toFixed(1);
    ratios['xen-livepatch GET-only / addon get()'] = +(toolGet.median / (get.median / 1000)).toFixed(1);
    return { get, list, spawnTrue, toolList, toolGet };
  });

  await check('bench apply/revert: running node process vs xen-livepatch', async (problems) => {
    const stateDir = '/tmp/xlp-bench-state';
    rmSync(stateDir, { recursive: true, force: true });
    const lp = await Livepatcher.open({ backend, stateDir });
    const lpApply: number[] = [];
    const lpRevert: number[] = [];
    for (let i = 0; i < it.action; i++) {
      let t0 = nowMs();
      const a = await lp.apply(NAME);
      lpApply.push(nowMs() - t0);
      t0 = nowMs();
      const r = await lp.revert(NAME);
      lpRevert.push(nowMs() - t0);
      if (a.outcome !== 'done' || r.outcome !== 'done') problems.push(`Livepatcher: apply ${a.outcome}, revert ${r.outcome}`);
    }
    const rawApply: number[] = [];
    const rawRevert: number[] = [];
    for (let i = 0; i < it.action; i++) {
      let t0 = nowMs();
      await backend.action(NAME, 'APPLY');
      await waitDone(backend, NAME);
      rawApply.push(nowMs() - t0);
      t0 = nowMs();
      await backend.action(NAME, 'REVERT');
      await waitDone(backend, NAME);
      rawRevert.push(nowMs() - t0);
    }
    const toolApply: number[] = [];
    const toolRevert: number[] = [];
    for (let i = 0; i < it.action; i++) {
      toolApply.push(await tool(['apply', NAME]));
      toolRevert.push(await tool(['revert', NAME]));
    }
    const s = {
      lpApply: series('Livepatcher.apply() in a running process', 'ms', lpApply),
      lpRevert: series('Livepatcher.revert() in a running process', 'ms', lpRevert),
      rawApply: series('Backend.action(APPLY) + GET poll', 'ms', rawApply),
      rawRevert: series('Backend.action(REVERT) + GET poll', 'ms', rawRevert),
      toolApply: series('xen-livepatch apply (whole process, sleeps 60 ms)', 'ms', toolApply),
      toolRevert: series('xen-livepatch revert (whole process, sleeps 60 ms)', 'ms', toolRevert),
    };
    all.push(...Object.values(s));
    ratios['Livepatcher.apply / xen-livepatch apply'] = +(s.lpApply.median / s.toolApply.median).toFixed(2);
    ratios['Livepatcher.revert / xen-livepatch revert'] = +(s.lpRevert.median / s.toolRevert.median).toFixed(2);
    ratios['Backend+poll apply / xen-livepatch apply'] = +(s.rawApply.median / s.toolApply.median).toFixed(2);
    ratios['Backend+poll revert / xen-livepatch revert'] = +(s.rawRevert.median / s.toolRevert.median).toFixed(2);
    if (s.lpApply.median > s.toolApply.median / 2) problems.push(`Livepatcher.apply median ${s.lpApply.median} ms is more than half of xen-livepatch apply's ${s.toolApply.median} ms`);
    if (s.lpRevert.median > s.toolRevert.median / 2) problems.push(`Livepatcher.revert median ${s.lpRevert.median} ms is more than half of xen-livepatch revert's ${s.toolRevert.median} ms`);
    await lp.close().catch(() => undefined);
    return s;
  });

  await check('bench xlp apply/revert CLI (whole command) beside node start-up', async () => {
    const nodeStart = series('node -e 0 (node start-up under TCG)', 'ms', await timeIt(it.cli, async () => (await runChild(process.execPath, ['-e', '0'])).ms));
    const version = series('xlp --version', 'ms', await timeIt(it.cli, async () => (await runChild(`${STAGE}/node_modules/.bin/xlp`, ['--version'])).ms));
    const apply: number[] = [];
    const revert: number[] = [];
    for (let i = 0; i < it.cli; i++) {
      apply.push(await xlp(['apply', NAME]));
      revert.push(await xlp(['revert', NAME]));
    }
    const s = { nodeStart, version, apply: series('xlp apply --json (whole command)', 'ms', apply), revert: series('xlp revert --json (whole command)', 'ms', revert) };
    all.push(...Object.values(s));
    ratios['xlp apply / xen-livepatch apply'] = +(s.apply.median / (all.find((x) => x.what.startsWith('xen-livepatch apply ('))?.median ?? NaN)).toFixed(2);
    ratios['xlp apply - node -e 0 (ms)'] = +(s.apply.median - nodeStart.median).toFixed(1);
    return s;
  });

  await backend.action(NAME, 'UNLOAD').catch(() => undefined);
  return { series: all, ratios };
}
