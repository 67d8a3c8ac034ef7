/** Two `xlp` processes at once: the host lock serializes them, or the second gives up naming the holder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
    expect(e.message).toMatch(new RegExp(`^another xlp holds the host lock: pid ${first.pid} .*\\(xlp load wf_base\\).*gave up after \\d+ ms \\(--lock-timeout\\)$`));
    const text = await xlpSpawn(['unload', 'wf_base', '--lock-timeout', '0'], host.env).done;
    expect(text.code).toBe(5);
    // A workflow that is running (not interrupted) is not reported as a journal to recover.
    expect(text.err).toMatch(/^xlp: another xlp holds the host lock: pid \d+/);
    const rf = await first.done;
    expect(rf.code, rf.err).toBe(0);
  });
});
