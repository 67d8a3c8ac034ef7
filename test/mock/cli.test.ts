/** `xlp mock ...` end to end (the compiled CLI, as users run it). */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openMockBackend } from '../../lib/mock/index.js';
import { payloadBytes, TEST_XEN } from '../support/mock-payloads.js';
import { scratchDir } from '../support/scratch.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const xlp = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/xlp.js', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, XLP_MOCK_STATE: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

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
    const init = xlp(
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
    expect(xlp('mock', 'init', '--mock-state', dir, '--build-id', TEST_XEN).code).toBe(1);

    const hook = xlp('mock', 'hook', 'pp', 'prerevert', '--rc', '-1 then 0', '--mock-state', dir, '--json');
    expect(hook.code, hook.err).toBe(0);
    expect(JSON.parse(hook.out).script).toEqual({ rc: [-1, 0] });
    expect(xlp('mock', 'hook', 'pp', 'bogus', '--rc', '1', '--mock-state', dir).code).toBe(2);
    expect(xlp('mock', 'hook', 'pp', 'preapply', '--rc', 'x', '--mock-state', dir).code).toBe(2);

    const mock = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.action('pp', 'APPLY');
    await expect(mock.action('pp', 'REVERT')).rejects.toMatchObject({ code: 'EPERM' });

    const status = JSON.parse(ok(xlp('mock', 'status', '--mock-state', dir, '--json')));
    expect(status.payloads).toMatchObject([{ name: 'pp', state: 'APPLIED', rc: -1 }]);
    expect(status.applied).toEqual(['pp']);
    expect(status.hookRules[0]).toMatchObject({ selector: { payload: 'pp', kind: 'prerevert' }, calls: 1 });
    const text = ok(xlp('mock', 'status', '--mock-state', dir));
    expect(text).toMatch(/pp\s+APPLIED\s+rc -1 \(EPERM\)\s+stack #1/);

    const calls = JSON.parse(ok(xlp('mock', 'calls', '--mock-state', dir, '--json'))).calls;
    expect(calls.map((c: { kind: string }) => c.kind)).toEqual(['preapply', 'postapply', 'prerevert']);
    expect(ok(xlp('mock', 'hook', 'pp', 'prerevert', '--clear', '--mock-state', dir, '--json'))).toContain('"cleared": 1');
    expect(xlp('mock', 'reboot', '--mock-state', dir).code).toBe(0);
    expect(await mock.list()).toEqual([]);
  });

  it('reports a missing or foreign state directory', async () => {
    const tmp = scratchDir('xlp-cli-');
    const r = xlp('mock', 'status', '--mock-state', join(tmp, 'none'), '--json');
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
    const f = xlp('mock', 'status', '--mock-state', join(tmp, 'foreign'), '--json');
    expect(f.code).toBe(1);
    expect(JSON.parse(f.out).error).toMatchObject({ code: 'EMOCKSTATE', problem: 'foreign' });
    expect(await readFile(join(tmp, 'foreign', 'state.json'), 'utf8')).toBe('{"hello": "world"}');
  });
});
