/**
 * The lock where `/proc` cannot be read (a container without it, a hardened mount): a holder then
 * records no boot id and no start time, and is judged by its pid alone. A holder that did record
 * them (written on a host where /proc was readable) is not taken for dead because this process
 * cannot read its own.
 */
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../support/scratch.js';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    readFileSync: (...args: Parameters<typeof real.readFileSync>) => {
      if (String(args[0]).startsWith('/proc/')) throw Object.assign(new Error(`EACCES: ${String(args[0])}`), { code: 'EACCES' });
      return real.readFileSync(...args);
    },
  };
});

const { acquireLock, isHolderAlive, LockTimeoutError, processStartTime, readLockHolder } = await import('../../lib/fs/lock.js');

describe('the lock without /proc', () => {
  it('names its holder without boot id or start time, and a holder that has them is judged by its pid', async () => {
    const dir = scratchDir('xlp-fs-');
    const path = join(dir, 'lock');
    expect(processStartTime(process.pid)).toBeNull();
    const l = await acquireLock(path, { purpose: 'no proc' });
    expect(l.holder).toMatchObject({ pid: process.pid, hostname: hostname(), bootId: null, startTime: null });
    expect(await readLockHolder(path)).toEqual(l.holder);
    const recorded = { ...l.holder, bootId: 'a-boot-id-this-process-cannot-check', startTime: '12345' };
    // Its pid runs: alive, whatever boot id and start time it recorded.
    expect(isHolderAlive(recorded)).toBe(true);
    await l.release();
    // So its lock is not broken.
    await writeFile(path, JSON.stringify({ ...recorded, nonce: 'recorded' }), { mode: 0o600 });
    await expect(acquireLock(path, { timeoutMs: 30 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await readLockHolder(path))?.nonce).toBe('recorded');
  });
});
