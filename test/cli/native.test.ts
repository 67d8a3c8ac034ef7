/**
 * The core commands through the NATIVE backend: the compiled `xlp --backend native`, the real
 * addon, and the fake libxenctrl (test/native/fake-xenctrl) standing in for Xen. Each xlp process
 * opens a fresh fake hypervisor from the script, so every run starts from the seeded payloads; the
 * trace file shows which libxenctrl calls xlp made.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakeScript, fakeLibrary, hex, scratchDir, writeScript } from '../native/support/fake-xenctrl.js';
import { WF_XEN, wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, cleanEnv, expectSchema, tempDir, xlp } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

async function fakeXen(edit: (s: FakeScript) => FakeScript = (s) => s) {
  const dir = scratchDir();
  const trace = join(dir, 'trace.txt');
  const script = edit(
    new FakeScript()
      .version(4, 17)
      .extra('.7')
      .buildId(WF_XEN)
      .payload('seeded', { state: 2, metadata: 'PURPOSE=seed\0' })
      .payload('checked', { state: 1 })
      .payload('sp ace ✓', { state: 1, rc: -22 }),
  ).trace(trace);
  const stateDir = join(await tempDir(), 'state');
  const env = cleanEnv({ XEN_LIVEPATCH_LIBXENCTRL: fakeLibrary(17), XLP_FAKE_XENCTRL_SCRIPT: writeScript(script, dir) });
  return {
    // Options follow the command name, as commander wants them.
    run: (name: string, ...rest: string[]) => xlp([name, ...rest, '--backend', 'native', '--state-dir', stateDir], env),
    trace: () => readFileSync(trace, 'utf8').split('\n').filter(Boolean),
  };
}

const cmd = (f: Awaited<ReturnType<typeof fakeXen>>, name: string, ...rest: string[]) => f.run(name, ...rest);

describe('xlp --backend native (fake libxenctrl)', () => {
  it('info, list and status', async () => {
    const f = await fakeXen();
    const info = await cmd(f, 'info', '--json');
    expect(info.code, info.err).toBe(0);
    expect(expectSchema(info, 'info')).toMatchObject({
      backend: 'native',
      xen: { major: 4, minor: 17, extra: '.7', version: '4.17.7', buildId: WF_XEN },
    });
    const list = await cmd(f, 'list', '--json');
    expect(expectSchema(list, 'list')).toEqual({
      payloads: [
        { name: 'seeded', state: 'APPLIED', rc: 0, metadata: ['PURPOSE=seed'] },
        { name: 'checked', state: 'CHECKED', rc: 0, metadata: [] },
        { name: 'sp ace ✓', state: 'CHECKED', rc: -22, metadata: [] },
      ],
    });
    const text = (await cmd(f, 'list')).out.split('\n');
    expect(text[3]).toBe('sp ace ✓  CHECKED  -22 (EINVAL)');
    expect((await cmd(f, 'status', 'sp ace ✓', '--json')).json()).toEqual({ name: 'sp ace ✓', state: 'CHECKED', rc: -22 });
    const missing = await cmd(f, 'status', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(expectSchema<{ error: unknown }>(missing, 'error').error).toMatchObject({ code: 'ENOENT', kind: 'NotLoadedError' });
  });

  it('apply, nothing to do without a hypercall, revert, unload refused when applied', async () => {
    const f = await fakeXen();
    const apply = await cmd(f, 'apply', 'checked', '--json');
    expect(apply.code, apply.err).toBe(0);
    expect(expectSchema(apply, 'apply')).toMatchObject({ outcome: 'done', state: 'APPLIED', rc: 0 });
    expect(f.trace().filter((l) => l.startsWith('action'))).toEqual([`action cmd=3 name=${hex('checked')} timeout=0 flags=0`]);

    const g = await fakeXen();
    const nothing = await cmd(g, 'apply', 'seeded', '--json');
    expect(expectSchema(nothing, 'apply')).toMatchObject({ outcome: 'nothing-to-do' });
    const revert = await cmd(g, 'revert', 'seeded', '--quiesce-timeout', '50ms');
    expect(revert.code, revert.err).toBe(0);
    expect(revert.out).toMatch(/^reverted seeded/);
    const unload = await cmd(g, 'unload', 'seeded');
    expect(unload.code).toBe(1);
    expect(unload.err).toMatch(/is applied; revert it before unloading it/);
    expect(g.trace().filter((l) => l.startsWith('action'))).toEqual([`action cmd=2 name=${hex('seeded')} timeout=50000000 flags=0`]);
  });

  it('load: preflight, upload, apply with --nodeps', async () => {
    const f = await fakeXen();
    const r = await cmd(f, 'load', P.path('base'), '--nodeps', '--json');
    expect(r.code, r.err).toBe(0);
    expect(expectSchema(r, 'load')).toMatchObject({ name: 'wf_base', apply: { outcome: 'done', state: 'APPLIED' } });
    const size = (await P.bytes('base')).length;
    const calls = f.trace().filter((l) => /^(upload|action)/.test(l));
    expect(calls[0]).toMatch(new RegExp(`^upload name=${hex('wf_base')} size=${size} force=-1`)); // -1: the 4.17 prototype has no force argument
    expect(calls[1]).toBe(`action cmd=3 name=${hex('wf_base')} timeout=0 flags=1`);
    // Preflight errors: nothing reaches libxenctrl.
    const g = await fakeXen();
    expect((await cmd(g, 'load', P.path('wrong_xen'))).code).toBe(6);
    expect(g.trace().filter((l) => l.startsWith('upload'))).toEqual([]);
  });

  it('errors from libxenctrl keep their meaning: EBUSY is retryable (exit 5), others exit 1', async () => {
    const busy = await fakeXen((s) => s.fail('action', 16));
    const r = await cmd(busy, 'apply', 'checked', '--json');
    expect(r.code).toBe(5);
    expect(expectSchema<{ error: unknown }>(r, 'error').error).toMatchObject({ code: 'EBUSY', kind: 'BusyError' });
    const denied = await fakeXen((s) => s.fail('action', 13));
    const d = await cmd(denied, 'apply', 'checked', '--json');
    expect(d.code).toBe(1);
    expect(expectSchema<{ error: unknown }>(d, 'error').error).toMatchObject({ code: 'EACCES', errno: 13 });
  });
});
