/** `xlp mock ...` end to end (the compiled CLI, as users run it). */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openMockBackend } from '../../lib/mock/index.js';
import { payloadBytes, TEST_XEN } from '../support/mock-payloads.js';
import { scratchDir } from '../support/scratch.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Runs xlp without blocking this process: the test keeps a mock open here beside xlp's, and its
 * idle loop may hold the state's lock for a moment, which it can only finish while the loop runs.
 */
const xlp = (...args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/xlp.js', ...args], { cwd: ROOT, env: { ...process.env, XLP_MOCK_STATE: '' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });

/** The run's stdout, once its exit code is checked to be 0. */
function ok(r: { code: number | null; out: string; err: string }): string {
  expect(r.code, r.err).toBe(0);
  return r.out;
}

describe('xlp mock', () => {
  it('creates a state with an identity, scripts hooks, shows status and calls, reboots', async () => {
    const tmp = scratchDir('xlp-cli-');
    const dir = join(tmp, 'm');
    const nm = join(tmp, 'xensyms');
    await writeFile(nm, 'ffff82d040200000 T xen_minor_version\nffff82d040200040 T xen_extra_version\nffff82d040241a20 T printk\n');
    const init = await xlp(
      'mock',
      'init',
      '--mock-state',
      dir,
      '--build-id',
      TEST_XEN,
      '--symbols',
      nm,
      '--quiesce-ms',
      '0',
      '--loglvl',
      'all',
      '--json',
    );
    expect(init.code, init.err).toBe(0);
    expect(JSON.parse(init.out).identity).toMatchObject({
      buildId: TEST_XEN,
      quiesceMs: 0,
      loglvl: 'all',
      symbolCount: 3,
      version: { major: 4, minor: 17 },
    });
    expect((await xlp('mock', 'init', '--mock-state', dir, '--build-id', TEST_XEN)).code).toBe(1);

    const hook = await xlp('mock', 'hook', 'pp', 'prerevert', '--rc', '-1 then 0', '--mock-state', dir, '--json');
    expect(hook.code, hook.err).toBe(0);
    expect(JSON.parse(hook.out).script).toEqual({ rc: [-1, 0] });
    expect((await xlp('mock', 'hook', 'pp', 'bogus', '--rc', '1', '--mock-state', dir)).code).toBe(2);
    expect((await xlp('mock', 'hook', 'pp', 'preapply', '--rc', 'x', '--mock-state', dir)).code).toBe(2);

    const mock = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.action('pp', 'APPLY');
    await expect(mock.action('pp', 'REVERT')).rejects.toMatchObject({ code: 'EPERM' });

    const status = JSON.parse(ok(await xlp('mock', 'status', '--mock-state', dir, '--json')));
    expect(status.payloads).toMatchObject([{ name: 'pp', state: 'APPLIED', rc: -1 }]);
    expect(status.applied).toEqual(['pp']);
    expect(status.hookRules[0]).toMatchObject({ selector: { payload: 'pp', kind: 'prerevert' }, calls: 1 });
    const text = ok(await xlp('mock', 'status', '--mock-state', dir));
    expect(text).toMatch(/pp\s+APPLIED\s+rc -1 \(EPERM\)\s+stack #1/);

    const calls = JSON.parse(ok(await xlp('mock', 'calls', '--mock-state', dir, '--json'))).calls;
    expect(calls.map((c: { kind: string }) => c.kind)).toEqual(['preapply', 'postapply', 'prerevert']);
    expect(ok(await xlp('mock', 'hook', 'pp', 'prerevert', '--clear', '--mock-state', dir, '--json'))).toContain('"cleared": 1');
    expect((await xlp('mock', 'reboot', '--mock-state', dir)).code).toBe(0);
    expect(await mock.list()).toEqual([]);
  });

  it('reports a missing or foreign state directory', async () => {
    const tmp = scratchDir('xlp-cli-');
    const r = await xlp('mock', 'status', '--mock-state', join(tmp, 'none'), '--json');
    // No simulator there: no hypervisor to talk to, as a missing Xen is (exit 3).
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out).error).toMatchObject({
      code: 'EMOCKSTATE',
      kind: 'MockStateError',
      problem: 'not-initialized',
      path: join(tmp, 'none'),
    });
    // Some other program's state.json: refused, exit 1, and left alone.
    await mkdir(join(tmp, 'foreign'), { mode: 0o700 });
    await writeFile(join(tmp, 'foreign', 'state.json'), '{"hello": "world"}', { mode: 0o600 });
    const f = await xlp('mock', 'status', '--mock-state', join(tmp, 'foreign'), '--json');
    expect(f.code).toBe(1);
    expect(JSON.parse(f.out).error).toMatchObject({ code: 'EMOCKSTATE', problem: 'foreign' });
    expect(await readFile(join(tmp, 'foreign', 'state.json'), 'utf8')).toBe('{"hello": "world"}');
  });
});
