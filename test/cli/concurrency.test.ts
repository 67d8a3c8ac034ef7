/** Two `xlp` processes at once: the host lock serializes them, or the second gives up naming the holder. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, mockHost, xlpSpawn } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

const QUIESCE_MS = 400;

describe('two xlp processes started at once', () => {
  it('are serialized by the host lock: both succeed, one after the other', async () => {
    const host = await mockHost({ quiesceMs: QUIESCE_MS });
    const t0 = performance.now();
    const a = xlpSpawn(['load', P.path('base'), '--nodeps'], host.env);
    const b = xlpSpawn(['load', P.path('cumulative'), '--nodeps'], host.env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    // Each apply waits for the mock's idle loop; serialized, the later one ends two waits after the start.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * QUIESCE_MS);
    const s = await hvState(host);
    expect(s.applied.sort()).toEqual(['wf_base', 'wf_cumulative']);
    expect(existsSync(join(host.dir, 'workflow', 'journal.json'))).toBe(false);
    expect(existsSync(join(host.dir, 'workflow', 'lock'))).toBe(false);
  });

  it('the second gives up after --lock-timeout, naming the holder: exit 5', async () => {
    const host = await mockHost({ quiesceMs: 3_000 });
    const first = xlpSpawn(['load', P.path('base')], host.env);
    const lock = join(host.dir, 'workflow', 'lock');
    const deadline = Date.now() + 10_000;
    while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const second = xlpSpawn(['unload', 'wf_base', '--lock-timeout', '200ms', '--json'], host.env);
    const rs = await second.done;
    expect(rs.code).toBe(5);
    const e = expectSchema<{ error: Record<string, unknown> }>(rs, 'error').error;
    expect(e).toMatchObject({ code: 'LOCKED', kind: 'LockedError', exitCode: 5, holder: { pid: first.pid, purpose: 'xlp load wf_base' } });
    expect(e.message).toMatch(
      new RegExp(
        `^another xlp holds the host lock: pid ${first.pid} .*\\(xlp load wf_base\\).*gave up after \\d+ ms \\(--lock-timeout\\)$`,
      ),
    );
    const text = await xlpSpawn(['unload', 'wf_base', '--lock-timeout', '0'], host.env).done;
    expect(text.code).toBe(5);
    // A workflow that is running (not interrupted) is not reported as a journal to recover.
    expect(text.err).toMatch(/^xlp: another xlp holds the host lock: pid \d+/);
    const rf = await first.done;
    expect(rf.code, rf.err).toBe(0);
  });

  it("--lock-timeout bounds the wait for the mock's own lock too: held by another process, exit 5 within about a second", async () => {
    const host = await mockHost({});
    const mockLock = join(host.dir, 'lock');
    const fsEntry = pathToFileURL(resolve(import.meta.dirname, '../../dist/fs/index.js')).href;
    // Another process holds the simulator's lock (as a long hypercall of another xlp would) and keeps it.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { acquireLock } = await import(${JSON.stringify(fsEntry)});
         await acquireLock(${JSON.stringify(mockLock)}, { purpose: 'test: a hypercall that does not end' });
         process.stdout.write('held\\n');
         setInterval(() => {}, 60_000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((ok, fail) => {
        holder.stdout.once('data', () => ok());
        holder.once('exit', (code) => fail(new Error(`the lock holder exited (${code})`)));
      });
      const t0 = performance.now();
      const r = await xlpSpawn(['unload', 'wf_base', '--lock-timeout', '200ms', '--json'], host.env).done;
      const elapsed = performance.now() - t0;
      expect(r.code, r.err).toBe(5);
      const e = expectSchema<{ error: Record<string, unknown> }>(r, 'error').error;
      expect(e).toMatchObject({
        kind: 'LockTimeoutError',
        exitCode: 5,
        lock: mockLock,
        holder: { pid: holder.pid, purpose: 'test: a hypercall that does not end' },
      });
      expect(e.waitedMs).toBeLessThan(1_000);
      // Before --lock-timeout reached the mock, this waited the mock's default of 10 s.
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
