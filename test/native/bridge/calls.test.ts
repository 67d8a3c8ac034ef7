import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NativeBackend } from '../../../lib/native/index.js';
import { loadAddon } from '../../../lib/native/binding.js';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, SUITE_MINOR, fakeLibrary, hex, fakeSessions } from '../support/fake-xenctrl.js';

const session = fakeSessions();

/** What the fake traces as the force argument of an upload without force: none (4.17) or false. */
const NO_FORCE = SUITE_MINOR >= 19 ? 0 : -1;

/** The fake's checksum of uploaded bytes (FNV-1a 32), to see that the exact bytes arrived. */
function fnv1a(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

async function xenError(promise: Promise<unknown>): Promise<XenError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(XenError);
  return e as XenError;
}

describe('xenVersion', () => {
  it('reports version, extraversion and build-id', async () => {
    const { backend } = await session(new FakeScript().extra('.7-deb').buildId('00ff10ee'));
    expect(await backend.xenVersion()).toEqual({ major: 4, minor: SUITE_MINOR, extra: '.7-deb', buildId: '00ff10ee' });
  });

  it('reports the default fake identity, a 20-byte build-id', async () => {
    const { backend } = await session();
    const v = await backend.xenVersion();
    expect(v).toEqual({ major: 4, minor: SUITE_MINOR, extra: '.0-fake', buildId: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3' });
  });

  it('gives a null build-id when the hypervisor has none (ENODATA)', async () => {
    const { backend } = await session(new FakeScript().buildId(null));
    expect((await backend.xenVersion()).buildId).toBeNull();
  });

  it('reads an extraversion that fills all 16 bytes without a NUL', async () => {
    const { backend } = await session(new FakeScript().extra('0123456789abcdef'));
    expect((await backend.xenVersion()).extra).toBe('0123456789abcdef');
  });

  it('rejects with the errno of a failing XENVER_version', async () => {
    // The open makes the first XENVER call; program the failure for the one after it.
    const s = await session(new FakeScript().after('version', 1, 'fail version 1'));
    const e = await xenError(s.backend.xenVersion());
    expect(e).toMatchObject({ errno: ERRNO.EPERM, code: 'EPERM', call: 'xenVersion', payload: undefined });
  });

  it('rejects when XENVER_build_id fails with anything but ENODATA', async () => {
    // open: version; xenVersion: version, extraversion, build_id.
    const s = await session(new FakeScript().after('version', 3, `fail version ${ERRNO.EACCES}`));
    expect(await xenError(s.backend.xenVersion())).toMatchObject({ errno: ERRNO.EACCES, call: 'xenVersion' });
    expect(s.trace().filter((l) => l.startsWith('version'))).toEqual(['version cmd=0', 'version cmd=0', 'version cmd=1', 'version cmd=10']);
  });
});

describe('upload', () => {
  it('passes name, size and the exact bytes, with no force flag (4.17) or a false one (4.19+)', async () => {
    const s = await session();
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    await s.backend.upload('p1', bytes);
    expect(s.trace()).toContain(`upload name=${hex('p1')} size=4096 force=${NO_FORCE} sum=${fnv1a(bytes)}`);
    expect(await s.backend.get('p1')).toEqual({ state: 'CHECKED', rc: 0 });
  });

  it('passes only the bytes of a Uint8Array view', async () => {
    const s = await session();
    const whole = Buffer.from('0123456789');
    const view = whole.subarray(3, 7);
    await s.backend.upload('view', view);
    expect(s.trace()).toContain(`upload name=${hex('view')} size=4 force=${NO_FORCE} sum=${fnv1a(Buffer.from('3456'))}`);
  });

  it("uploads 2 MiB, and refuses one byte more with Xen's EINVAL without calling the library", async () => {
    const s = await session();
    const max = new Uint8Array(2 * 1024 * 1024).fill(0x5a);
    await s.backend.upload('max', max);
    expect(s.trace()).toContain(`upload name=${hex('max')} size=${max.length} force=${NO_FORCE} sum=${fnv1a(max)}`);
    const e = await xenError(s.backend.upload('too-big', new Uint8Array(max.length + 1)));
    expect(e).toMatchObject({ errno: ERRNO.EINVAL, code: 'EINVAL', call: 'upload', payload: 'too-big' });
    expect(e.message).toContain('the payload is 2097153 bytes; Xen refuses anything over 2097152 (LIVEPATCH_MAX_SIZE)');
    expect(s.trace().filter((l) => l.startsWith('upload'))).toHaveLength(1);
  });

  it("lets an empty payload reach the library, so the EINVAL is Xen's", async () => {
    const s = await session();
    const e = await xenError(s.backend.upload('empty', new Uint8Array(0)));
    expect(e).toMatchObject({ errno: ERRNO.EINVAL, call: 'upload', payload: 'empty' });
    expect(s.trace()).toContain(`upload name=${hex('empty')} size=0 force=${NO_FORCE} sum=811c9dc5`);
  });

  it('refuses force on 4.14-4.18 with EOPNOTSUPP, without calling the library', async () => {
    const s = await session(new FakeScript(), 17);
    const e = await xenError(s.backend.upload('f', Buffer.from('x'), { force: true }));
    expect(e).toMatchObject({ errno: ERRNO.EOPNOTSUPP, code: 'EOPNOTSUPP', call: 'upload', payload: 'f' });
    expect(e.message).toContain('4.19');
    expect(s.trace().some((l) => l.startsWith('upload'))).toBe(false);
  });

  it.each([20, 21] as const)('passes the force flag on 4.%i', async (minor) => {
    const s = await session(new FakeScript(), minor);
    await s.backend.upload('forced', Buffer.from('x'), { force: true });
    await s.backend.upload('plain', Buffer.from('x'));
    const uploads = s.trace().filter((l) => l.startsWith('upload'));
    expect(uploads).toEqual([
      `upload name=${hex('forced')} size=1 force=1 sum=${fnv1a(Buffer.from('x'))}`,
      `upload name=${hex('plain')} size=1 force=0 sum=${fnv1a(Buffer.from('x'))}`,
    ]);
  });

  it('surfaces EEXIST for a duplicate name', async () => {
    const s = await session(new FakeScript().payload('dup'));
    const e = await xenError(s.backend.upload('dup', Buffer.from('x')));
    expect(e).toMatchObject({ errno: ERRNO.EEXIST, code: 'EEXIST', call: 'upload', payload: 'dup' });
  });
});

describe('names', () => {
  const accepted = [
    ['one byte', 'a'],
    ['127 ASCII bytes', 'n'.repeat(127)],
    ['127 UTF-8 bytes', `${'é'.repeat(63)}a`],
    ['spaces and punctuation', 'xen hello-world_1.0 (x86)'],
  ] as const;

  it.each(accepted)('round-trips a name of %s through upload, get, list and apply', async (_, name) => {
    const s = await session();
    await s.backend.upload(name, Buffer.from('payload'));
    expect(await s.backend.get(name)).toEqual({ state: 'CHECKED', rc: 0 });
    await s.backend.apply(name);
    expect(await s.backend.get(name)).toEqual({ state: 'APPLIED', rc: 0 });
    expect((await s.backend.list()).map((e) => e.name)).toEqual([name]);
    const utf8 = hex(name);
    expect(s.trace()).toContain(`get name=${utf8}`);
    expect(s.trace()).toContain(`action cmd=3 name=${utf8} timeout=0 flags=0`);
  });

  const refused: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['empty', '', RangeError],
    ['128 ASCII bytes', 'n'.repeat(128), RangeError],
    ['128 UTF-8 bytes in 64 characters', 'é'.repeat(64), RangeError],
    ['an embedded NUL', 'a\0b', RangeError],
    ['a trailing NUL', 'ab\0', RangeError],
    ['a number', 42, TypeError],
    ['undefined', undefined, TypeError],
    ['a Uint16Array', new Uint16Array([0x61, 0x62]), TypeError],
    ['128 bytes in a Buffer', Buffer.alloc(128, 0x61), RangeError],
    ['an empty Buffer', Buffer.alloc(0), RangeError],
    ['a Buffer holding a NUL', Buffer.from([0x61, 0, 0x62]), RangeError],
    ['a String object', new String('abc'), TypeError],
  ];

  it.each(refused)('refuses a name that is %s before calling the library', async (_, name, type) => {
    const s = await session(new FakeScript().payload('x'));
    const n = name as string;
    await expect(s.backend.get(n)).rejects.toThrow(type);
    await expect(s.backend.upload(n, Buffer.from('x'))).rejects.toThrow(type);
    await expect(s.backend.apply(n)).rejects.toThrow(type);
    expect(s.trace().filter((l) => /^(get|upload|action)/.test(l))).toEqual([]);
  });
});

describe('actions', () => {
  it.each([
    ['apply', 3],
    ['revert', 2],
    ['unload', 1],
    ['replace', 4],
  ] as const)('%s sends action %i with the timeout and flags given', async (verb, code) => {
    const s = await session(new FakeScript().payload('p'));
    await s.backend[verb]('p', { timeoutNs: 123_456_789, nodeps: true });
    expect(s.trace()).toContain(`action cmd=${code} name=${hex('p')} timeout=123456789 flags=1`);
  });

  it("defaults to timeout 0 (Xen's 30 ms) and no flags", async () => {
    const s = await session(new FakeScript().payload('p'));
    await s.backend.action('p', 'APPLY');
    await s.backend.action('p', 'REVERT', { nodeps: false });
    expect(s.trace().filter((l) => l.startsWith('action'))).toEqual([
      `action cmd=3 name=${hex('p')} timeout=0 flags=0`,
      `action cmd=2 name=${hex('p')} timeout=0 flags=0`,
    ]);
  });

  it('accepts the whole u32 timeout range', async () => {
    const s = await session(new FakeScript().payload('p'));
    await s.backend.apply('p', { timeoutNs: 0xffff_ffff });
    expect(s.trace()).toContain(`action cmd=3 name=${hex('p')} timeout=4294967295 flags=0`);
  });

  it.each([
    ['negative', -1, RangeError],
    ['2^32', 2 ** 32, RangeError],
    ['fractional', 1.5, RangeError],
    ['NaN', Number.NaN, RangeError],
    ['Infinity', Number.POSITIVE_INFINITY, RangeError],
    ['a string', '5', TypeError],
    ['a bigint', 5n, TypeError],
  ])('refuses a %s timeout', async (_, timeoutNs, type) => {
    const s = await session(new FakeScript().payload('p'));
    await expect(s.backend.apply('p', { timeoutNs: timeoutNs as number })).rejects.toThrow(type);
    expect(s.trace().some((l) => l.startsWith('action'))).toBe(false);
  });

  it('refuses unknown actions and non-boolean flags', async () => {
    const s = await session(new FakeScript().payload('p'));
    await expect(s.backend.action('p', 'EXPLODE' as never)).rejects.toThrow(TypeError);
    await expect(s.backend.action('p', 'toString' as never)).rejects.toThrow(TypeError);
    await expect(s.backend.apply('p', { nodeps: 1 as unknown as boolean })).rejects.toThrow(TypeError);
    await expect(s.backend.upload('q', Buffer.from('x'), { force: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
  });

  it("surfaces the hypervisor's refusals with call and payload", async () => {
    const s = await session(new FakeScript().payload('on', { state: 2 }));
    expect(await xenError(s.backend.unload('on'))).toMatchObject({ errno: ERRNO.EINVAL, call: 'unload', payload: 'on' });
    expect(await xenError(s.backend.apply('missing'))).toMatchObject({
      errno: ERRNO.ENOENT,
      code: 'ENOENT',
      call: 'apply',
      payload: 'missing',
    });
    expect(await xenError(s.backend.replace('missing'))).toMatchObject({ call: 'replace' });
    expect(await xenError(s.backend.revert('missing'))).toMatchObject({ call: 'revert' });
  });
});

describe('get', () => {
  it('reports state and a negative rc as the hypervisor holds them', async () => {
    const s = await session(new FakeScript().payload('pending', { state: 2, rc: -ERRNO.EAGAIN }).payload('timedout', { rc: -ERRNO.EBUSY }));
    expect(await s.backend.get('pending')).toEqual({ state: 'APPLIED', rc: -11 });
    expect(await s.backend.get('timedout')).toEqual({ state: 'CHECKED', rc: -16 });
  });

  it('rejects a state it does not know instead of guessing', async () => {
    const s = await session(new FakeScript().payload('odd', { state: 7 as 1 }));
    const e = await xenError(s.backend.get('odd'));
    expect(e).toMatchObject({ code: 'EBADMSG', call: 'get', payload: 'odd' });
    expect(e.message).toContain('state 7');
  });

  it('rejects ENOENT for an unknown payload', async () => {
    const s = await session();
    const e = await xenError(s.backend.get('nope'));
    expect(e).toMatchObject({ errno: ERRNO.ENOENT, code: 'ENOENT', call: 'get', payload: 'nope' });
    expect(e.message).toBe('get "nope" failed: No such file or directory (ENOENT, errno 2)');
  });

  it('quotes what libxenctrl logged during the failed call', async () => {
    const s = await session(new FakeScript().payload('p').fail('get', ERRNO.EACCES));
    const e = await xenError(s.backend.get('p'));
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain('libxenctrl: fake-xc: sysctl refused');
    // The next call starts with a clean slate.
    await s.backend.get('p');
    const e2 = await xenError(s.backend.get('other'));
    expect(e2.message).not.toContain('sysctl refused');
  });
});

describe('payload bytes', () => {
  it.each([
    ['a string', 'abc'],
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['a DataView', new DataView(new ArrayBuffer(4))],
    ['a Uint16Array', new Uint16Array(4)],
    ['an Int8Array', new Int8Array(4)],
    ['an array of numbers', [1, 2, 3]],
    ['null', null],
  ])('refuses %s with a TypeError', async (_, bytes) => {
    const s = await session();
    await expect(s.backend.upload('p', bytes as unknown as Uint8Array)).rejects.toThrow(TypeError);
    expect(s.trace().some((l) => l.startsWith('upload'))).toBe(false);
  });
});

describe('the raw addon surface', () => {
  it('refuses action codes libxenctrl has no function for', async () => {
    const handle = await loadAddon().addon.open({ library: fakeLibrary() });
    try {
      for (const cmd of [0, 5, 255]) expect(() => handle.action('p', cmd, 0, 0)).toThrow(RangeError);
      expect(() => handle.upload('p', Buffer.from('x'), 'yes' as unknown as boolean)).toThrow(TypeError);
      expect(() => handle.readConsole(1 as unknown as boolean)).toThrow(TypeError);
    } finally {
      await handle.close();
    }
  });
});

describe('hostile arguments', () => {
  it('never crash the process: every call resolves or rejects with a typed error', async () => {
    const s = await session(new FakeScript().payload('p'));
    const b: NativeBackend = s.backend;
    const anything = fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true });
    await fc.assert(
      fc.asyncProperty(anything, anything, anything, async (x, y, z) => {
        const calls = [
          () => b.get(x as string),
          () => b.upload(x as string, y as Uint8Array, z as { force?: boolean }),
          () => b.action('p', 'APPLY', { timeoutNs: x as number, nodeps: y as boolean }),
          () => b.readConsole(x as { incremental?: boolean }),
          () => b.sendDebugKeys(x as string),
        ];
        for (const call of calls) {
          try {
            await call();
          } catch (e) {
            if (!(e instanceof TypeError || e instanceof RangeError || e instanceof XenError)) throw e;
          }
        }
      }),
      { numRuns: 150 },
    );
    expect(await b.get('p')).toMatchObject({ state: expect.any(String) as string });
  });
});
