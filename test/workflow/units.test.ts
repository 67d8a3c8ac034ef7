/** The workflow layer's pieces on their own: polling, console lines, tables, schemas (the x dump and stack order: stack.test.ts). */
import { describe, expect, it } from 'vitest';
import { CLI_SCHEMAS, validateJson } from '../../lib/cli/json-schema.js';
import { table } from '../../lib/cli/table.js';
import type { Backend } from '../../lib/backend/backend.js';
import { classify, eventsFor, isInfoEvent } from '../../lib/workflow/console-events.js';
import { readSource } from '../../lib/workflow/livepatcher.js';
import { pollInterval, waitForCompletion } from '../../lib/workflow/wait.js';
import { wfPayloads } from './support/payloads.js';

describe('waitForCompletion', () => {
  const fakeBackend = (statuses: number[]): Backend =>
    ({ get: async () => ({ state: 'CHECKED', rc: statuses.shift() ?? 0 }) }) as unknown as Backend;

  it('polls from 1 ms, at most 2 ms in the first second, then backs off', () => {
    expect([1, 2, 3, 4].map((n) => pollInterval(n, 10))).toEqual([1, 1.5, 2, 2]);
    expect(pollInterval(20, 1500)).toBe(10);
    expect(pollInterval(40, 6000)).toBe(50);
  });

  it('returns when rc leaves -EAGAIN, at its deadline, or when aborted', async () => {
    let t = 0;
    const sleeps: number[] = [];
    const opts = { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)) };
    expect(await waitForCompletion(fakeBackend([-11, -11, -11, 0]), 'p', { timeoutMs: 1000, ...opts })).toMatchObject({
      kind: 'completed',
      polls: 4,
      status: { rc: 0 },
    });
    expect(sleeps).toEqual([1, 1.5, 2]);
    t = 0;
    expect(await waitForCompletion(fakeBackend(Array(100).fill(-11)), 'p', { timeoutMs: 20, ...opts })).toMatchObject({ kind: 'deadline' });
    expect(t).toBe(20);
    const ac = new AbortController();
    const pending: number[] = [];
    const r = await waitForCompletion(fakeBackend(Array(100).fill(-11)), 'p', {
      timeoutMs: 1000,
      signal: ac.signal,
      onPending: (e) => {
        pending.push(e);
        if (pending.length === 3) ac.abort();
      },
      ...opts,
    });
    expect(r).toMatchObject({ kind: 'aborted', polls: 3 });
  });
});

describe('console lines', () => {
  it('classifies Xen 4.17 livepatch lines for names with spaces, colons and unicode', () => {
    const n = 'fix: one ✓';
    expect(classify(`${n}: Calling pre-apply hook function`, n)).toEqual({ kind: 'hook-call', payload: n, hook: 'preapply' });
    expect(classify(`${n}: Calling post-revert hook function with rc=-22`, n)).toEqual({
      kind: 'hook-call',
      payload: n,
      hook: 'postrevert',
      rc: -22,
    });
    expect(classify(`${n}: pre-revert hook failed (rc=-1), aborting!`, n)).toEqual({
      kind: 'hook-veto',
      payload: n,
      hook: 'prerevert',
      rc: -1,
    });
    expect(classify(`${n}: can't unload. Top is other: two`, n)).toEqual({ kind: 'not-top', payload: n, top: 'other: two' });
    expect(classify(`${n}: check against hypervisor build-id failed`, n)).toEqual({
      kind: 'dependency-failed',
      payload: n,
      against: 'hypervisor',
    });
    expect(classify(`${n} finished APPLY with rc=0`, n)).toEqual({ kind: 'finished', payload: n, action: 'APPLY', rc: 0 });
    const verifying = classify(`${n}: Verifying enabled expectations for all functions`, n)!;
    expect(verifying).toEqual({ kind: 'info', payload: n, text: 'Verifying enabled expectations for all functions' });
    expect(isInfoEvent(verifying)).toBe(true);
    expect(isInfoEvent(classify(`${n}: Timed out on semaphore in CPU quiesce phase 0/1`, n)!)).toBe(false);
    // A line about another payload whose name starts the same is not this payload's.
    expect(classify('fix: one ✓✓: Calling pre-apply hook function', n)).toBeNull();
    // rc is a C int: a longer number (a mangled line; found by npm run fuzz) is no hook veto or finished line.
    expect(classify(`${n}: pre-apply hook failed (rc=-21474836482147483648), aborting!`, n)).toMatchObject({ kind: 'other' });
    expect(classify(`${n} finished APPLY with rc=2147483648`, n)).toBeNull();
    expect(classify(`${n}: Calling post-apply hook function with rc=99999999999999999999`, n)).toMatchObject({ kind: 'other' });
    expect(classify(`${n}: pre-apply hook failed (rc=-2147483648), aborting!`, n)).toMatchObject({ kind: 'hook-veto', rc: -2147483648 });
    expect(eventsFor('(XEN) livepatch: a: Reverting\n(XEN) other line\n(XEN) livepatch: b: Reverting\n', 'b').map((e) => e.line)).toEqual([
      '(XEN) livepatch: b: Reverting',
    ]);
  });
});

describe('readSource', () => {
  it('derives the name as the C tool does and refuses oversized bytes', async () => {
    const P = await wfPayloads();
    expect((await readSource(P.path('base'))).name).toBe('wf_base');
    await expect(readSource(new Uint8Array(2 * 1024 * 1024 + 1), 'big')).rejects.toMatchObject({ name: 'PreflightError' });
    await expect(readSource(new Uint8Array(4))).rejects.toThrow(TypeError);
  });
});

describe('tables and schemas', () => {
  it('aligns columns by code points and styles cells without breaking the alignment', () => {
    const t = table(
      ['A', 'B', 'C'],
      [
        ['ünï', 'x', 'last'],
        ['a', 'longer', ''],
      ],
      { 1: (c) => `<${c}>` },
    );
    expect(t.split('\n')).toEqual(['A    B       C', 'ünï  <x>       last', 'a    <longer>']);
  });

  it('the validator rejects what does not fit', () => {
    expect(validateJson(CLI_SCHEMAS.status, { name: 'x', state: 'APPLIED', rc: 0 })).toEqual([]);
    expect(validateJson(CLI_SCHEMAS.status, { name: 'x', state: 'LOADED', rc: 1, extra: true })).toEqual([
      '$.state: "LOADED" is not one of ["CHECKED","APPLIED"]',
      '$.rc: 1 > 0',
      '$: unexpected property extra',
    ]);
    expect(validateJson(CLI_SCHEMAS.error, { error: { code: 'X', message: 'm' } })).toEqual([
      '$.error: matches 0 of the oneOf alternatives',
      '$.error: missing kind',
      '$.error: missing exitCode',
    ]);
    // Each kind's documented fields are required: a LockedError without `lock` and `waitedMs` does not fit.
    const locked = { code: 'LOCKED', message: 'm', kind: 'LockedError', exitCode: 5, console: [], details: [], holder: null };
    expect(validateJson(CLI_SCHEMAS.error, { error: { ...locked, lock: '/s/lock', waitedMs: 10 } })).toEqual([]);
    expect(validateJson(CLI_SCHEMAS.error, { error: locked })).toContain('$.error: missing lock');
    expect(validateJson(CLI_SCHEMAS.error, { error: { code: 'EBUSY', errno: 16, message: 'm', kind: 'XenError', exitCode: 5 } })).toContain(
      '$.error: missing call',
    );
    expect(validateJson(CLI_SCHEMAS.error, { error: { ...locked, lock: '/s/lock', waitedMs: 10, exitCode: 1 } })).toContain(
      '$.error.exitCode: 1 is not one of [5]',
    );
  });
});
