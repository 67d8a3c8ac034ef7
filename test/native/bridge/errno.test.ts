import { describe, expect, it } from 'vitest';
import { ERRNO, errnoMessage, type ErrnoName } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, type FakeCall, type FakeSession, fakeSessions } from '../support/fake-xenctrl.js';

const session = fakeSessions();

const table = Object.entries(ERRNO) as [ErrnoName, number][];

async function rejection(promise: Promise<unknown>): Promise<XenError> {
  const e = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(XenError);
  return e as XenError;
}

describe('errno', () => {
  it(`surfaces each of the ${table.length} errnos Xen can return, with its code`, async () => {
    const script = new FakeScript().payload('p');
    for (const [, n] of table) script.fail('get', n);
    const s = await session(script);
    for (const [code, n] of table) {
      const e = await rejection(s.backend.get('p'));
      expect({ errno: e.errno, code: e.code, call: e.call, payload: e.payload }).toEqual({ errno: n, code, call: 'get', payload: 'p' });
      expect(e.message).toContain(`${errnoMessage(n)} (${code}, errno ${n})`);
    }
    // The queue is used up: the payload is there after all.
    expect(await s.backend.get('p')).toEqual({ state: 'CHECKED', rc: 0 });
  });

  it('gives an errno outside the table a synthetic code', async () => {
    const s = await session(new FakeScript().payload('p').fail('get', 200));
    expect(await rejection(s.backend.get('p'))).toMatchObject({ errno: 200, code: 'ERRNO_200' });
  });

  const calls: [FakeCall, string, (s: FakeSession) => Promise<unknown>, string | undefined][] = [
    ['upload', 'upload', (s) => s.backend.upload('p', Buffer.from('x')), 'p'],
    ['get', 'get', (s) => s.backend.get('p'), 'p'],
    ['list-probe', 'list', (s) => s.backend.list(), undefined],
    ['action', 'apply', (s) => s.backend.apply('p'), 'p'],
    ['action', 'revert', (s) => s.backend.revert('p'), 'p'],
    ['action', 'unload', (s) => s.backend.unload('p'), 'p'],
    ['action', 'replace', (s) => s.backend.replace('p'), 'p'],
    ['readconsole', 'readConsole', (s) => s.backend.readConsole(), undefined],
    ['debugkeys', 'sendDebugKeys', (s) => s.backend.sendDebugKeys('x'), undefined],
  ];

  it.each(calls)('names the call and payload when %s fails (%s)', async (fakeCall, call, run, payload) => {
    const s = await session(new FakeScript().fail(fakeCall, ERRNO.EBUSY));
    const e = await rejection(run(s));
    expect({ errno: e.errno, code: e.code, call: e.call, payload: e.payload }).toEqual({
      errno: ERRNO.EBUSY,
      code: 'EBUSY',
      call,
      payload,
    });
  });
});
