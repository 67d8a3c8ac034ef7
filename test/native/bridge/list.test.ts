import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, cmd, type FakeSession, fakeSessions } from '../support/fake-xenctrl.js';

const session = fakeSessions();

const names = (n: number, prefix = 'p'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function seeded(list: readonly string[], metadata: (name: string) => string = (name) => `name=${name}\0`): FakeScript {
  const script = new FakeScript();
  for (const name of list) script.payload(name, { metadata: metadata(name) });
  return script;
}

/** How many list calls the addon made. A clean read takes two: the second confirms the first. */
const listCalls = (s: FakeSession): number => s.trace().filter((l) => l.startsWith('list max=')).length;

describe('list', () => {
  it('returns nothing for an empty hypervisor, after one size probe', async () => {
    const s = await session(new FakeScript());
    expect(await s.backend.list()).toEqual([]);
    expect(s.trace().filter((l) => l.startsWith('list'))).toEqual(['list-probe idx=0 nr=0 rc=0 version=1 left=0 names=0 meta=0']);
  });

  it('returns state, rc, name and metadata with embedded NULs, byte for byte', async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const s = await session(
      new FakeScript()
        .payload('a', { metadata: 'LIVEPATCH_RULEZ\0' })
        .payload('b', { state: 2, rc: -ERRNO.EAGAIN, metadata: binary })
        .payload('c', { rc: -ERRNO.EBUSY })
        .payload('d', { metadata: '\0\0\0' }),
    );
    const list = await s.backend.list();
    expect(list.map(({ name, state, rc }) => ({ name, state, rc }))).toEqual([
      { name: 'a', state: 'CHECKED', rc: 0 },
      { name: 'b', state: 'APPLIED', rc: -11 },
      { name: 'c', state: 'CHECKED', rc: -16 },
      { name: 'd', state: 'CHECKED', rc: 0 },
    ]);
    expect(Buffer.from(list[0]!.metadata).toString('latin1')).toBe('LIVEPATCH_RULEZ\0');
    expect(Buffer.from(list[1]!.metadata).equals(binary)).toBe(true);
    expect(list[2]!.metadata.length).toBe(0);
    expect(Buffer.from(list[3]!.metadata).equals(Buffer.alloc(3))).toBe(true);
    expect(list[0]!.metadata).toBeInstanceOf(Uint8Array);
  });

  it('returns names of 1 and 127 bytes, ASCII and UTF-8', async () => {
    const list = ['a', 'z'.repeat(127), `${'é'.repeat(63)}a`, '€'];
    const s = await session(seeded(list));
    expect((await s.backend.list()).map((e) => e.name)).toEqual(list);
  });

  it('reads a list longer than one page: libxenctrl halves its batch on E2BIG', async () => {
    const list = names(1500);
    const s = await session(seeded(list));
    const result = await s.backend.list();
    expect(result.map((e) => e.name)).toEqual(list);
    expect(result.map((e) => Buffer.from(e.metadata).toString())).toEqual(list.map((n) => `name=${n}\0`));
    const pages = s.trace().filter((l) => l.startsWith('list-batch'));
    expect(pages[0]).toMatch(/^list-batch idx=0 nr=1500 rc=-7 /);
    expect(pages[1]).toMatch(/^list-batch idx=0 nr=750 rc=750 /);
    expect(pages[2]).toMatch(/^list-batch idx=750 nr=750 rc=750 .* left=0 /);
    expect(listCalls(s)).toBe(2);
  });

  it('reads a list Xen hands out a few entries at a time (preemption)', async () => {
    const list = names(23);
    const s = await session(seeded(list).preempt(5));
    expect((await s.backend.list()).map((e) => e.name)).toEqual(list);
    expect(s.trace().filter((l) => l.startsWith('list-batch')).length).toBe(2 * 5);
    expect(listCalls(s)).toBe(2);
  });

  it('restarts when a payload is uploaded between its size probe and its list call', async () => {
    const s = await session(seeded(['a', 'b']).after('list-probe', 1, cmd.upload('late', 'k=v\0')));
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual(['a', 'b', 'late']);
    expect(Buffer.from(list[2]!.metadata).toString()).toBe('k=v\0');
    expect(listCalls(s)).toBe(3);
  });

  it('restarts when a payload is unloaded between its size probe and its list call', async () => {
    const s = await session(seeded(['a', 'b', 'c']).after('list-probe', 1, cmd.unload('b')));
    expect((await s.backend.list()).map((e) => e.name)).toEqual(['a', 'c']);
    expect(listCalls(s)).toBe(3);
  });

  it('restarts when the list changes between the list call and the second probe', async () => {
    const s = await session(seeded(['a']).after('list-probe', 1, cmd.upload('x')).before('list-probe', 4, cmd.upload('y')));
    // probe 1 (then x appears), list sees 2 > 1, probe 2; probe 3, list, probe 4 sees y; then two
    // clean reads.
    expect((await s.backend.list()).map((e) => e.name)).toEqual(['a', 'x', 'y']);
    expect(listCalls(s)).toBe(4);
  });

  it('discards a walk libxenctrl restarted itself after a version change mid-walk', async () => {
    // Pages of 10: the upload lands between libxenctrl's first and second page. libxenctrl starts
    // over without rewinding Xen's index or its offsets into our buffers; the torn result must
    // never be returned.
    const list = names(30);
    const s = await session(seeded(list).preempt(10).before('list-batch', 2, cmd.upload('late', 'meta=late\0')));
    const result = await s.backend.list();
    expect(result.map((e) => e.name)).toEqual([...list, 'late']);
    expect(Buffer.from(result[30]!.metadata).toString()).toBe('meta=late\0');
    expect(result.slice(0, 30).map((e) => Buffer.from(e.metadata).toString())).toEqual(list.map((n) => `name=${n}\0`));
    expect(listCalls(s)).toBe(3);
  });

  it('discards a torn walk even when an unload and an upload leave the sizes unchanged', async () => {
    const list = names(30, 'q'); // q0..q29; replacing q15 by r15 keeps every size
    const s = await session(
      seeded(list, () => 'm\0')
        .preempt(10)
        .before('list-batch', 2, cmd.unload('q15'))
        .before('list-batch', 2, cmd.upload('r15', 'm\0')),
    );
    const result = await s.backend.list();
    expect(result.map((e) => e.name)).toEqual([...list.filter((n) => n !== 'q15'), 'r15']);
    expect(listCalls(s)).toBe(3);
  });

  it("never pairs names with other payloads' states when a torn walk passes every size check", async () => {
    // Uniform name and metadata lengths and one payload swapped for another of the same sizes:
    // libxenctrl's restarted walk then returns the right names with the states of other entries,
    // and only a second, agreeing read tells the difference.
    const list = Array.from({ length: 30 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const script = new FakeScript();
    list.forEach((name, i) => script.payload(name, { state: i % 2 ? 2 : 1, rc: -i || 0, metadata: 'm\0' }));
    script.preempt(10).before('list-batch', 2, cmd.unload('p14')).before('list-batch', 2, cmd.upload('r14', 'm\0'));
    const s = await session(script);
    const result = await s.backend.list();
    const expected = list.map((name, i) => ({ name, state: i % 2 ? 'APPLIED' : 'CHECKED', rc: -i || 0 })).filter((e) => e.name !== 'p14');
    expected.push({ name: 'r14', state: 'CHECKED', rc: 0 });
    expect(result.map(({ name, state, rc }) => ({ name, state, rc }))).toEqual(expected);
    expect(listCalls(s)).toBe(3);
  });

  it('takes an unload and an upload of the same sizes between probe and list as the new list', async () => {
    const s = await session(
      seeded(['aa', 'bb']).after('list-probe', 1, cmd.unload('aa')).after('list-probe', 1, cmd.upload('cc', 'name=cc\0')),
    );
    expect((await s.backend.list()).map((e) => e.name)).toEqual(['bb', 'cc']);
  });

  it('on 4.21 restarts after ENOBUFS when new metadata outgrows its buffer', async () => {
    const big = 'k='.padEnd(200 * 1024, 'v') + '\0';
    const s = await session(seeded(['a', 'b']).after('list-probe', 1, cmd.unload('b')).after('list-probe', 1, cmd.upload('big', big)), 21);
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual(['a', 'big']);
    expect(Buffer.from(list[1]!.metadata).toString()).toBe(big);
    expect(s.trace().some((l) => /^list-batch .* rc=-105 /.test(l))).toBe(true);
    expect(listCalls(s)).toBe(3);
  });

  it.each([17, 20] as const)('before 4.21 (%i) leaves room for one new payload of any size between probe and list', async (minor) => {
    // Xen before 4.21 writes every entry's metadata whatever our buffer, and libxenctrl copies it
    // all into our buffer; a payload with 1.5 MiB of metadata appearing after the probe must still
    // fit (the fake records any byte the real library would have written past our buffer, and
    // fakeSessions() requires there be none).
    const big = Buffer.alloc(1536 * 1024, 0x61);
    big[big.length - 1] = 0;
    const s = await session(
      seeded(['a', 'b']).after('list-probe', 1, cmd.unload('b')).after('list-probe', 1, cmd.upload('big', big)),
      minor,
    );
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual(['a', 'big']);
    expect(Buffer.from(list[1]!.metadata).equals(big)).toBe(true);
    expect(s.trace().filter((l) => l.startsWith('overflow'))).toEqual([]);
  });

  it('on 4.17 absorbs new metadata within its headroom and restarts on the size change', async () => {
    const meta = 'k='.padEnd(8 * 1024, 'v') + '\0';
    const s = await session(seeded(['a', 'b']).after('list-probe', 1, cmd.unload('b')).after('list-probe', 1, cmd.upload('new', meta)), 17);
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual(['a', 'new']);
    expect(Buffer.from(list[1]!.metadata).toString()).toBe(meta);
    expect(listCalls(s)).toBe(3);
  });

  it('gives up with EBUSY when the list never holds still', async () => {
    const s = await session(seeded(['a']).after('list-probe', '*', cmd.uploadAuto));
    const e = await s.backend.list().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(XenError);
    expect(e).toMatchObject({ errno: ERRNO.EBUSY, code: 'EBUSY', call: 'list', payload: undefined });
    expect(listCalls(s)).toBe(8);
  });

  it('restarts when libxenctrl gives up with EBUSY after its own retries', async () => {
    // Five version changes inside one walk exhaust libxenctrl's retries; the next walk is calm.
    const script = seeded(names(10)).preempt(2);
    for (let n = 2; n <= 6; n++) script.before('list-batch', n, cmd.uploadAuto);
    const s = await session(script);
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual([...names(10), 'auto-1', 'auto-2', 'auto-3', 'auto-4', 'auto-5']);
    expect(s.trace().some((l) => /^list-batch .* version=/.test(l))).toBe(true);
    expect(listCalls(s)).toBe(3);
  });

  it("restarts after an error caused by the list shrinking under Xen's index", async () => {
    const s = await session(seeded(['a', 'b']).after('list-probe', 1, cmd.upload('x')).fail('list-batch', ERRNO.EINVAL));
    expect((await s.backend.list()).map((e) => e.name)).toEqual(['a', 'b', 'x']);
  });

  it('reports a list error when the list did not change', async () => {
    const s = await session(seeded(['a']).fail('list-batch', ERRNO.EFAULT));
    const e = await s.backend.list().catch((x: unknown) => x);
    expect(e).toMatchObject({ errno: ERRNO.EFAULT, code: 'EFAULT', call: 'list' });
  });

  it('reports a failing size probe with what libxenctrl logged', async () => {
    const s = await session(seeded(['a']).fail('list-probe', ERRNO.EACCES));
    const e = (await s.backend.list().catch((x: unknown) => x)) as XenError;
    expect(e).toMatchObject({ errno: ERRNO.EACCES, code: 'EACCES', call: 'list' });
    expect(e.message).toContain('sysctl refused');
  });

  it('reports E2BIG when even single entries are refused', async () => {
    const s = await session(
      seeded(['a', 'b']).fail('list-batch', ERRNO.E2BIG).fail('list-batch', ERRNO.E2BIG).fail('list-batch', ERRNO.E2BIG),
    );
    const e = await s.backend.list().catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E2BIG', call: 'list' });
  });
});

describe('a lying library', () => {
  // Answers no real libxenctrl gives: the addon must allocate nothing unbounded, read nothing
  // outside its buffers, and say what happened.
  it.each([
    ['4 Gi payloads', [0xffffffff, 2, 0]],
    ['65537 payloads', [65537, 65537 * 2, 0]],
    ['4 GiB of metadata', [2, 4, 0xffffffff]],
  ] as const)('refuses a size probe reporting %s with ENOMEM, saying so, without trying to list', async (_, sizes) => {
    const s = await session(seeded(['a', 'b']).lie({ sizes }));
    const e = (await s.backend.list().catch((x: unknown) => x)) as XenError;
    expect(e).toBeInstanceOf(XenError);
    expect(e).toMatchObject({ errno: ERRNO.ENOMEM, code: 'ENOMEM', call: 'list' });
    expect(e.message).toContain(
      `libxenctrl reported ${sizes[0]} payloads with ${sizes[1]} bytes of names and ${sizes[2]} bytes of metadata`,
    );
    expect(listCalls(s)).toBe(0);
  });

  it.each([
    ['more names than a payload count can have', { sizes: [2, 0xffffffff, 0] as const }],
    ['a count the list does not have', { sizes: [5, 4, 0] as const }],
    ['lengths beyond the buffers', 'lengths' as const],
    ['more entries done than asked for', 'done' as const],
  ])('answers EBADMSG when %s while the list holds still', async (_, lie) => {
    const s = await session(seeded(['a', 'b']).lie(lie));
    const e = (await s.backend.list().catch((x: unknown) => x)) as XenError;
    expect(e).toBeInstanceOf(XenError);
    expect(e).toMatchObject({ errno: ERRNO.EBADMSG, code: 'EBADMSG', call: 'list' });
    expect(e.message).toContain("libxenctrl's list did not add up in 8 attempts although the list held still");
  });

  it('gets EOVERFLOW for a console read longer than its buffer', async () => {
    const s = await session(new FakeScript().console('boot\n').lie('console'));
    await expect(s.backend.readConsole()).rejects.toMatchObject({ code: 'EOVERFLOW', call: 'readConsole' });
  });

  it('gets EOVERFLOW for a build-id longer than its buffer', async () => {
    const s = await session(new FakeScript().lie('build-id'));
    await expect(s.backend.xenVersion()).rejects.toMatchObject({ code: 'EOVERFLOW', call: 'xenVersion' });
  });
});
