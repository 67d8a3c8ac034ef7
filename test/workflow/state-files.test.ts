/**
 * xlp's own state files (journal, registry, in-flight record, lock) read back as untrusted input:
 * a symlink is never followed, a directory or FIFO in a file's place is no hang and no raw Node
 * error, and a file of the wrong shape is a typed error naming it.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../lib/backend/backend.js';
import { acquireLock, readLockHolder } from '../../lib/fs/lock.js';
import { JournalCorruptError } from '../../lib/workflow/journal.js';
import { StateFileError } from '../../lib/workflow/state-file.js';
import { harness, tempDir } from './support/harness.js';
import { wfPayloads, type WfPayloads } from './support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

const JOURNAL = {
  version: 1,
  workflow: 'load',
  command: 'load wf_base',
  startedAt: '2026-01-01T00:00:00.000Z',
  pid: 4242,
  target: 'wf_base',
  originalStack: [],
  phase: 'forward',
  steps: [{ action: 'UPLOAD', payload: 'wf_base', state: 'started' }],
  uploadedByWorkflow: true,
};

describe('the journal', () => {
  it('a journal.json symlink is not followed', async () => {
    const h = await harness();
    const elsewhere = join(await tempDir(), 'journal.json');
    await writeFile(elsewhere, JSON.stringify(JOURNAL), { mode: 0o600 });
    await symlink(elsewhere, join(h.stateDir, 'journal.json'));
    const e = await h.lp.pendingJournal().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JournalCorruptError);
    expect(e).toMatchObject({
      code: 'EJOURNAL',
      problem: 'unsafe',
      file: join(h.stateDir, 'journal.json'),
      message: expect.stringMatching(/symbolic link; refusing to follow it/),
    });
    // Every mutating workflow refuses with that error, before any hypercall.
    await expect(h.lp.load(P.path('base'))).rejects.toBeInstanceOf(JournalCorruptError);
    expect(h.calls.filter((c) => c.method === 'upload' || c.method === 'action')).toEqual([]);
  });

  it('a directory or a FIFO in its place is a typed error, not EISDIR and not a hang', async () => {
    const h = await harness();
    const path = join(h.stateDir, 'journal.json');
    await mkdir(path);
    await expect(h.lp.pendingJournal()).rejects.toMatchObject({
      name: 'JournalCorruptError',
      problem: 'unsafe',
      message: expect.stringMatching(/not a regular file/),
    });
    await rm(path, { recursive: true });
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    await expect(h.lp.pendingJournal()).rejects.toMatchObject({ name: 'JournalCorruptError', problem: 'unsafe' });
  });

  it('fields of the wrong type, or names no workflow writes, are refused naming the field', async () => {
    const h = await harness();
    const path = join(h.stateDir, 'journal.json');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...JOURNAL, steps: [{}] }, /the journal\.steps\[0\]\.action/],
      [{ ...JOURNAL, target: 'a\u202eb' }, /the journal\.target: expected a valid payload name/],
      [{ ...JOURNAL, pid: -1 }, /the journal\.pid/],
      [{ ...JOURNAL, originalStack: 'wf_base' }, /the journal\.originalStack: expected an array/],
    ];
    for (const [journal, message] of cases) {
      await writeFile(path, JSON.stringify(journal), { mode: 0o600 });
      await expect(h.lp.pendingJournal()).rejects.toMatchObject({
        name: 'JournalCorruptError',
        problem: 'damaged',
        file: path,
        message: expect.stringMatching(message),
      });
    }
    await writeFile(path, '{"version": 1, "steps": [', { mode: 0o600 });
    await expect(h.lp.pendingJournal()).rejects.toMatchObject({
      name: 'JournalCorruptError',
      problem: 'damaged',
      message: expect.stringMatching(/expected valid JSON/),
    });
  });
});

describe('the registry and the in-flight record', () => {
  it('a damaged registry record is a StateFileError naming it; a registry directory that is a symlink is refused', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    const dir = join(h.stateDir, 'payloads');
    const [record] = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    const text = await readFile(join(dir, record!), 'utf8');
    await writeFile(join(dir, record!), text.replace(/"safeToReapply": (true|false)/, '"safeToReapply": "yes"'), { mode: 0o600 });
    const e = await h.lp.stack().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StateFileError);
    expect(e).toMatchObject({
      code: 'ESTATEFILE',
      problem: 'damaged',
      file: join(dir, record!),
      message: expect.stringMatching(/safeToReapply: expected true or false/),
    });

    const h2 = await harness();
    const real = join(await tempDir(), 'registry');
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(h2.stateDir, 'payloads'));
    await expect(h2.lp.load(P.path('base'))).rejects.toMatchObject({
      name: 'StateFileError',
      problem: 'unsafe',
      file: join(h2.stateDir, 'payloads'),
    });
    expect(await readdir(real)).toEqual([]);
  });

  it('a damaged registry record fails the stack view only once its hypercalls have ended (none left running)', async () => {
    let running = 0;
    let runningAtFailure = -1;
    const counting = (b: Backend): Backend =>
      new Proxy(b, {
        get(t, prop, r) {
          const v = Reflect.get(t, prop, r) as unknown;
          if (typeof v !== 'function') return v;
          return async (...args: unknown[]) => {
            running++;
            try {
              // Slower than the registry read, as a real hypercall under load can be.
              await new Promise((res) => setTimeout(res, 20));
              return await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
            } finally {
              running--;
            }
          };
        },
      });
    const h = await harness({ wrap: counting });
    await h.lp.load(P.path('base'));
    const dir = join(h.stateDir, 'payloads');
    const [record] = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    await writeFile(join(dir, record!), '{"version": 1}', { mode: 0o600 });
    await h.lp.stack().catch((x: unknown) => {
      runningAtFailure = running;
      expect(x).toBeInstanceOf(StateFileError);
    });
    expect(runningAtFailure).toBe(0);
  });

  it('a damaged in-flight record stops the next action before any hypercall', async () => {
    const h = await harness();
    await h.lp.upload('wf_base', P.path('base'));
    await writeFile(join(h.stateDir, 'in-flight.json'), '{"version": 1, "payload": "wf_base", "action": "UNLOAD"}', { mode: 0o600 });
    await expect(h.lp.apply('wf_base')).rejects.toMatchObject({
      name: 'StateFileError',
      problem: 'damaged',
      message: expect.stringMatching(/in-flight action record .*action: expected one of "APPLY", "REVERT", "REPLACE"/),
    });
    expect(h.actions()).toEqual([]);
  });
});

describe('the lock file', () => {
  it('one that is a directory or not JSON names no holder (no raw EISDIR), and a pid of 0 is no holder', async () => {
    const dir = await tempDir();
    const path = join(dir, 'lock');
    await mkdir(path);
    expect(await readLockHolder(path)).toBeNull();
    await rm(path, { recursive: true });
    await writeFile(path, JSON.stringify({ pid: 0, nonce: 'n', hostname: 'h' }));
    expect(await readLockHolder(path)).toBeNull();
    // A holder that can never be alive: the lock is taken once the unreadable file is stale.
    const lock = await acquireLock(path, { timeoutMs: 2_000, unreadableStaleMs: 0 });
    expect((await readLockHolder(path))?.pid).toBe(process.pid);
    await lock.release();
  });
});
