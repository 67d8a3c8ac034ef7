import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/fs/atomic-write.js';
import { acquireLock, isHolderAlive, LockTimeoutError, readLockHolder, withLock } from '../../lib/fs/lock.js';
import { ensurePrivateDir, PrivateDirError } from '../../lib/fs/private-dir.js';
import { scratchDir } from '../support/scratch.js';

const scratch = async () => scratchDir('xlp-fs-');

/** A pid that certainly exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
  return Number(String(r.stdout).trim());
}

describe('lock', () => {
  it('names its holder and serialises holders within one process', async () => {
    const dir = await scratch();
    const path = join(dir, 'lock');
    const order: string[] = [];
    const a = await acquireLock(path, { purpose: 'first' });
    expect((await readLockHolder(path))?.purpose).toBe('first');
    expect((await readLockHolder(path))?.pid).toBe(process.pid);
    const b = withLock(path, { purpose: 'second' }, async () => void order.push('b'));
    await new Promise((r) => setTimeout(r, 30));
    order.push('a done');
    await a.release();
    await b;
    expect(order).toEqual(['a done', 'b']);
    expect(await readLockHolder(path)).toBeNull();
    expect((await readdir(dir)).filter((f) => f !== 'lock')).toEqual([]); // no temporary files left
  });

  it('times out naming the holder', async () => {
    const dir = await scratch();
    const path = join(dir, 'lock');
    const held = await acquireLock(path, { purpose: 'holding on' });
    const err = await acquireLock(path, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).holder?.purpose).toBe('holding on');
    expect((err as LockTimeoutError).message).toMatch(new RegExp(`held by pid ${process.pid} .*holding on`));
    await held.release();
  });

  it('breaks a lock whose holder is dead, or whose pid was recycled', async () => {
    const dir = await scratch();
    const path = join(dir, 'lock');
    const me = await acquireLock(path);
    const holder = await readLockHolder(path);
    await me.release();
    await writeFile(path, JSON.stringify({ ...holder, pid: deadPid(), nonce: 'dead' }));
    expect(isHolderAlive((await readLockHolder(path))!)).toBe(false);
    const l = await acquireLock(path, { timeoutMs: 1000 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
    await writeFile(path, JSON.stringify({ ...holder, startTime: '1', nonce: 'recycled' })); // our pid, another start time
    expect(isHolderAlive((await readLockHolder(path))!)).toBe(false);
    const l2 = await acquireLock(path, { timeoutMs: 1000 });
    expect((await readLockHolder(path))?.nonce).toBe(l2.holder.nonce);
    await l2.release();
    expect(await readLockHolder(path)).toBeNull();
    // Our own pid with our own start time is alive: that lock is not broken.
    await writeFile(path, JSON.stringify({ ...holder, nonce: 'alive' }));
    await expect(acquireLock(path, { timeoutMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await readLockHolder(path))?.nonce).toBe('alive');
  });

  it('treats an unreadable lock file as abandoned only after a while', async () => {
    const dir = await scratch();
    const path = join(dir, 'lock');
    await writeFile(path, 'garbage');
    await expect(acquireLock(path, { timeoutMs: 30, unreadableStaleMs: 10_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(await readFile(path, 'utf8')).toBe('garbage'); // left alone while it may still be being written
    const l = await acquireLock(path, { timeoutMs: 1000, unreadableStaleMs: 0 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
    expect(await readLockHolder(path)).toBeNull();
  });

  it('never lets two waiters hold it at once (many contenders)', async () => {
    const dir = await scratch();
    const path = join(dir, 'lock');
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(path, { timeoutMs: 10_000 }, async () => {
          inside++;
          max = Math.max(max, inside);
          await new Promise((r) => setTimeout(r, 1));
          inside--;
        }),
      ),
    );
    expect(max).toBe(1);
  });
});

describe('atomic write and private directories', () => {
  it('replaces a file whole, mode 0600, leaving no temporary file', async () => {
    const dir = await scratch();
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['f']);
    const { statSync } = await import('node:fs');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('creates state directories 0700 and refuses symlinks and group/world-writable ones', async () => {
    const dir = await scratch();
    const { chmodSync, statSync, symlinkSync, mkdirSync } = await import('node:fs');
    const fresh = join(dir, 'a', 'b');
    expect(await ensurePrivateDir(fresh)).toBe(true);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    expect(await ensurePrivateDir(fresh)).toBe(false);
    symlinkSync(fresh, join(dir, 'link'));
    await expect(ensurePrivateDir(join(dir, 'link'))).rejects.toMatchObject({ problem: 'symlink' });
    mkdirSync(join(dir, 'open'));
    chmodSync(join(dir, 'open'), 0o777);
    await expect(ensurePrivateDir(join(dir, 'open'))).rejects.toBeInstanceOf(PrivateDirError);
  });
});
