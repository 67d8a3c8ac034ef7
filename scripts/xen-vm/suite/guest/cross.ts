// Cross-version cases: payloads built for the other hypervisor the suite knows (4.17's on 4.20 and
// the reverse), one of them with a second fault. For each, three answers must equal what Xen's code
// at this release does (written in the plan by the host, from the source, not from preflight):
//   1. `xlp check --json` on the dom0, before the upload, with no --xen-version: the running
//      version's verdict, errno and console lines;
//   2. the mock told this hypervisor's version and build-id;
//   3. the hypervisor itself (the addon's upload, then the console ring).
import { ManualClock, MockHypervisor, XenError, type Backend } from '../../../../lib/mock/index.js';
import { errnoCode, type XenVersionInfo } from '../../../../lib/index.js';
import type { CrossCase } from '../plan.js';
import { check, plan, readStaged, runChild, sleep, stagePath, STAGE } from './common.js';
import { mockIdentity } from './parity.js';
import { predictedConsole, verdictLines } from './preflight.js';

const XLP = `${STAGE}/node_modules/.bin/xlp`;

interface Answer {
  errno: number;
  console: string[];
}

type J = Record<string, any>;

const show = (a: Answer | null) => (a ? `${a.errno ? errnoCode(a.errno) : 'accepted'} ${JSON.stringify(a.console)}` : 'none');
const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

async function upload(backend: Backend, c: CrossCase): Promise<Answer> {
  await backend.readConsole({ incremental: true });
  let errno = 0;
  try {
    await backend.upload(c.name, new Uint8Array(readStaged(c.file)));
  } catch (e) {
    if (!(e instanceof XenError)) throw e;
    errno = e.errno;
  }
  await sleep(5);
  return { errno, console: verdictLines(lines(await backend.readConsole({ incremental: true }))) };
}

export async function runCross(
  backend: Backend,
  version: XenVersionInfo,
  xensyms: Map<string, bigint>,
  only?: (id: string) => boolean,
): Promise<void> {
  for (const c of plan.cross) {
    if (only && !only(`cross ${c.id}`)) continue;
    await check(`cross ${c.id}`, async (problems) => {
      const want: Answer = c.expect;
      // 1. xlp check on the dom0: it reads the running hypervisor (version, build-id, symbols) itself.
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
      delete env.XLP_BACKEND;
      const run = await runChild(XLP, ['check', '--json', stagePath(c.file)], env);
      let doc: J | null = null;
      try {
        doc = JSON.parse(run.stdout) as J;
      } catch {
        problems.push(`xlp check printed no JSON (exit ${run.code}): ${run.stdout.slice(0, 500)} ${run.stderr.slice(0, 500)}`);
      }
      const e = doc?.payloads?.[0]?.uploadError as J | undefined;
      const predicted: Answer | null = doc ? { errno: e?.errno ?? 0, console: predictedConsole(e ? (e as never) : null) ?? [] } : null;
      if (doc) {
        if (run.code !== 1) problems.push(`xlp check exited ${run.code}, expected 1 (a payload with errors)`);
        if (doc.context?.source !== 'system')
          problems.push(`xlp check did not read the running system: context ${JSON.stringify(doc.context)}`);
        if (!String(doc.xenVersion).startsWith(`${version.major}.${version.minor}`))
          problems.push(`xlp check checked as Xen ${doc.xenVersion}, the hypervisor is ${version.major}.${version.minor}${version.extra}`);
        if (JSON.stringify(predicted) !== JSON.stringify(want))
          problems.push(`xlp check predicts ${show(predicted)}, Xen ${plan.target.id} answers ${show(want)}`);
      }

      // 2. The mock told this hypervisor's version and build-id.
      const mock = new MockHypervisor({ identity: mockIdentity(version, xensyms), clock: new ManualClock(1) });
      const mocked = await upload(mock, c);
      const mockAnswer = { errno: mocked.errno, console: mocked.console };
      if (JSON.stringify(mockAnswer) !== JSON.stringify(want))
        problems.push(
          `the mock told Xen ${version.major}.${version.minor}${version.extra} answers ${show(mockAnswer)}, Xen ${plan.target.id} answers ${show(want)}`,
        );

      // 3. The hypervisor.
      const real = await upload(backend, c);
      const realAnswer = { errno: real.errno, console: real.console.map((l) => l.replace(/\b[0-9a-f]{16}\b/g, '<addr>')) };
      if (JSON.stringify(realAnswer) !== JSON.stringify(want))
        problems.push(`the hypervisor answered ${show(realAnswer)}, the plan says Xen ${plan.target.id} answers ${show(want)}`);
      for (const p of await backend.list())
        await backend.action(p.name, 'UNLOAD').catch((err: unknown) => problems.push(`clean-up: unload ${p.name}: ${String(err)}`));
      return {
        builtFor: c.builtFor,
        expected: want,
        xlpCheck: predicted,
        xlpCheckVersion: doc?.xenVersion,
        mock: mockAnswer,
        real: realAnswer,
      };
    });
  }
}
