import { join } from 'node:path';
import { acquireLock, type Lock, LockTimeoutError } from '../../fs/lock.js';
import { abortedError, failureOf, LockedError } from '../errors.js';
import type { Workspace } from '../workspace.js';

/** Runs a mutating workflow under the host lock, refusing while a journal awaits recovery. */
export async function underHostLock<T>(
  ws: Workspace,
  timeoutMs: number,
  purpose: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const lockPath = join(ws.stateDir, 'lock');
  let lock: Lock;
  try {
    lock = await acquireLock(lockPath, { timeoutMs, purpose: `xlp ${purpose}`, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (error instanceof LockTimeoutError) {
      const h = error.holder;
      throw new LockedError(
        h
          ? `another xlp holds the host lock: pid ${h.pid}${h.hostname ? ` on ${h.hostname}` : ''} (${h.purpose}) since ${h.acquiredAt}; ` +
              `gave up after ${error.waitedMs} ms (--lock-timeout)`
          : `the host lock ${error.path} is held; gave up after ${error.waitedMs} ms (--lock-timeout)`,
        {
          holder: h ? { pid: h.pid, hostname: h.hostname, purpose: h.purpose, acquiredAt: h.acquiredAt } : null,
          lockPath,
          waitedMs: error.waitedMs,
        },
      );
    }
    if (signal?.aborted) abortedError(signal, `xlp ${purpose} (waiting for the host lock)`);
    throw error;
  }
  try {
    if (purpose !== 'recover') {
      const refusal = await ws.journalRefusal();
      if (refusal) throw refusal;
    }
    return await fn();
  } catch (error) {
    // A journal this workflow kept is one it could not close: say it ended, not that it was interrupted.
    await ws.endJournal(failureOf(error)).catch(() => undefined);
    throw error;
  } finally {
    await lock.release();
  }
}
