/**
 * The file lock when its files are odd or change under it: an I/O error reading the lock file, a
 * file system without hard links, a lock file of another user's process or an oversized one, a
 * holder this user may not signal, a release after the lock was taken over, and a lock or breaker
 * file that changes between the moment a waiter examines it and the moment it would remove it.
 * The lock makes its file calls in place (`node:fs`'s synchronous ones), so a change "in between"
 * is made deterministic by running it from a hook inside the call it must precede: `linkSync`
 * (taking the breaker lock) or `openSync` (reading a lock or breaker file), through a mocked
 * `node:fs`. The test's own file work goes through `node:fs/promises`, which is not mocked.
 */
import { spawnSync } from 'node:child_process';
import { chown, readdir, readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import { constants, hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../support/scratch.js';

type Real = typeof import('node:fs');

/** The real calls, for the hooks: they act synchronously, inside the call they precede. */
const real = await vi.importActual<Real>('node:fs');

const hooks: {
  /** Runs inside `linkSync(src, dst)`, before the link is made; may throw to make it fail. */
  beforeLink?: (src: string, dst: string) => void;
  /** Runs inside each `openSync` of a path, before it opens; may throw to make the open fail. */
  beforeOpen?: (path: string) => void;
  /** `fstatSync` of a descriptor opened on this path fails with this error. */
  statError?: { path: string; error: Error };
} = {};

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<Real>();
  /** The path each descriptor opened through the mock was opened on. */
  const opened = new Map<number, string>();
  return {
    ...fs,
    linkSync: (src: string, dst: string) => {
      hooks.beforeLink?.(src, dst);
      return fs.linkSync(src, dst);
    },
    openSync: (...args: Parameters<Real['openSync']>) => {
      const path = String(args[0]);
      hooks.beforeOpen?.(path);
      const fd = fs.openSync(...args);
      opened.set(fd, path);
      return fd;
    },
    fstatSync: (...args: Parameters<Real['fstatSync']>) => {
      if (hooks.statError && opened.get(args[0]) === hooks.statError.path) throw hooks.statError.error;
      return fs.fstatSync(...args);
    },
    closeSync: (fd: number) => {
      opened.delete(fd);
      return fs.closeSync(fd);
    },
  };
});

const { acquireLock, isHolderAlive, LockTimeoutError, readLockHolder } = await import('../../lib/fs/lock.js');
type LockHolder = Awaited<ReturnType<typeof acquireLock>>['holder'];

afterEach(() => {
  hooks.beforeLink = undefined;
  hooks.beforeOpen = undefined;
  hooks.statError = undefined;
  vi.restoreAllMocks();
});

const errnoError = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected fault`), { code, errno: -(constants.errno as Record<string, number>)[code]! });

const OTHER_UID = process.getuid!() === 54_321 ? 54_322 : 54_321;

/** A holder of this process, as a lock file would name it. */
async function ownHolder(dir: string): Promise<LockHolder> {
  const l = await acquireLock(join(dir, 'probe'));
  await l.release();
  return l.holder;
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
  return Number(String(r.stdout).trim());
}

describe('the lock file as odd input', () => {
  it('an I/O error reading the lock file is thrown, never taken for an unreadable (and so breakable) lock', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const held = await acquireLock(path, { purpose: 'holding' });
    hooks.statError = { path, error: errnoError('EIO') };
    await expect(readLockHolder(path)).rejects.toMatchObject({ code: 'EIO' });
    await expect(acquireLock(path, { timeoutMs: 50, unreadableStaleMs: 0 })).rejects.toMatchObject({ code: 'EIO' });
    hooks.statError = undefined;
    expect((await readLockHolder(path))?.nonce).toBe(held.holder.nonce);
    await held.release();
  });

  it('where link(2) fails (a file system without hard links), taking the lock fails at once with that error, leaving no file', async () => {
    const dir = scratchDir('xlp-fs-');
    hooks.beforeLink = () => {
      throw errnoError('EPERM');
    };
    const started = Date.now();
    await expect(acquireLock(join(dir, 'lock'), { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'EPERM' });
    expect(Date.now() - started).toBeLessThan(2500); // not a time-out in disguise
    expect(await readdir(dir)).toEqual([]);
  });

  it("a lock file of another user's process is read (the holder is named), but not one over 64 KiB", async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, nonce: 'theirs', purpose: 'their work' }), { mode: 0o600 });
    await chown(path, OTHER_UID, OTHER_UID);
    expect(await readLockHolder(path)).toMatchObject({ nonce: 'theirs', purpose: 'their work' });
    const err = await acquireLock(path, { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ holder: { nonce: 'theirs', purpose: 'their work' } });

    await writeFile(path, JSON.stringify({ ...me, nonce: 'huge', purpose: 'x'.repeat(64 * 1024) }), { mode: 0o600 });
    expect(await readLockHolder(path)).toBeNull();
    await writeFile(path, JSON.stringify({ ...me, nonce: 'big', purpose: 'x'.repeat(60 * 1024) }), { mode: 0o600 });
    expect((await readLockHolder(path))?.nonce).toBe('big');
  });

  it('a holder this user may not signal (EPERM) is alive; only ESRCH makes it dead', () => {
    const holder: LockHolder = {
      pid: 4_000_000, // above any pid_max: only the spy below answers for it
      hostname: hostname(),
      startTime: null,
      bootId: null,
      acquiredAt: new Date().toISOString(),
      purpose: 'other user',
      nonce: 'n',
    };
    const kill = vi.spyOn(process, 'kill');
    kill.mockImplementation(() => {
      throw errnoError('EPERM');
    });
    expect(isHolderAlive(holder)).toBe(true);
    kill.mockImplementation(() => {
      throw errnoError('ESRCH');
    });
    expect(isHolderAlive(holder)).toBe(false);
    expect(kill).toHaveBeenCalledWith(holder.pid, 0);
  });

  it('an unreadable lock file is abandoned only once it is older than unreadableStaleMs, not at exactly that age', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    await writeFile(path, 'garbage', { mode: 0o600 });
    const mtime = Math.floor(Date.now() / 1000) - 60; // whole seconds: mtimeMs is exact
    await utimes(path, mtime, mtime);
    const now = vi.spyOn(Date, 'now').mockReturnValue(mtime * 1000 + 5000);
    await expect(acquireLock(path, { timeoutMs: 0, unreadableStaleMs: 5000 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(await readFile(path, 'utf8')).toBe('garbage');
    now.mockReturnValue(mtime * 1000 + 5001);
    const l = await acquireLock(path, { timeoutMs: 0, unreadableStaleMs: 5000 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    now.mockRestore();
    await l.release();
  });
});

describe('waiting no time at all (timeoutMs 0)', () => {
  it('still takes a lock left by dead processes, its breaker file too: only a live holder is waited for', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-holder' }), { mode: 0o600 });
    const first = await acquireLock(path, { timeoutMs: 0 });
    expect((await readLockHolder(path))?.nonce).toBe(first.holder.nonce);
    await first.release();

    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-holder' }), { mode: 0o600 });
    await writeFile(`${path}.break`, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-breaker' }), { mode: 0o600 });
    const second = await acquireLock(path, { timeoutMs: 0 });
    expect((await readLockHolder(path))?.nonce).toBe(second.holder.nonce);
    await second.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('an unreadable lock file is abandoned after 5 s by default', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    await writeFile(path, 'garbage', { mode: 0o600 });
    const now = Date.now() / 1000;
    await utimes(path, now - 3, now - 3);
    await expect(acquireLock(path, { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(await readFile(path, 'utf8')).toBe('garbage');
    await utimes(path, now - 7, now - 7);
    const l = await acquireLock(path, { timeoutMs: 0 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
  });
});

describe('releasing', () => {
  it("after the lock was broken and taken by another, leaves the other's lock; after it vanished, is quiet", async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const mine = await acquireLock(path);
    // Taken for dead and broken; another holder's lock file replaces it.
    await writeFile(path, JSON.stringify({ ...mine.holder, nonce: 'other' }), { mode: 0o600 });
    await mine.release();
    expect((await readLockHolder(path))?.nonce).toBe('other');

    await unlink(path);
    const again = await acquireLock(path);
    await unlink(path); // removed by someone else
    await expect(again.release()).resolves.toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('breaking, when the files change under the breaker', () => {
  it('lock and breaker files are 0600 even under umask 0 (a 0666 breaker file would be unreadable to the next waiter)', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead' }), { mode: 0o600 });
    const modes: Record<string, number> = {};
    hooks.beforeLink = (src, dst) => {
      modes[dst.endsWith('.break') ? 'breaker' : 'lock'] = real.statSync(src).mode & 0o777;
    };
    const old = process.umask(0);
    try {
      const l = await acquireLock(path, { timeoutMs: 1000 });
      await l.release();
    } finally {
      process.umask(old);
    }
    expect(modes).toEqual({ breaker: 0o600, lock: 0o600 });
  });

  it('a breaker that finds the lock gone (broken and released by another) takes it', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead' }), { mode: 0o600 });
    let breaks = 0;
    hooks.beforeLink = (_src, dst) => {
      if (dst.endsWith('.break') && ++breaks === 1) real.unlinkSync(path); // another waiter broke it, used it and released it
    };
    const l = await acquireLock(path, { timeoutMs: 1000 });
    expect(breaks).toBe(1); // it did start to break the lock, and found it gone
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
    expect(await readdir(dir)).toEqual([]); // no breaker or temporary file left
  });

  it("a lock released between a waiter's try and its look at the file is taken on the next try", async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const held = await acquireLock(path, { purpose: 'about to release' });
    let reads = 0;
    hooks.beforeOpen = (p) => {
      if (p === path && ++reads === 1) real.unlinkSync(path); // released just after the waiter's link(2) failed
    };
    const links: string[] = [];
    hooks.beforeLink = (_src, dst) => void links.push(dst);
    const l = await acquireLock(path, { timeoutMs: 1000 });
    expect(reads).toBeGreaterThanOrEqual(1);
    // A vanished lock is not a stale one: no breaker lock taken (it would hold back a real breaker).
    expect(links).toEqual([path, path]);
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    expect(l.holder.nonce).not.toBe(held.holder.nonce);
    await l.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('an old unreadable lock file replaced by a fresh one before the break is left alone', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    await writeFile(path, 'old garbage', { mode: 0o600 });
    const old = Math.floor(Date.now() / 1000) - 3600;
    await utimes(path, old, old);
    hooks.beforeLink = (_src, dst) => {
      if (dst.endsWith('.break')) real.writeFileSync(path, 'fresh garbage', { mode: 0o600 }); // being written just now
    };
    const err = await acquireLock(path, { timeoutMs: 100, unreadableStaleMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(await readFile(path, 'utf8')).toBe('fresh garbage');
    expect(await readdir(dir)).toEqual(['lock']); // and no breaker or temporary file left
  });

  it('a stale breaker file replaced by a live breaker just before its removal is left alone', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const breaker = `${path}.break`;
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-holder' }), { mode: 0o600 });
    await writeFile(breaker, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-breaker' }), { mode: 0o600 });
    let opens = 0;
    hooks.beforeOpen = (p) => {
      // The waiter reads the breaker file twice: to judge it, then to check it before removing it.
      if (p === breaker && ++opens === 2) real.writeFileSync(breaker, JSON.stringify({ ...me, nonce: 'live-breaker' }), { mode: 0o600 });
    };
    const err = await acquireLock(path, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError); // the live breaker is at work: wait like any waiter
    expect((await readLockHolder(breaker))?.nonce).toBe('live-breaker');
    expect((await readLockHolder(path))?.nonce).toBe('dead-holder');
  });

  it('an unreadable breaker file left long ago is cleared, and the stale lock broken', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    const breaker = `${path}.break`;
    const me = await ownHolder(dir);
    await writeFile(path, JSON.stringify({ ...me, pid: deadPid(), nonce: 'dead-holder' }), { mode: 0o600 });
    await writeFile(breaker, 'torn', { mode: 0o600 });
    const old = Math.floor(Date.now() / 1000) - 3600;
    await utimes(breaker, old, old);
    const l = await acquireLock(path, { timeoutMs: 1000, unreadableStaleMs: 60_000 });
    expect((await readLockHolder(path))?.nonce).toBe(l.holder.nonce);
    await l.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
