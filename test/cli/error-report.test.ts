/**
 * The JSON error object and exit code `xlp` answers each error with (reportFor), field by field:
 * which fields appear only when known (errno, payload), which errors are worth retrying (exit 5),
 * how a private file's problem reads to a user (damaged or unsafe), and what any other thrown value
 * becomes (its errno name when it has an errno, ERROR when it has none).
 */
import { describe, expect, it } from 'vitest';
import { exitCodeFor, reportFor } from '../../lib/cli/error-report.js';
import { LockTimeoutError } from '../../lib/fs/lock.js';
import { PrivateFileError, type PrivateFileProblem } from '../../lib/fs/private-file.js';
import { XenError, XenUnavailableError } from '../../lib/xen/errors.js';

describe('reportFor', () => {
  it('a workflow failure category maps to its exit code; an unknown one is a plain failure (1)', () => {
    expect(['vetoed', 'busy', 'preflight', 'usage', 'failed', 'something-new'].map(exitCodeFor)).toEqual([4, 5, 6, 2, 1, 1]);
  });

  it('Xen unavailable: errno only when there was one; exit 3', () => {
    expect(reportFor(new XenUnavailableError('library-not-found', 'no libxenctrl'))).toEqual({
      report: { kind: 'XenUnavailableError', code: 'ENOLIB', reason: 'library-not-found', message: 'no libxenctrl' },
      exitCode: 3,
    });
    expect(reportFor(new XenUnavailableError('not-xen', 'no privcmd', { errno: 2 }))).toEqual({
      report: { kind: 'XenUnavailableError', code: 'ENOENT', errno: 2, reason: 'not-xen', message: 'no privcmd' },
      exitCode: 3,
    });
  });

  it('a hypercall error names its call, and its payload only when there is one; EBUSY and EAGAIN are worth retrying (5)', () => {
    const busy = new XenError('apply', 16, 'p1');
    expect(reportFor(busy)).toEqual({
      report: { kind: 'XenError', code: 'EBUSY', errno: 16, message: busy.message, call: 'apply', payload: 'p1' },
      exitCode: 5,
    });
    const again = new XenError('list', 11);
    expect(reportFor(again)).toEqual({
      report: { kind: 'XenError', code: 'EAGAIN', errno: 11, message: again.message, call: 'list' },
      exitCode: 5,
    });
    expect(Object.keys(reportFor(again).report)).not.toContain('payload');
    expect(reportFor(new XenError('get', 22, 'p1')).exitCode).toBe(1);
  });

  it('a private state file is damaged when too large or unreadable, unsafe otherwise', () => {
    const problems: [PrivateFileProblem, string][] = [
      ['too-large', 'damaged'],
      ['unreadable', 'damaged'],
      ['symlink', 'unsafe'],
      ['not-a-file', 'unsafe'],
      ['foreign-owner', 'unsafe'],
      ['group-or-world-writable', 'unsafe'],
    ];
    for (const [problem, reads] of problems) {
      expect(reportFor(new PrivateFileError('/s/state.json', problem, `the ${problem} message`)), problem).toEqual({
        report: { kind: 'StateFileError', code: 'ESTATEFILE', message: `the ${problem} message`, file: '/s/state.json', problem: reads },
        exitCode: 1,
      });
    }
  });

  it('a lock timeout names the lock, how long it waited, and the holder (pid, host, purpose, since), or null', () => {
    const holder = {
      pid: 42,
      hostname: 'dom0',
      startTime: '7',
      bootId: 'b',
      acquiredAt: '2026-01-01T00:00:00.000Z',
      purpose: 'apply p1',
      nonce: 'n',
    };
    const held = new LockTimeoutError('/s/lock', holder, 1500);
    expect(reportFor(held)).toEqual({
      report: {
        kind: 'LockTimeoutError',
        code: 'ELOCKTIMEOUT',
        message: held.message,
        lock: '/s/lock',
        holder: { pid: 42, hostname: 'dom0', purpose: 'apply p1', acquiredAt: '2026-01-01T00:00:00.000Z' },
        waitedMs: 1500,
      },
      exitCode: 5,
    });
    expect(reportFor(new LockTimeoutError('/s/lock', null, 10)).report).toMatchObject({ holder: null });
  });

  it('anything else: its code, else the name of its errno, else ERROR; errno only when non-zero; a thrown non-Error by its text', () => {
    const internal = (v: unknown) => reportFor(v);
    expect(internal(Object.assign(new Error('denied'), { code: 'EACCES', errno: -13 }))).toEqual({
      report: { kind: 'InternalError', code: 'EACCES', errno: 13, message: 'denied' },
      exitCode: 1,
    });
    expect(internal(Object.assign(new Error('no code'), { errno: 28 })).report).toEqual({
      kind: 'InternalError',
      code: 'ENOSPC',
      errno: 28,
      message: 'no code',
    });
    expect(internal(Object.assign(new Error('bad argument'), { code: 'ERR_INVALID_ARG_TYPE' })).report).toEqual({
      kind: 'InternalError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'bad argument',
    });
    expect(internal(Object.assign(new Error('zero'), { errno: 0 })).report).toEqual({
      kind: 'InternalError',
      code: 'ERROR',
      message: 'zero',
    });
    expect(internal(Object.assign(new Error('odd'), { errno: '5', code: 7 })).report).toEqual({
      kind: 'InternalError',
      code: 'ERROR',
      message: 'odd',
    });
    expect(internal(new TypeError('a bug'))).toEqual({ report: { kind: 'InternalError', code: 'ERROR', message: 'a bug' }, exitCode: 1 });
    expect(internal('thrown text').report).toEqual({ kind: 'InternalError', code: 'ERROR', message: 'thrown text' });
  });
});
