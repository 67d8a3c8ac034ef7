/**
 * Two waiters racing to break the same stale lock. The race is made deterministic by holding one
 * waiter back at the start of its break (the write of its breaker file) while the other breaks the
 * lock and takes it: the late breaker must then find a live holder that is not the one it
 * examined, and leave the lock alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Breaker-file writes (`.<lock>.break.<nonce>`) wait here while `hold` is set. */
const gate: { hold: Promise<void> | null; arrived: (() => void) | null } = { hold: null, arrived: null };

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    writeFile: async (...args: Parameters<typeof real.writeFile>) => {
      const hold = gate.hold;
      if (hold && typeof args[0] === 'string' && /\.break\.[0-9a-f]+$/.test(basename(args[0]))) {
        gate.hold = null; // only the first breaker is held back
        gate.arrived?.();
        await hold;
      }
      return real.writeFile(...args);
    },
  };
});

const { acquireLock, LockTimeoutError, readLockHolder } = await import('../../lib/fs/lock.js');

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
  return Number(String(r.stdout).trim());
}

describe('breaking a stale lock', () => {
  it('a breaker that examined a dead holder never removes the live lock another waiter took meanwhile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xlp-fs-'));
    dirs.push(dir);
    const path = join(dir, 'lock');
    // A lock left by a process that died.
    const template = await acquireLock(join(dir, 'template'));
    await template.release();
    await writeFile(path, JSON.stringify({ ...template.holder, pid: deadPid(), nonce: 'dead' }));

    let release!: () => void;
    const arrived = new Promise<void>((r) => (gate.arrived = r));
    gate.hold = new Promise<void>((r) => (release = r));

    // Waiter B finds the dead holder and starts to break it: held back at its breaker file.
    const late = acquireLock(path, { timeoutMs: 300, purpose: 'late breaker' }).then(
      (lock) => ({ lock, error: null }),
      (error: unknown) => ({ lock: null, error }),
    );
    await arrived;
    // Waiter A breaks the same stale lock and takes it.
    const first = await acquireLock(path, { timeoutMs: 1000, purpose: 'first breaker' });
    expect((await readLockHolder(path))?.nonce).toBe(first.holder.nonce);

    // B resumes: the lock file no longer names the holder it examined, and its holder is alive.
    release();
    const outcome = await late;
    expect(outcome.lock, 'the late breaker must not get the lock while the first holds it').toBeNull();
    expect(outcome.error).toBeInstanceOf(LockTimeoutError);
    expect((outcome.error as InstanceType<typeof LockTimeoutError>).holder?.nonce).toBe(first.holder.nonce);
    expect((await readLockHolder(path))?.nonce).toBe(first.holder.nonce);

    await first.release();
    expect(await readLockHolder(path)).toBeNull();
  });
});
