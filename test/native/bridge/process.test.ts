/**
 * Opening from a fresh process, as the CLI does: what the caller gets, and that nothing else
 * reaches stderr (libxenctrl prints there unless it is handed a logger).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { FakeScript, fakeLibrary, scratchDir, writeScript } from '../support/fake-xenctrl.js';
import { distNativeEntry, RELEASE_ADDON } from '../support/paths.js';

const CHILD = `
const { openNative } = await import(process.argv[1]);
try {
  const backend = await openNative();
  console.log(JSON.stringify({ opened: backend.info }));
  await backend.close();
} catch (e) {
  console.log(JSON.stringify({ name: e.name, reason: e.reason, code: e.code, errno: e.errno, tried: e.tried, message: e.message }));
}
`;

interface Outcome {
  readonly result: Record<string, unknown>;
  readonly stderr: string;
}

function openInChild(env: Record<string, string | undefined>): Outcome {
  const childEnv = { ...process.env };
  delete childEnv.XEN_LIVEPATCH_LIBXENCTRL;
  delete childEnv.XLP_FAKE_XENCTRL_SCRIPT;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, distNativeEntry()], {
    env: { ...childEnv, ...env },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return { result: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

const SYSTEM_LIBXENCTRL = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'].some(
  (dir) => existsSync(dir) && readdirSync(dir).some((f) => /^libxenctrl\.so(\.4\.\d+)?$/.test(f)),
);
const IN_DOM0 = existsSync('/dev/xen/privcmd');

describe('opening from a new process', () => {
  it(`with the system's libxenctrl (${SYSTEM_LIBXENCTRL ? 'installed' : 'absent'}), says why Xen is unavailable and prints nothing`, () => {
    const { result, stderr } = openInChild({});
    expect(stderr).toBe('');
    if (!SYSTEM_LIBXENCTRL) {
      expect(result).toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', code: 'ENOLIB' });
      expect(result.tried).toEqual(expect.arrayContaining(['libxenctrl.so', 'libxenctrl.so.4.17', 'libxenctrl.so.4.14']));
    } else if (!IN_DOM0) {
      expect(result).toMatchObject({ name: 'XenUnavailableError', reason: 'not-xen', code: 'ENOENT', errno: ERRNO.ENOENT });
      expect(result.message).toMatch(/^Xen is not available: \/dev\/xen\/privcmd is missing/);
      expect(result.message).toContain('libxenctrl');
    } else {
      // A real dom0: root opens it, anyone else is told why not.
      if (result.opened) expect(result.opened).toMatchObject({ generation: expect.any(String) as string });
      else expect(result).toMatchObject({ reason: 'permission-denied' });
    }
  });

  it('reports a bogus XEN_LIVEPATCH_LIBXENCTRL as library-not-found, listing the path', () => {
    const bogus = join(scratchDir(), 'libxenctrl.so.4.17');
    const { result, stderr } = openInChild({ XEN_LIVEPATCH_LIBXENCTRL: bogus });
    expect(stderr).toBe('');
    expect(result).toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', code: 'ENOLIB', tried: [bogus] });
    expect(result.message).toContain(bogus);
    expect(result.message).toContain('No such file or directory');
  });

  it('keeps libxenctrl\'s own complaint off stderr (the fake prints it there without our logger)', () => {
    const script = writeScript(new FakeScript().openFail(ERRNO.EACCES));
    const { result, stderr } = openInChild({ XEN_LIVEPATCH_LIBXENCTRL: fakeLibrary(17), XLP_FAKE_XENCTRL_SCRIPT: script });
    expect(stderr).toBe('');
    expect(result).toMatchObject({ reason: 'permission-denied', code: 'EACCES', errno: ERRNO.EACCES });
    expect(result.message).toContain('cannot open the privileged command interface');
  });

  it('reports an addon that cannot be loaded as library-not-found, saying which', () => {
    const missing = join(scratchDir(), 'xen_livepatch.node');
    const { result, stderr } = openInChild({ XEN_LIVEPATCH_ADDON: missing });
    expect(stderr).toBe('');
    expect(result).toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', code: 'ENOLIB' });
    expect(result.message).toMatch(/^the xen-livepatch native addon could not be loaded: /);
    expect(result.message).toContain(missing);
  });

  it('opens the fake through the environment alone', () => {
    const script = writeScript(new FakeScript().version(4, 20));
    const { result, stderr } = openInChild({ XEN_LIVEPATCH_LIBXENCTRL: fakeLibrary(20), XLP_FAKE_XENCTRL_SCRIPT: script });
    expect(stderr).toBe('');
    expect(result.opened).toMatchObject({ libraryPath: fakeLibrary(20), generation: '4.19-4.20', xen: { major: 4, minor: 20 } });
  });

  it('takes the binding injected by openNative({ addon }) (a path or a loaded object) over the environment', () => {
    const script = writeScript(new FakeScript().version(4, 20));
    const child = `
      const { createRequire } = await import('node:module');
      const { openNative } = await import(process.argv[1]);
      const [library, addonPath] = process.argv.slice(2);
      const out = {};
      const tryOpen = async (what, options) => {
        try { const b = await openNative({ library, ...options }); out[what] = { addonPath: b.info.addonPath, xen: b.info.xen.minor }; await b.close(); }
        catch (e) { out[what] = { name: e.name, reason: e.reason, message: e.message }; }
      };
      await tryOpen('env', {});
      await tryOpen('path', { addon: addonPath });
      await tryOpen('object', { addon: createRequire(import.meta.url)(addonPath) });
      await tryOpen('notAddon', { addon: {} });
      console.log(JSON.stringify(out));
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, XEN_LIVEPATCH_ADDON: '/nonexistent/xen_livepatch.node', XLP_FAKE_XENCTRL_SCRIPT: script };
    delete env.XEN_LIVEPATCH_LIBXENCTRL;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, distNativeEntry(), fakeLibrary(20), RELEASE_ADDON], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    // The environment alone names a missing addon; either injection is used instead of it.
    expect(out.env).toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', message: expect.stringContaining('/nonexistent/xen_livepatch.node') });
    expect(out.path).toEqual({ addonPath: RELEASE_ADDON, xen: 20 });
    expect(out.object).toMatchObject({ xen: 20 });
    expect(out.notAddon).toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', message: expect.stringContaining('is not the xen-livepatch addon') });
  });

  it('closes the interface of a handle that is garbage-collected without close()', () => {
    const trace = join(scratchDir(), 'trace.txt');
    const script = writeScript(new FakeScript().payload('p').trace(trace));
    const child = `
      const { openNative } = await import(process.argv[1]);
      const { readFileSync } = await import('node:fs');
      let backend = await openNative();
      await backend.get('p');
      backend = undefined;
      for (let i = 0; i < 10 && !readFileSync(process.argv[2], 'utf8').includes('close'); i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.log(readFileSync(process.argv[2], 'utf8').includes('close') ? 'closed' : 'open');
    `;
    const env = { ...process.env, XEN_LIVEPATCH_LIBXENCTRL: fakeLibrary(17), XLP_FAKE_XENCTRL_SCRIPT: script };
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', child, distNativeEntry(), trace], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('closed');
    expect(readFileSync(trace, 'utf8').trim().split('\n')).toEqual(['open flags=0', 'version cmd=0', `get name=${Buffer.from('p').toString('hex')}`, 'close']);
  });
});
