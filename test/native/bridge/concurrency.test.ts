import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, hex, fakeSessions } from '../support/fake-xenctrl.js';

const session = fakeSessions();

function seeded(n: number): FakeScript {
  const script = new FakeScript();
  for (let i = 0; i < n; i++) script.payload(`p${i}`, { state: i % 2 ? 2 : 1, rc: -i || 0 });
  return script;
}

describe('concurrent calls on one handle', () => {
  it('run 64 calls at once, one at a time, in the order they were made', async () => {
    // The fake fails any call that overlaps another on the handle (EDEADLK); the delay widens
    // the window an overlap would need.
    const s = await session(seeded(64).delay('get', 1));
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => s.backend.get(`p${i}`)));
    expect(results).toEqual(Array.from({ length: 64 }, (_, i) => ({ state: i % 2 ? 'APPLIED' : 'CHECKED', rc: -i || 0 })));
    const gets = s.trace().filter((l) => l.startsWith('get '));
    expect(gets).toEqual(Array.from({ length: 64 }, (_, i) => `get name=${hex(`p${i}`)}`));
    expect(s.trace().some((l) => l.startsWith('overlap'))).toBe(false);
  });

  it('keep mixed calls apart, including failing ones', async () => {
    const s = await session(seeded(8).delay('get', 1).delay('list-probe', 1));
    const all = await Promise.allSettled([
      s.backend.list(),
      s.backend.get('p1'),
      s.backend.get('missing'),
      s.backend.xenVersion(),
      s.backend.apply('p0', { timeoutNs: 5 }),
      s.backend.upload('new', Buffer.from('x')),
      s.backend.readConsole({ incremental: true }),
      s.backend.sendDebugKeys('x'),
      s.backend.list(),
      s.backend.get('p0'),
    ]);
    expect(all.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect((all[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT', call: 'get', payload: 'missing' });
    expect((all[8] as PromiseFulfilledResult<{ name: string }[]>).value.map((e) => e.name)).toContain('new');
    expect((all[9] as PromiseFulfilledResult<unknown>).value).toEqual({ state: 'APPLIED', rc: 0 });
    expect(s.trace().some((l) => l.startsWith('overlap'))).toBe(false);
  });

  it('leave the libuv pool free for the rest of the process', async () => {
    // Queued 100 ms calls occupy one pool thread at a time, so a file read (another pool job)
    // finishes long before the queue drains.
    const s = await session(seeded(1).delay('get', 100));
    const order: string[] = [];
    const gets = Array.from({ length: 6 }, (_, i) => s.backend.get('p0').then(() => order.push(`get${i}`)));
    const read = readFile(fileURLToPath(import.meta.url)).then(() => order.push('read'));
    await Promise.all([...gets, read]);
    expect(order.indexOf('read')).toBe(0);
  });
});

describe('close', () => {
  it('waits for calls made before it, and refuses calls made after it with EBADF', async () => {
    const s = await session(seeded(1).delay('get', 10));
    const settled: string[] = [];
    const before = Array.from({ length: 5 }, (_, i) => s.backend.get('p0').then(() => settled.push(`get${i}`)));
    const closing = s.backend.close().then(() => settled.push('close'));
    const after = s.backend.get('p0').catch((e: unknown) => {
      settled.push('refused');
      return e;
    });
    await Promise.all([...before, closing]);
    const refused = await after;
    expect(refused).toBeInstanceOf(XenError);
    expect(refused).toMatchObject({ errno: ERRNO.EBADF, code: 'EBADF', call: 'get', payload: 'p0' });
    expect(settled).toEqual(['refused', 'get0', 'get1', 'get2', 'get3', 'get4', 'close']);
    expect(s.trace().slice(-2)).toEqual([`get name=${hex('p0')}`, 'close']);
  });

  it('refuses every call after close, and closes again quietly', async () => {
    const s = await session(seeded(1));
    await s.backend.close();
    const b = s.backend;
    const refused: [Promise<unknown>, string, string | undefined][] = [
      [b.xenVersion(), 'xenVersion', undefined],
      [b.upload('p', Buffer.from('x')), 'upload', 'p'],
      [b.get('p'), 'get', 'p'],
      [b.list(), 'list', undefined],
      [b.apply('p'), 'apply', 'p'],
      [b.revert('p'), 'revert', 'p'],
      [b.unload('p'), 'unload', 'p'],
      [b.replace('p'), 'replace', 'p'],
      [b.readConsole(), 'readConsole', undefined],
      [b.sendDebugKeys('x'), 'sendDebugKeys', undefined],
    ];
    for (const [promise, call, payload] of refused) {
      await expect(promise).rejects.toMatchObject({ name: 'XenError', code: 'EBADF', call, payload });
    }
    // Argument errors still come first.
    await expect(b.get('')).rejects.toThrow(RangeError);
    await b.close();
    await b.close();
    expect(s.trace().filter((l) => l === 'close')).toEqual(['close']);
  });

  it('lets two closes in a row both wait for the work before them', async () => {
    const s = await session(seeded(1).delay('get', 10));
    const order: string[] = [];
    const get = s.backend.get('p0').then(() => order.push('get'));
    const c1 = s.backend.close().then(() => order.push('close1'));
    const c2 = s.backend.close().then(() => order.push('close2'));
    await Promise.all([get, c1, c2]);
    expect(order).toEqual(['get', 'close1', 'close2']);
  });
});

describe('several handles', () => {
  it('each keep their own hypervisor and their own order', async () => {
    const a = await session(seeded(4).delay('get', 2));
    const b = await session(new FakeScript().payload('only-b').delay('get', 2));
    const [ra, rb] = await Promise.all([
      Promise.all(Array.from({ length: 16 }, (_, i) => a.backend.get(`p${i % 4}`))),
      Promise.all(Array.from({ length: 16 }, () => b.backend.get('only-b'))),
    ]);
    expect(ra).toHaveLength(16);
    expect(rb.every((r) => r.state === 'CHECKED')).toBe(true);
    await expect(b.backend.get('p0')).rejects.toMatchObject({ code: 'ENOENT' });
    expect([...a.trace(), ...b.trace()].some((l) => l.startsWith('overlap'))).toBe(false);
  });
});
