// `xlp` end to end on the real hypervisor: the installed package's bin, run as a child process the
// way an operator runs it, every command with --json. The order follows the README's demo: load, a
// hook's veto, stacking, a REPLACE refused before any hypercall, replace --sequential, the stack from
// the hypervisor's own `x` dump, revert, unload.
import type { Backend } from '../../../../lib/mock/index.js';
import { check, plan, runChild, stagePath, STAGE, type ChildResult } from './common.js';

const XLP = `${STAGE}/node_modules/.bin/xlp`;
/**
 * Xen's default quiesce timeout (30 ms) is now and then missed under TCG when the host deschedules a
 * vCPU thread; the commands that act pass a generous one so the run is not flaky (it also exercises
 * --quiesce-timeout). Nothing the hypervisor prints depends on it.
 */
const QUIESCE = ['--quiesce-timeout', '1s'];

interface XlpRun extends ChildResult {
  json: unknown;
  args: string[];
}

async function xlp(...args: string[]): Promise<XlpRun> {
  // No --backend: on a Xen dom0 the default must be the native backend.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.XLP_BACKEND;
  const r = await runChild(XLP, [...args, '--json'], env);
  let json: unknown = null;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : null;
  } catch {
    json = { unparsable: r.stdout };
  }
  return { ...r, json, args };
}

type J = Record<string, any>;

function expectExit(problems: string[], r: XlpRun, code: number): void {
  if (r.code !== code)
    problems.push(
      `xlp ${r.args.join(' ')}: exit ${r.code}, expected ${code}; stdout ${r.stdout.slice(0, 1500)} stderr ${r.stderr.slice(0, 800)}`,
    );
}

const summary = (r: XlpRun) => ({ args: r.args, code: r.code, ms: Math.round(r.ms), json: r.json, stderr: r.stderr.slice(0, 2000) });

async function states(backend: Backend): Promise<Record<string, string>> {
  return Object.fromEntries((await backend.list()).map((e) => [e.name, `${e.state}${e.rc ? ` ${e.rc}` : ''}`]));
}

export async function runCli(backend: Backend, originalExtra: string): Promise<void> {
  const p = (name: keyof typeof plan.e2e) => stagePath(plan.e2e[name].file);
  const id = (name: keyof typeof plan.e2e) => plan.e2e[name].buildId;
  const xen = plan.xen.buildId;

  await check('xlp info', async (problems) => {
    const r = await xlp('info');
    expectExit(problems, r, 0);
    const j = r.json as J;
    if (j?.backend !== 'native') problems.push(`backend ${j?.backend}, expected native (the default on a dom0)`);
    if (j?.xen?.buildId !== xen) problems.push(`build-id ${j?.xen?.buildId}, expected ${xen}`);
    if (`${j?.xen?.major}.${j?.xen?.minor}` !== plan.target.id)
      problems.push(`version ${JSON.stringify(j?.xen)}, expected Xen ${plan.target.id}`);
    return summary(r);
  });

  await check('xlp list (empty)', async (problems) => {
    const r = await xlp('list');
    expectExit(problems, r, 0);
    if (JSON.stringify((r.json as J)?.payloads) !== '[]') problems.push(`payloads ${JSON.stringify((r.json as J)?.payloads)}, expected []`);
    return summary(r);
  });

  await check('xlp load hello', async (problems) => {
    const r = await xlp('load', p('hello'), ...QUIESCE);
    expectExit(problems, r, 0);
    const s = await states(backend);
    if (s.hello !== 'APPLIED') problems.push(`hello is ${s.hello}`);
    const v = await backend.xenVersion();
    if (v.extra !== '-hello') problems.push(`xen_extra_version now returns ${JSON.stringify(v.extra)}, expected "-hello"`);
    return { ...summary(r), states: s };
  });

  await check('xlp upload veto', async (problems) => {
    const r = await xlp('upload', 'veto', p('veto'));
    expectExit(problems, r, 0);
    return summary(r);
  });

  await check('xlp apply veto (vetoed by its pre-apply hook: exit 4)', async (problems) => {
    const r = await xlp('apply', 'veto', ...QUIESCE);
    expectExit(problems, r, 4);
    const text = JSON.stringify(r.json);
    for (const want of ['livepatch: veto: pre-apply hook failed (rc=-22), aborting!', 'EINVAL', 'preapply']) {
      if (!text.includes(want)) problems.push(`the error does not carry ${JSON.stringify(want)}: ${text.slice(0, 1500)}`);
    }
    const s = await states(backend);
    if (s.veto !== 'CHECKED -22') problems.push(`veto is ${s.veto}, expected CHECKED with rc -22`);
    return { ...summary(r), states: s };
  });

  await check('xlp unload veto', async (problems) => {
    const r = await xlp('unload', 'veto');
    expectExit(problems, r, 0);
    const s = await states(backend);
    if ('veto' in s) problems.push(`veto is still loaded (${s.veto})`);
    return summary(r);
  });

  await check('xlp load guarded (on top of hello)', async (problems) => {
    const r = await xlp('load', p('guarded'), ...QUIESCE);
    expectExit(problems, r, 0);
    const s = await states(backend);
    if (s.guarded !== 'APPLIED') problems.push(`guarded is ${s.guarded}`);
    return { ...summary(r), states: s };
  });

  await check('xlp upload cumulative', async (problems) => {
    const r = await xlp('upload', 'cumulative', p('cumulative'));
    expectExit(problems, r, 0);
    return summary(r);
  });

  await check('xlp replace refused before the hypercall', async (problems) => {
    await backend.readConsole({ incremental: true });
    const r = await xlp('replace', 'cumulative');
    expectExit(problems, r, 1);
    const text = JSON.stringify(r.json);
    if (!text.includes('guarded')) problems.push(`the refusal does not name guarded: ${text.slice(0, 1500)}`);
    const consoleText = await backend.readConsole({ incremental: true });
    // Any line of an action on cumulative would mean the REPLACE reached the hypervisor (an `x`
    // dump, had xlp needed one, names it only in ` name=` lines, which this does not match).
    const actionLines = consoleText.split('\n').filter((l) => /REPLACE action is not supported|livepatch: cumulative[: ]/.test(l));
    if (actionLines.length) problems.push(`the hypervisor saw a REPLACE: ${JSON.stringify(actionLines)}`);
    const s = await states(backend);
    if (s.hello !== 'APPLIED' || s.guarded !== 'APPLIED' || s.cumulative !== 'CHECKED')
      problems.push(`states changed: ${JSON.stringify(s)}`);
    return { ...summary(r), console: consoleText };
  });

  await check('xlp stack (build-ids and order from the registry, proven by the chain)', async (problems) => {
    const r = await xlp('stack');
    expectExit(problems, r, 0);
    const j = r.json as J;
    if (j?.xenBuildId !== xen) problems.push(`xenBuildId ${j?.xenBuildId}`);
    const applied = (j?.applied ?? []) as J[];
    const got = applied.map((e) => `${e.name}:${e.buildId}:${e.dependsOn}`);
    const want = [`hello:${id('hello')}:${xen}`, `guarded:${id('guarded')}:${id('hello')}`];
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`applied ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    const loaded = ((j?.loaded ?? []) as J[]).map((e) => e.name);
    if (!loaded.includes('cumulative')) problems.push(`loaded ${JSON.stringify(loaded)} lacks cumulative`);
    return summary(r);
  });

  await check('xlp replace --sequential', async (problems) => {
    const r = await xlp('replace', 'cumulative', '--sequential', ...QUIESCE);
    expectExit(problems, r, 0);
    const s = await states(backend);
    if (s.cumulative !== 'APPLIED' || s.hello !== 'CHECKED' || s.guarded !== 'CHECKED') problems.push(`states ${JSON.stringify(s)}`);
    const v = await backend.xenVersion();
    if (v.extra !== '-cumulative') problems.push(`xen_extra_version returns ${JSON.stringify(v.extra)}`);
    return { ...summary(r), states: s };
  });

  await check('xlp status cumulative', async (problems) => {
    const r = await xlp('status', 'cumulative');
    expectExit(problems, r, 0);
    const j = r.json as J;
    if (j?.name !== 'cumulative' || j?.state !== 'APPLIED' || j?.rc !== 0) problems.push(`status ${JSON.stringify(j)}`);
    return summary(r);
  });

  await check('xlp revert cumulative', async (problems) => {
    const r = await xlp('revert', 'cumulative', ...QUIESCE);
    expectExit(problems, r, 0);
    const s = await states(backend);
    if (s.cumulative !== 'CHECKED') problems.push(`cumulative is ${s.cumulative}`);
    const v = await backend.xenVersion();
    if (v.extra !== originalExtra)
      problems.push(`xen_extra_version returns ${JSON.stringify(v.extra)}, expected the original ${JSON.stringify(originalExtra)}`);
    return { ...summary(r), states: s };
  });

  await check('xlp unload (all three)', async (problems) => {
    const runs: XlpRun[] = [];
    for (const name of ['cumulative', 'guarded', 'hello']) {
      const r = await xlp('unload', name);
      expectExit(problems, r, 0);
      runs.push(r);
    }
    const r = await xlp('list');
    expectExit(problems, r, 0);
    if (JSON.stringify((r.json as J)?.payloads) !== '[]') problems.push(`payloads left: ${JSON.stringify((r.json as J)?.payloads)}`);
    return { runs: runs.map(summary), list: summary(r) };
  });
}
