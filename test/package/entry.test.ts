/**
 * The package's public entry (`xen-livepatch`, dist/index.js) as a user imports it: by package
 * name, in a separate Node process, together with `xen-livepatch/mock`; and its type declarations
 * as a TypeScript user compiles against them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, WF_XEN, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, ROOT } from '../cli/support/xlp.js';

let P: WfPayloads;
let work: string;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
  mkdirSync(join(ROOT, '.cache', 'work'), { recursive: true });
  work = mkdtempSync(join(ROOT, '.cache', 'work', 'entry-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('xen-livepatch (the package entry)', () => {
  it('exports the workflows, errors, domain, native, preflight and payload APIs, usable with xen-livepatch/mock', () => {
    const script = `
      import * as xlp from 'xen-livepatch';
      import { ManualClock, MockHypervisor, XenError as MockXenError } from 'xen-livepatch/mock';
      import { readFileSync } from 'node:fs';
      const out = {};
      out.exports = Object.keys(xlp).sort();
      const clock = new ManualClock();
      const xen = new MockHypervisor({ identity: { buildId: ${JSON.stringify(WF_XEN)} }, clock });
      const lp = await xlp.Livepatcher.open({ backend: xen, stateDir: ${JSON.stringify(join(work, 'state'))} });
      lp.on('progress', (e) => { if (e.phase === 'waiting') clock.advance(5); });
      out.load = (await lp.load(${JSON.stringify(P.path('base'))})).apply.outcome;
      try { await lp.revert('nope'); } catch (e) { out.notLoaded = [e instanceof xlp.NotLoadedError, e instanceof xlp.WorkflowError, e.code, e.category]; }
      try { await xen.get('nope'); } catch (e) { out.sameXenError = e instanceof xlp.XenError && MockXenError === xlp.XenError; }
      const report = xlp.preflight(readFileSync(${JSON.stringify(P.path('guarded'))}), { context: { xenBuildId: ${JSON.stringify(WF_XEN)} } });
      out.preflight = [report.fatal, report.payload.vetoingHooks];
      out.payload = xlp.readPayload(readFileSync(${JSON.stringify(P.path('base'))})).payload?.buildId ?? null;
      out.errno = [xlp.ERRNO.EBUSY, xlp.errnoCode(-16), xlp.PAYLOAD_MAX_SIZE];
      try { await xlp.openNative({ library: '/nonexistent/libxenctrl.so' }); } catch (e) { out.native = [e instanceof xlp.XenUnavailableError, e.reason]; }
      out.plan = xlp.formatPlan(await lp.planRevert('wf_base')).split('\\n')[0];
      await lp.close();
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.exports).toEqual(
      expect.arrayContaining([
        'Livepatcher',
        'HookVetoError',
        'ReplaceRefusedError',
        'XenError',
        'XenUnavailableError',
        'openNative',
        'NativeBackend',
        'preflight',
        'readPayload',
        'ERRNO',
        'formatPlan',
      ]),
    );
    expect(out).toMatchObject({
      load: 'done',
      notLoaded: [true, true, 'ENOENT', 'failed'],
      sameXenError: true,
      preflight: [false, ['preapply', 'postapply', 'prerevert', 'postrevert']],
      payload: P.buildId('base'),
      errno: [16, 'EBUSY', 2097152],
      native: [true, 'library-not-found'],
      plan: 'plan for revert wf_base:',
    });
  });

  it('ships type declarations a TypeScript user compiles against', () => {
    writeFileSync(
      join(work, 'use.ts'),
      `import { Livepatcher, type ActionResult, HookVetoError, type Backend, openNative, preflight, type PreflightReport } from 'xen-livepatch';
       import { MockHypervisor } from 'xen-livepatch/mock';
       export async function demo(): Promise<ActionResult> {
         const backend: Backend = new MockHypervisor();
         const lp = await Livepatcher.open({ backend, stateDir: '/tmp/x' });
         const r: PreflightReport = preflight(new Uint8Array(0));
         void r; void openNative;
         try { return await lp.apply('p', { nodeps: true }); } catch (e) { if (e instanceof HookVetoError) { const n: number = e.rc; void n; } throw e; }
       }
      `,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['use.ts'],
      }),
    );
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(work, 'tsconfig.json')], { cwd: work, stdio: 'pipe' });
  });
});
