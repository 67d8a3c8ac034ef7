/**
 * Who may break a lock, and what a holder's release may remove: a lock is broken only when its
 * holder is certainly gone, and a release never removes a lock someone else holds.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, isHolderAlive, type LockHolder, LockTimeoutError, processStartTime, readLockHolder } from '../../lib/fs/lock.js';
import { scratchDir } from '../support/scratch.js';

const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/**
 * Checks a start time (clock ticks since boot) against what `ps` says independently: the uptime
 * now minus the process's elapsed seconds, within a few seconds.
 */
function expectStartTimeOf(pid: number, startTime: string | null): void {
  expect(startTime).toMatch(/^\d+$/);
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const elapsed = Number(execFileSync('ps', ['-o', 'etimes=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  expect(Math.abs(Number(startTime) / hz - (uptime - elapsed))).toBeLessThan(3);
}

async function ownHolder(dir: string): Promise<LockHolder> {
  const l = await acquireLock(join(dir, 'probe'));
  await l.release();
  return l.holder;
}

describe('a lock holder', () => {
  // First in this file: the boot id and this process's start time are read once and kept, so only
  // the first test to take a lock sees how they are read.
  it('records pid, host, boot, start time, purpose and when, as the waiting message and `xlp` show them', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const before = Date.now();
    const l = await acquireLock(path, { purpose: 'apply p1' });
    const h = await readLockHolder(path);
    expect(h).toEqual(l.holder);
    expect(h).toMatchObject({ pid: process.pid, hostname: hostname(), bootId: BOOT_ID, purpose: 'apply p1' });
    expect(h?.startTime).toBe(processStartTime(process.pid));
    expectStartTimeOf(process.pid, h!.startTime);
    expect(Date.parse(h!.acquiredAt)).toBeGreaterThanOrEqual(before - 1000);
    await l.release();
    expect((await acquireLock(path)).holder.purpose).toBe('unspecified');
  });

  it('start time: field 22 of /proc/<pid>/stat, even when the command name holds spaces and parentheses; null for no process', async () => {
    const dir = scratchDir('xlp-fs-');
    const odd = join(dir, 'x) y (z');
    await symlink('/usr/bin/sleep', odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).toContain('(x) y (z)');
      expectStartTimeOf(child.pid!, processStartTime(child.pid!));
    } finally {
      child.kill();
    }
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
    expect(processStartTime(Number(String(gone.stdout).trim()))).toBeNull();
  });

  it('on another host is taken for alive (its pid means nothing here), so its lock is never broken', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    const remote = { ...me, hostname: `${hostname()}-other`, pid: 999_999_999, nonce: 'remote' };
    expect(isHolderAlive(remote)).toBe(true);
    await writeFile(path, JSON.stringify(remote), { mode: 0o600 });
    const err = await acquireLock(path, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({
      name: 'LockTimeoutError',
      code: 'ELOCKTIMEOUT',
      path,
      holder: { hostname: remote.hostname, pid: remote.pid },
    });
    expect((err as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(30);
    expect((await readLockHolder(path))?.nonce).toBe('remote');
  });

  it('from an earlier boot of this host is dead even if its pid runs now, and its lock is broken', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    expect(me.bootId).toBe(BOOT_ID);
    const beforeReboot = { ...me, bootId: BOOT_ID.replace(/^./, (c) => (c === '0' ? '1' : '0')), nonce: 'old-boot' };
    expect(isHolderAlive(beforeReboot)).toBe(false);
    // Same boot, same pid, same start time: alive. Without a boot id or start time it cannot be told apart from us.
    expect(isHolderAlive({ ...me, bootId: null, startTime: null })).toBe(true);
    await writeFile(path, JSON.stringify(beforeReboot), { mode: 0o600 });
    const l = await acquireLock(path, { timeoutMs: 1000 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
  });

  it('a lock file naming no valid holder is unreadable: no pid 0 or below, no missing nonce or host', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    for (const bad of [
      { ...me, pid: 0 },
      { ...me, pid: -1 },
      { ...me, pid: 1.5 },
      { ...me, nonce: undefined },
      { ...me, hostname: 7 },
      null,
      [me],
    ]) {
      await writeFile(path, JSON.stringify(bad), { mode: 0o600 });
      expect(await readLockHolder(path)).toBeNull();
    }
    // Optional fields that are not strings are read as unknown, not trusted.
    await writeFile(path, JSON.stringify({ ...me, startTime: 5, bootId: 5, acquiredAt: 5, purpose: 5 }), { mode: 0o600 });
    expect(await readLockHolder(path)).toEqual({ ...me, startTime: null, bootId: null, acquiredAt: '?', purpose: '?' });
  });

  it('stops waiting when its signal is aborted, leaving the held lock alone', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const held = await acquireLock(path, { purpose: 'holding on' });
    const ac = new AbortController();
    const waiting = acquireLock(path, { timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('interrupted')), 20);
    await expect(waiting).rejects.toThrow('interrupted');
    expect((await readLockHolder(path))?.nonce).toBe(held.holder.nonce);
    await held.release();
  });

  it("released twice, or after another holder took over, never removes the other holder's lock", async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const first = await acquireLock(path);
    await first.release();
    const second = await acquireLock(path);
    await first.release();
    expect((await readLockHolder(path))?.nonce).toBe(second.holder.nonce);
    await second.release();
    expect(await readLockHolder(path)).toBeNull();
  });

  it('an unreadable lock file times out saying only that it is held', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    await writeFile(path, 'garbage', { mode: 0o600 });
    const err = await acquireLock(path, { timeoutMs: 20, unreadableStaleMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ELOCKTIMEOUT', holder: null });
    expect((err as Error).message).toMatch(new RegExp(`^lock ${path} is held; gave up after \\d+ ms$`));
  });

  it('a breaker that died mid-way does not keep a stale lock from being broken', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    const dead = { ...me, bootId: BOOT_ID.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    await writeFile(path, JSON.stringify({ ...dead, nonce: 'dead-holder' }), { mode: 0o600 });
    await writeFile(`${path}.break`, JSON.stringify({ ...dead, nonce: 'dead-breaker' }), { mode: 0o600 });
    const l = await acquireLock(path, { timeoutMs: 2000 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    expect(await readLockHolder(`${path}.break`)).toBeNull();
    await l.release();
  }, 10_000); // left there, the dead breaker would make every waiter loop forever

  it('a live breaker that never finishes makes waiters time out, not spin', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    const dead = { ...me, bootId: BOOT_ID.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    await writeFile(path, JSON.stringify({ ...dead, nonce: 'dead-holder' }), { mode: 0o600 });
    await writeFile(`${path}.break`, JSON.stringify({ ...me, nonce: 'live-breaker' }), { mode: 0o600 });
    const started = Date.now();
    await expect(acquireLock(path, { timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await readLockHolder(`${path}.break`))?.nonce).toBe('live-breaker');
  }, 10_000);
});
