/**
 * The Xen version model (lib/xen/version.ts): the one `--xen-version` grammar, ordering, and which
 * version has which dom0-visible change, with the stable branches' backports as Xen's release tags
 * show them (xen-versions.md, table G).
 */
import { describe, expect, it } from 'vitest';
import {
  compareXenVersions,
  formatXenVersion,
  hasXenFeature,
  KNOWN_XEN_BRANCHES,
  generationHasForceFlag,
  knownLibxenctrlGeneration,
  libxenctrlGeneration,
  libxenctrlSoname,
  parseXenVersion,
  sysctlInterfaceVersion,
  XEN_FEATURES,
  type XenFeature,
  xenFeatures,
  XenVersionError,
  xenVersionFromHypervisor,
} from '../../lib/xen/version.js';

const v = parseXenVersion;

describe('parseXenVersion: one grammar', () => {
  it.each([
    ['4.17', { major: 4, minor: 17 }],
    ['4.20', { major: 4, minor: 20 }],
    ['4.20.4', { major: 4, minor: 20, patch: 4 }],
    ['4.19.0', { major: 4, minor: 19, patch: 0 }],
    ['4.14', { major: 4, minor: 14 }],
    ['4.22', { major: 4, minor: 22 }],
    [' 4.21 ', { major: 4, minor: 21 }],
    ['head', { major: 4, minor: 22 }],
  ])('accepts %j', (text, want) => {
    expect(parseXenVersion(text)).toEqual(want);
  });

  it.each(['4.13', '4.23', '5.0', '4', '4.', '4.17-rc', '4.19-rc', '4.17.7.1', 'v4.17', 'master', 'HEAD', '', '4.x', '04.017x', '4.20.5-pre'])('refuses %j, naming the versions it knows', (text) => {
    let err: unknown;
    try {
      parseXenVersion(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XenVersionError);
    expect(err).toBeInstanceOf(RangeError);
    const msg = (err as Error).message;
    expect(msg).toContain(JSON.stringify(text));
    for (const b of KNOWN_XEN_BRANCHES) expect(msg).toContain(`${b.major}.${b.minor}`);
    expect(msg).toContain('head');
  });

  it('formats what it parses back to the same text', () => {
    for (const t of ['4.17', '4.20.4', '4.19.0']) expect(formatXenVersion(v(t))).toBe(t);
  });
});

describe('compareXenVersions', () => {
  it('orders branches and point releases; a bare branch is its newest known point release', () => {
    expect(compareXenVersions(v('4.17'), v('4.20'))).toBeLessThan(0);
    expect(compareXenVersions(v('4.20.4'), v('4.20'))).toBe(0);
    expect(compareXenVersions(v('4.20.0'), v('4.20'))).toBeLessThan(0);
    expect(compareXenVersions(v('4.19.1'), v('4.19.0'))).toBeGreaterThan(0);
    expect(compareXenVersions(v('head'), v('4.22.0'))).toBe(0);
  });
});

describe('features by version', () => {
  const has = (text: string, f: XenFeature) => hasXenFeature(v(text), f);

  it('4.17 (Debian 12) has none of the later changes', () => {
    expect(Object.values(xenFeatures(v('4.17'))).every((x) => !x)).toBe(true);
  });

  it('4.20 (Debian 13): FORCE, early build-id check, ENODATA, refused alternatives; not 4.21 LIST sizes or alt_call_sites', () => {
    const f = xenFeatures(v('4.20'));
    expect(f).toEqual({
      'upload-force-flag': true,
      'xen-build-id-first': true,
      'build-id-note-errno': true,
      'unloaded-sections-keep-file-address': true,
      'alternatives-refused': true,
      'running-build-id-rc-zero': false,
      'list-buffer-sizes': false,
      'alt-call-sites': false,
    });
  });

  it('4.21 adds the LIST buffer sizes, alt_call_sites and the rc 0 of the build-id message', () => {
    for (const f of ['list-buffer-sizes', 'alt-call-sites', 'running-build-id-rc-zero', 'xen-build-id-first', 'upload-force-flag'] as const) expect(has('4.21.0', f)).toBe(true);
  });

  it('follows the backports into 4.18.4 and 4.19.1, and FORCE only from 4.19.0', () => {
    for (const f of ['xen-build-id-first', 'build-id-note-errno', 'unloaded-sections-keep-file-address', 'alternatives-refused'] as const) {
      expect([has('4.17.7', f), has('4.18.3', f), has('4.18.4', f), has('4.18', f), has('4.19.0', f), has('4.19.1', f), has('4.20.0', f)]).toEqual([false, false, true, true, false, true, true]);
    }
    expect([has('4.18', 'upload-force-flag'), has('4.19.0', 'upload-force-flag'), has('4.22', 'upload-force-flag')]).toEqual([false, true, true]);
  });

  it('names every feature with the release that introduced it', () => {
    for (const [name, f] of Object.entries(XEN_FEATURES)) {
      expect(f.since.length, name).toBeGreaterThan(0);
      for (const s of f.since) expect(() => parseXenVersion(s), `${name}: ${s}`).not.toThrow();
    }
  });
});

describe('the running hypervisor as the model reads it', () => {
  it.each([
    [{ major: 4, minor: 17, extra: '.7' }, '4.17.7'],
    [{ major: 4, minor: 20, extra: '.5-pre' }, '4.20.4'], // Debian 13's 4.20.4+63 reports itself so
    [{ major: 4, minor: 19, extra: '.1' }, '4.19.1'],
    [{ major: 4, minor: 21, extra: '-rc' }, '4.21.0'],
    [{ major: 4, minor: 23, extra: '-unstable' }, '4.23.0'],
    [{ major: 4, minor: 20, extra: '' }, '4.20'],
  ])('%j is %s', (info, want) => {
    expect(formatXenVersion(xenVersionFromHypervisor(info))).toBe(want);
  });

  it('Debian 13 behaves as 4.20 in everything', () => {
    expect(xenFeatures(xenVersionFromHypervisor({ major: 4, minor: 20, extra: '.5-pre' }))).toEqual(xenFeatures(v('4.20')));
  });
});

describe('ABI facts', () => {
  it('sysctl interface 0x15 up to 4.20, 0x16 from 4.21', () => {
    expect([v('4.17'), v('4.20'), v('4.21.0'), v('head')].map(sysctlInterfaceVersion)).toEqual([0x15, 0x15, 0x16, 0x16]);
  });

  it('the sysctl interface of older tools (a library/hypervisor mismatch is told apart) and none for unknown releases', () => {
    const r = (major: number, minor: number) => ({ major, minor });
    expect([r(4, 13), r(4, 14), r(4, 15), r(4, 16), r(4, 12), r(5, 0)].map(sysctlInterfaceVersion)).toEqual([0x12, 0x13, 0x13, 0x14, null, null]);
  });

  it('generations the livepatch model covers, and which has the force flag', () => {
    expect([{ major: 4, minor: 13 }, { major: 5, minor: 0 }].map(knownLibxenctrlGeneration)).toEqual([null, null]);
    expect(knownLibxenctrlGeneration(v('4.14'))).toBe('4.14-4.18');
    expect((['4.14-4.18', '4.19-4.20', '4.21+', null] as const).map(generationHasForceFlag)).toEqual([false, true, true, false]);
  });

  it('libxenctrl generations and sonames', () => {
    expect([v('4.17'), v('4.18'), v('4.19'), v('4.20'), v('4.21'), v('4.22')].map(libxenctrlGeneration)).toEqual(['4.14-4.18', '4.14-4.18', '4.19-4.20', '4.19-4.20', '4.21+', '4.21+']);
    expect(libxenctrlSoname(v('4.20.4'))).toBe('libxenctrl.so.4.20');
  });
});
