/**
 * A cross-process mutual-exclusion lock on a file, for state that several processes share (the
 * mock hypervisor's state directory, the workflows' host lock and journal).
 *
 * The lock file is created whole with `link(2)` from a temporary file, so it either does not exist
 * or names its holder completely: pid, the process's start time and the boot id (so a recycled pid
 * or a reboot is not mistaken for the holder), host name, when and why it was taken. A waiter whose
 * holder is gone breaks the lock, but only while holding a second, short-lived "breaker" lock and
 * only if the lock file still names that same dead holder: two waiters racing to break a stale lock
 * can never remove a fresh lock that a third process took in between.
 */
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PrivateFileError, readPrivateFileSync } from './private-file.js';
import { uniqueId } from './unique-id.js';

/** Who holds a lock, as written in the lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** `/proc/<pid>/stat` start time (clock ticks since boot); null where /proc is unavailable. */
  readonly startTime: string | null;
  /** `/proc/sys/kernel/random/boot_id`; null where unavailable. */
  readonly bootId: string | null;
  /** ISO time the lock was taken. */
  readonly acquiredAt: string;
  /** What the holder is doing, for the "waiting for ..." message. */
  readonly purpose: string;
  /** Distinguishes two acquisitions by the same process. */
  readonly nonce: string;
}

export interface LockOptions {
  /** How long to wait for a live holder, in ms (default 10 s; 0 tries once). */
  readonly timeoutMs?: number;
  /** Recorded in the lock file. */
  readonly purpose?: string;
  readonly signal?: AbortSignal;
  /** A lock file that cannot be parsed is considered abandoned after this long (default 5 s). */
  readonly unreadableStaleMs?: number;
}

/** The lock stayed held by a live process for the whole timeout. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  readonly code = 'ELOCKTIMEOUT';
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
    readonly waitedMs: number,
  ) {
    super(
      holder
        ? `lock ${path} is held by pid ${holder.pid} on ${holder.hostname} ` +
            `(${holder.purpose}) since ${holder.acquiredAt}; gave up after ${waitedMs} ms`
        : `lock ${path} is held; gave up after ${waitedMs} ms`,
    );
  }
}

export interface Lock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it still names this holder. Idempotent. */
  release(): Promise<void>;
}

let cachedBootId: string | null | undefined;
function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

/** The start time field of /proc/<pid>/stat, or null if unreadable. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

let selfStartTime: string | null | undefined;
function currentHolder(purpose: string): LockHolder {
  selfStartTime ??= processStartTime(process.pid);
  return {
    pid: process.pid,
    hostname: hostname(),
    startTime: selfStartTime,
    bootId: bootId(),
    acquiredAt: new Date().toISOString(),
    purpose,
    nonce: uniqueId(16),
  };
}

/** A pid that names one process: 0 or below would make `kill(pid, 0)` ask about a process group. */
const isPid = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

function parseHolder(text: string): LockHolder | null {
  let h: Partial<LockHolder> | null;
  try {
    h = JSON.parse(text) as Partial<LockHolder> | null;
  } catch {
    return null;
  }
  // A number, string or array has no pid, nonce or hostname of these types either.
  if (h === null || !isPid(h.pid) || typeof h.nonce !== 'string' || typeof h.hostname !== 'string') return null;
  return {
    pid: h.pid,
    hostname: h.hostname,
    startTime: typeof h.startTime === 'string' ? h.startTime : null,
    bootId: typeof h.bootId === 'string' ? h.bootId : null,
    acquiredAt: typeof h.acquiredAt === 'string' ? h.acquiredAt : '?',
    purpose: typeof h.purpose === 'string' ? h.purpose : '?',
    nonce: h.nonce,
  };
}

/**
 * The holder named in a lock file; null if there is no lock file or it cannot be parsed. A lock
 * file is untrusted input too: it is not followed if it is a symlink, and one that is not a
 * regular file (a directory, a FIFO) or is oversized is as unreadable as one that is not JSON.
 */
export async function readLockHolder(path: string): Promise<LockHolder | null> {
  return readLockHolderSync(path);
}

function readLockHolderSync(path: string): LockHolder | null {
  let data: Buffer | null;
  try {
    data = readPrivateFileSync(path, { maxBytes: 64 * 1024, uid: null });
  } catch (error) {
    if (error instanceof PrivateFileError) return null;
    throw error;
  }
  return data === null ? null : parseHolder(data.toString('utf8'));
}

/**
 * Whether the process named by a lock file still runs: false only when that is certain (same host
 * and the pid is gone, was recycled, or the machine rebooted since).
 */
export function isHolderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true; // another machine's process: cannot tell
  if (holder.bootId !== null && bootId() !== null && holder.bootId !== bootId()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    return true; // EPERM: it exists, owned by someone else
  }
  if (holder.startTime !== null) {
    const now = processStartTime(holder.pid);
    if (now !== null && now !== holder.startTime) return false; // pid recycled
  }
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function tryLink(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function unlinkIfNonce(path: string, nonce: string): void {
  const holder = readLockHolderSync(path);
  if (holder?.nonce === nonce) unlinkQuietly(path);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Is the lock at `path` abandoned (its holder certainly dead, or unreadable for too long)? */
function abandoned(path: string, holder: LockHolder | null, unreadableStaleMs: number): boolean {
  if (holder) return !isHolderAlive(holder);
  let s;
  try {
    s = statSync(path);
  } catch {
    return false; // vanished: not abandoned, the next attempt will just take it
  }
  return Date.now() - s.mtimeMs > unreadableStaleMs;
}

/**
 * Removes a stale lock, serialised by the breaker lock `<path>.break`. `seen` is the holder the
 * caller found dead (null: an unreadable file), and only that lock file is removed.
 */
async function breakStale(path: string, seen: LockHolder | null, me: LockHolder, unreadableStaleMs: number): Promise<boolean> {
  const breaker = `${path}.break`;
  const tmp = join(dirname(path), `.${basename(breaker)}.${me.nonce}`);
  // The one asynchronous write of this module: breaking is rare, and a test holds a breaker back here.
  await writeFile(tmp, JSON.stringify(me), { mode: 0o600 });
  try {
    if (!tryLink(tmp, breaker)) {
      // Someone else is breaking it. A breaker that died mid-way leaves its file: clear it once it is stale.
      const other = readLockHolderSync(breaker);
      if (abandoned(breaker, other, unreadableStaleMs)) {
        if (other) unlinkIfNonce(breaker, other.nonce);
        else unlinkQuietly(breaker);
        return true;
      }
      return false; // a live breaker is at work: wait like any waiter
    }
    try {
      const current = readLockHolderSync(path);
      const same = seen === null ? current === null : current?.nonce === seen.nonce;
      if (same && abandoned(path, current, unreadableStaleMs)) unlinkQuietly(path);
    } finally {
      unlinkIfNonce(breaker, me.nonce);
    }
    return true;
  } finally {
    unlinkQuietly(tmp);
  }
}

/** Takes the lock at `path`, waiting (with backoff) while a live process holds it. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Lock> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const unreadableStaleMs = options.unreadableStaleMs ?? 5_000;
  const me = currentHolder(options.purpose ?? 'unspecified');
  const tmp = join(dirname(path), `.${basename(path)}.${me.nonce}`);
  // The file operations are made here, not on Node's thread pool: a lock is a few hundred bytes on
  // a local disk, and a pool round trip per call costs more than the call (`npm run bench:workflow`).
  // Waiting for a holder never blocks: it sleeps.
  writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
  const started = Date.now();
  let delay = 1;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (tryLink(tmp, path)) break;
      const holder = readLockHolderSync(path);
      // Retry at once after breaking; while another breaker works (or is stuck), wait and time out as usual.
      if (abandoned(path, holder, unreadableStaleMs) && (await breakStale(path, holder, me, unreadableStaleMs))) continue;
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new LockTimeoutError(path, holder, waited);
      await sleep(Math.min(delay, timeoutMs - waited) * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 25);
    }
  } finally {
    unlinkQuietly(tmp);
  }
  let released = false;
  return {
    path,
    holder: me,
    async release() {
      if (released) return;
      released = true;
      unlinkIfNonce(path, me.nonce);
    },
  };
}

/** Runs `fn` holding the lock at `path`, releasing it however `fn` ends. */
export async function withLock<T>(path: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
