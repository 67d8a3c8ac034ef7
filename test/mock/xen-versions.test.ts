/**
 * The mock follows the Xen version it is told (lib/xen/version.ts): 4.17 is Debian 12's, 4.20
 * Debian 13's, 4.21 the newest LIST ABI. Each case is what Xen's code at that release does; the
 * real-hypervisor suite (npm run test:xen -- --xen 4.17|4.20) compares the same cases with the
 * real 4.17 and 4.20 line by line.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, MockHypervisor, MockPanicError, XenError } from '../../lib/mock/index.js';
import { fixture, OTHER_XEN_BUILD_ID, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { patch } from '../helpers/patch-elf.js';

const XEN_SYMBOLS = new Map([
  ['xen_extra_version', 0xffff82d040257a20n],
  ['printk', 0xffff82d040210000n],
]);

function mock(version: string, extra: Record<string, unknown> = {}) {
  return new MockHypervisor({
    identity: { buildId: XEN_BUILD_ID, version, loglvl: 'all', symbols: XEN_SYMBOLS, ...extra },
    clock: new ManualClock(1),
  });
}

async function upload(
  m: MockHypervisor,
  bytes: Uint8Array,
  options: { force?: boolean } = {},
): Promise<{ result: string; console: string[] }> {
  await m.readConsole({ incremental: true });
  let result = 'ok';
  try {
    await m.upload('t', bytes, options);
  } catch (e) {
    if (e instanceof XenError) result = e.code;
    else if (e instanceof MockPanicError) result = 'panic';
    else throw e;
  }
  const console = (await m.readConsole({ incremental: true })).split('\n').filter(Boolean);
  return { result, console };
}

/** The bytes with every NUL-delimited `from` (a symbol name in the string table) renamed `to` (same length). */
function renamed(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = Buffer.from(bytes);
  const a = Buffer.from(`\0${from}\0`);
  let n = 0;
  for (let at = out.indexOf(a); at !== -1; at = out.indexOf(a, at + 1), n++) Buffer.from(`\0${to}\0`).copy(out, at);
  if (!n) throw new Error(`${from} not found`);
  return out;
}

const bytesOf = async (name: string, xenBuildId = XEN_BUILD_ID) => (await fixture(name, { xenBuildId })).bytes;

describe('a payload built for another hypervisor', () => {
  it('4.17: EINVAL, "check against hypervisor build-id failed"', async () => {
    expect(await upload(mock('4.17'), await bytesOf('func_normal', OTHER_XEN_BUILD_ID))).toEqual({
      result: 'EINVAL',
      console: ['(XEN) livepatch: t: check against hypervisor build-id failed'],
    });
  });

  it('4.20: EINVAL and the three-line build-id mismatch block with both ids', async () => {
    expect(await upload(mock('4.20'), await bytesOf('func_normal', OTHER_XEN_BUILD_ID))).toEqual({
      result: 'EINVAL',
      // Xen's format string indents the two ids with U+00A0 NO-BREAK SPACEs (seen byte for byte on 4.20).
      console: [
        '(XEN) livepatch: t: build-id mismatch:',
        `(XEN) \u00a0 livepatch: ${OTHER_XEN_BUILD_ID}`,
        `(XEN) ${'\u00a0'.repeat(7)} xen: ${XEN_BUILD_ID}`,
      ],
    });
  });

  it('with a second fault, each version answers in its own check order', async () => {
    // Built for another Xen and needing a symbol this hypervisor lacks.
    const both = renamed(await bytesOf('func_normal', OTHER_XEN_BUILD_ID), 'xen_extra_version', 'xen_extra_versiox');
    // 4.17 resolves symbols long before it compares build-ids.
    expect(await upload(mock('4.17'), both)).toEqual({
      result: 'ENOENT',
      console: ['(XEN) livepatch: t: Unknown symbol: xen_extra_versiox'],
    });
    // 4.20 (and 4.19.1, 4.18.4) checks the build-id first.
    expect((await upload(mock('4.20'), both)).console[0]).toBe('(XEN) livepatch: t: build-id mismatch:');
    expect((await upload(mock('4.19.1'), both)).result).toBe('EINVAL');
    expect((await upload(mock('4.19.0'), both)).result).toBe('ENOENT');
  });
});

describe('build-id notes', () => {
  it('a .note.gnu.build-id of the wrong type: EINVAL on 4.17, ENODATA on 4.20, nothing printed', async () => {
    const bad = patch(await bytesOf('func_normal'))
      .note('.note.gnu.build-id', 'type', 4)
      .bytes();
    expect(await upload(mock('4.17'), bad)).toEqual({ result: 'EINVAL', console: [] });
    expect(await upload(mock('4.20'), bad)).toEqual({ result: 'ENODATA', console: [] });
  });

  it('an unparsable xen_depends: silent on 4.17, "failed to parse ... -61" on 4.20', async () => {
    const bad = patch(await bytesOf('func_normal'))
      .note('.livepatch.xen_depends', 'type', 4)
      .bytes();
    expect(await upload(mock('4.17'), bad)).toEqual({ result: 'EINVAL', console: [] });
    expect(await upload(mock('4.20'), bad)).toEqual({
      result: 'EINVAL',
      console: ['(XEN) livepatch: t: failed to parse section .livepatch.xen_depends as build-id: -61'],
    });
  });

  it('a hypervisor without a build-id: ENODATA; 4.20 prints -61, 4.21 prints 0', async () => {
    const ok = await bytesOf('func_normal');
    expect(await upload(mock('4.20', { buildId: null }), ok)).toEqual({
      result: 'ENODATA',
      console: ['(XEN) livepatch: t: unable to get running Xen build-id: -61'],
    });
    expect(await upload(mock('4.21', { buildId: null }), ok)).toEqual({
      result: 'ENODATA',
      console: ['(XEN) livepatch: t: unable to get running Xen build-id: 0'],
    });
  });
});

describe('a malformed alternative', () => {
  it('4.17 crashes the host (BUG_ON in apply_alternatives)', async () => {
    expect((await upload(mock('4.17'), await bytesOf('alt_bad_feature'))).result).toBe('panic');
  });

  it('4.20 refuses it: ERANGE for a feature out of range, ENOSPC for a long replacement, with the Alt line', async () => {
    const addr = /^\(XEN\) Alt for [0-9a-f]{16}, /;
    const feature = await upload(mock('4.20'), await bytesOf('alt_bad_feature'));
    expect(feature.result).toBe('ERANGE');
    expect(feature.console).toHaveLength(2);
    expect(feature.console[0]).toMatch(addr);
    expect(feature.console[0]!.replace(addr, '')).toBe('feature 0x7fff outside of featureset range 0x2a0');
    expect(feature.console[1]).toBe('(XEN) livepatch: t applying alternatives failed: -34');
    const long = await upload(mock('4.20'), await bytesOf('alt_repl_too_long'));
    expect(long.result).toBe('ENOSPC');
    expect(long.console[0]!.replace(addr, '')).toBe('replacement size 0x7 larger than origin 0x5');
    expect(long.console[1]).toBe('(XEN) livepatch: t applying alternatives failed: -28');
  });
});

describe('the x dump', () => {
  it('prints depend-on-xen= on 4.17 only', async () => {
    for (const [version, present] of [
      ['4.17', true],
      ['4.20', false],
    ] as const) {
      const m = mock(version);
      await m.upload('t', await bytesOf('func_normal'));
      await m.readConsole({ incremental: true });
      await m.sendDebugKeys('x');
      const dump = await m.readConsole({ incremental: true });
      expect(dump).toContain(`depend-on=${XEN_BUILD_ID}`);
      expect(dump.includes(`depend-on-xen=${XEN_BUILD_ID}`), version).toBe(present);
    }
  });
});

describe('FORCE', () => {
  it('is EINVAL on 4.17 (the word is `pad`, must be 0) and changes nothing on 4.20', async () => {
    const bytes = await bytesOf('func_normal');
    expect(await upload(mock('4.17'), bytes, { force: true })).toEqual({ result: 'EINVAL', console: [] });
    const m = mock('4.20');
    expect(await upload(m, bytes, { force: true })).toEqual({ result: 'ok', console: [] });
    expect(await m.get('t')).toEqual({ state: 'CHECKED', rc: 0 });
    // FORCE bypasses no check: a payload for another Xen is still refused.
    expect((await upload(mock('4.20'), await bytesOf('func_normal', OTHER_XEN_BUILD_ID), { force: true })).result).toBe('EINVAL');
  });
});

describe('identity', () => {
  it("4.20's default identity reports 4.20's version strings", async () => {
    expect(await mock('4.20').xenVersion()).toMatchObject({ major: 4, minor: 20, extra: '.4' });
    expect(await mock('4.17').xenVersion()).toMatchObject({ major: 4, minor: 17, extra: '.7' });
    expect(await mock('4.19.1').xenVersion()).toMatchObject({ major: 4, minor: 19, extra: '.1' });
  });

  it('takes only the grammar of --xen-version', () => {
    for (const bad of ['4.19-rc', 'master', '4.13', '4.23']) expect(() => mock(bad), bad).toThrow(/known: 4\.14, 4\.15/);
  });
});

describe('4.21: the LIST ABI of interface 0x16', () => {
  it('answers a raw LIST from tools of the other interface with EACCES', async () => {
    const code = async (m: MockHypervisor, iface: number) => {
      try {
        await m.listPage({ idx: 0, nr: 0, interfaceVersion: iface });
        return 'ok';
      } catch (e) {
        return (e as XenError).code;
      }
    };
    expect([
      await code(mock('4.20'), 0x15),
      await code(mock('4.20'), 0x16),
      await code(mock('4.21'), 0x15),
      await code(mock('4.21'), 0x16),
    ]).toEqual(['ok', 'EACCES', 'EACCES', 'ok']);
  });

  it('ENOBUFS when the names exceed the buffer; 4.20 trusts the caller', async () => {
    for (const [version, want] of [
      ['4.20', 'ok'],
      ['4.21', 'ENOBUFS'],
    ] as const) {
      const m = mock(version);
      await m.upload('t', await bytesOf('func_normal'));
      let got = 'ok';
      await m.listPage({ idx: 0, nr: 1, nameBufferSize: 1, metadataBufferSize: 0 }).catch((e: XenError) => (got = e.code));
      expect(got, version).toBe(want);
    }
  });
});
