/** The mock on a state directory: one simulated hypervisor for every handle and process. */
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initMockState, ManualClock, MockStateError, openMockBackend } from '../../lib/mock/index.js';
import { parityIdentity } from '../../lib/parity/index.js';
import { ERRNO } from '../../lib/xen/errno.js';
import { acquireLock, readLockHolder } from '../../lib/fs/lock.js';
import { payloadBytes, TEST_XEN, testPayloads } from '../support/mock-payloads.js';
import { scratchDir } from '../support/scratch.js';

beforeAll(async () => {
  await testPayloads();
});

async function stateDir(identity = {}) {
  const dir = join(scratchDir('xlp-mock-'), 'state');
  await initMockState(dir, parityIdentity(TEST_XEN, { quiesceMs: 0, ...identity }));
  return dir;
}
const open = (dir: string) => openMockBackend({ stateDir: dir, ifMissing: 'error' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a mock state directory', () => {
  it('is one hypervisor for every handle: payloads, stack, hooks and the log', async () => {
    const dir = await stateDir();
    const a = await open(dir);
    const b = await open(dir);
    await a.upload('pp', await payloadBytes('prepost_hooks'));
    await b.setHook({ payload: 'pp', kind: 'prerevert' }, { rc: [-1, 0] });
    await b.action('pp', 'APPLY');
    expect(await a.get('pp')).toEqual({ state: 'APPLIED', rc: 0 });
    await expect(a.action('pp', 'REVERT')).rejects.toMatchObject({ code: 'EPERM' });
    await b.action('pp', 'REVERT');
    expect(await a.get('pp')).toEqual({ state: 'CHECKED', rc: 0 });
    expect((await a.hookCalls()).map((c) => [c.kind, c.rc])).toEqual([
      ['preapply', 0],
      ['postapply', null],
      ['prerevert', -1],
      ['prerevert', 0],
      ['postrevert', null],
    ]);
    // Console indexes are per handle.
    expect(await a.readConsole({ incremental: true })).toContain('pre-revert hook failed (rc=-1)');
    expect(await a.readConsole({ incremental: true })).toBe('');
    expect(await b.readConsole({ incremental: true })).toContain('pre-revert hook failed (rc=-1)');
  });

  it('keeps the console lines of refused calls', async () => {
    const dir = await stateDir();
    const a = await open(dir);
    const b = await open(dir);
    await a.upload('hw', await payloadBytes('hello_world'));
    await a.upload('bye', await payloadBytes('bye_world'));
    await expect(a.action('bye', 'APPLY')).rejects.toMatchObject({ code: 'EINVAL' });
    await a.action('hw', 'APPLY');
    await a.action('bye', 'APPLY');
    await expect(a.action('hw', 'REVERT')).rejects.toMatchObject({ code: 'EBUSY' });
    const text = await b.readConsole();
    expect(text).toContain('(XEN) livepatch: bye: check against hypervisor build-id failed\n');
    expect(text).toContain("(XEN) livepatch: hw: can't unload. Top is bye\n");
  });

  it('completes pending work in whichever process touches it next', async () => {
    const dir = await stateDir({ quiesceMs: 40 });
    // A clock the test moves: on the wall clock, a slow machine can let the 40 ms pass before b looks.
    const clock = new ManualClock(Date.now());
    const a = await openMockBackend({ stateDir: dir, clock });
    const b = await openMockBackend({ stateDir: dir, clock });
    await a.upload('nop', await payloadBytes('nop'));
    await a.action('nop', 'APPLY');
    expect(await b.get('nop')).toEqual({ state: 'CHECKED', rc: -ERRNO.EAGAIN });
    clock.advance(60);
    expect(await b.get('nop')).toEqual({ state: 'APPLIED', rc: 0 });
    expect(await a.readConsole()).toContain('nop finished APPLY with rc=0');
  });

  it('close() waits for the idle loop its timer started, so no lock is taken after it returns', async () => {
    const dir = await stateDir({ quiesceMs: 10 });
    const m = await openMockBackend({ stateDir: dir, ifMissing: 'error', lockTimeoutMs: 5_000 });
    await m.upload('nop', await payloadBytes('nop'));
    await m.action('nop', 'APPLY'); // due in 10 ms: the handle's timer then runs the idle loop
    // Hold the state's lock, so the idle loop the timer starts waits for it.
    const held = await acquireLock(join(dir, 'lock'), { purpose: 'test' });
    await sleep(60);
    let closedAt = 0;
    const closing = m.close().then(() => void (closedAt = performance.now()));
    await sleep(50);
    const releasedAt = performance.now();
    await held.release();
    await closing;
    expect(closedAt).toBeGreaterThanOrEqual(releasedAt);
    expect(await readLockHolder(join(dir, 'lock'))).toBeNull();
    const other = await open(dir);
    expect(await other.get('nop')).toEqual({ state: 'APPLIED', rc: 0 });
    await other.close();
  });

  it('close() waits for calls still under way, so none takes the lock after it returns', async () => {
    const dir = await stateDir();
    const m = await openMockBackend({ stateDir: dir, ifMissing: 'error', lockTimeoutMs: 5_000 });
    // Hold the state's lock, so a call made now waits for it.
    const held = await acquireLock(join(dir, 'lock'), { purpose: 'test' });
    const listing = m.list();
    let closedAt = 0;
    const closing = m.close().then(() => void (closedAt = performance.now()));
    await sleep(50);
    const releasedAt = performance.now();
    await held.release();
    await closing;
    expect(closedAt).toBeGreaterThanOrEqual(releasedAt);
    await expect(listing).resolves.toEqual([]);
    expect(await readLockHolder(join(dir, 'lock'))).toBeNull();
    // A call after close() is refused at once.
    await expect(m.list()).rejects.toThrow(/closed/);
  });

  it('keeps payload bytes in the directory and drops them on unload', async () => {
    const dir = await stateDir();
    const a = await open(dir);
    await a.upload('nop', await payloadBytes('nop'));
    const [sha] = await readdir(join(dir, 'payloads'));
    expect(new Uint8Array(await readFile(join(dir, 'payloads', sha!)))).toEqual(await payloadBytes('nop'));
    await a.action('nop', 'UNLOAD');
    expect(await readdir(join(dir, 'payloads'))).toEqual([]);
  });

  it('refuses to initialise over an existing state unless forced', async () => {
    const dir = await stateDir();
    await expect(initMockState(dir, {})).rejects.toMatchObject({ problem: 'already-initialized' });
    await initMockState(dir, { buildId: 'aa' }, { force: true });
    expect((await (await open(dir)).xenVersion()).buildId).toBe('aa');
  });

  it('reports a damaged, foreign or newer state, and never resets it', async () => {
    const cases: [string, (dir: string) => Promise<void>][] = [
      ['corrupt', (d) => writeFile(join(d, 'state.json'), '{"magic": "xen-livepatch/mock-state", "schema": 1, "identity": {')],
      ['foreign', (d) => writeFile(join(d, 'state.json'), '{"hello": "world"}')],
      ['schema-version', (d) => writeFile(join(d, 'state.json'), '{"magic": "xen-livepatch/mock-state", "schema": 99}')],
      [
        'corrupt',
        (d) => writeFile(join(d, 'state.json'), '{"magic": "xen-livepatch/mock-state", "schema": 1, "identity": {}, "machine": {}}'),
      ],
    ];
    for (const [problem, damage] of cases) {
      const dir = await stateDir();
      await damage(dir);
      const before = await readFile(join(dir, 'state.json'), 'utf8');
      await expect(open(dir)).rejects.toMatchObject({ name: 'MockStateError', problem });
      expect(await readFile(join(dir, 'state.json'), 'utf8')).toBe(before);
    }
    // A payload file gone missing.
    const dir = await stateDir();
    const a = await open(dir);
    await a.upload('nop', await payloadBytes('nop'));
    await rm(join(dir, 'payloads'), { recursive: true });
    await expect(open(dir)).rejects.toMatchObject({ problem: 'corrupt', message: expect.stringMatching(/bytes of payload "nop"/) });
  });

  it('refuses an unsafe directory and a missing one when asked not to create it', async () => {
    const dir = await stateDir();
    await chmod(dir, 0o777);
    await expect(open(dir)).rejects.toMatchObject({ problem: 'unsafe' });
    const missing = join(scratchDir('xlp-mock-'), 'none');
    await expect(open(missing)).rejects.toBeInstanceOf(MockStateError);
    expect(existsSync(missing)).toBe(false);
    const created = await openMockBackend({ stateDir: missing });
    expect((await created.xenVersion()).buildId).toBe('10c81f752771eb7e8a6f58df93222a39cbbf93fb');
  });
});
