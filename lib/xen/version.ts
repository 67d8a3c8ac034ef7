/**
 * The one Xen version model: which Xen versions the project knows, how a version is written on the
 * command line, how versions compare, and what each version does differently as dom0 sees it.
 * Preflight (the loader it imitates), the mock (what it simulates), the CLI (`--xen-version`) and
 * the real-hypervisor suite read it; nothing else maps a version number to behaviour.
 *
 * Facts are from Xen's source at the release tags (xen/common/livepatch.c, livepatch_elf.c,
 * arch/x86/alternative.c, public/sysctl.h, tools/libs/ctrl), with the stable branches' backports:
 * several 4.20 changes reached 4.18.4 and 4.19.1, none reached 4.17.
 */

/** A Xen release: `major.minor`, and the point release when it matters. */
export interface XenVersion {
  readonly major: number;
  readonly minor: number;
  /**
   * The point release (`4.19.1` -> 1). Absent: the newest point release of that branch the model
   * knows (see `KNOWN_XEN_BRANCHES`), which is what a maintained host runs.
   */
  readonly patch?: number;
}

/** Every branch the model knows, with its newest point release (release tags up to 2026-07-29). */
export const KNOWN_XEN_BRANCHES: readonly { readonly major: number; readonly minor: number; readonly newestPatch: number }[] = [
  { major: 4, minor: 14, newestPatch: 6 },
  { major: 4, minor: 15, newestPatch: 7 },
  { major: 4, minor: 16, newestPatch: 7 },
  { major: 4, minor: 17, newestPatch: 7 },
  { major: 4, minor: 18, newestPatch: 6 },
  { major: 4, minor: 19, newestPatch: 6 },
  { major: 4, minor: 20, newestPatch: 4 },
  { major: 4, minor: 21, newestPatch: 2 },
  { major: 4, minor: 22, newestPatch: 0 },
];

/** What the project assumes without being told: Debian 12's Xen 4.17.7. */
export const DEFAULT_XEN_VERSION: XenVersion = { major: 4, minor: 17 };
/** `head`: the newest release; Xen's master branch has no livepatch change after it. */
export const HEAD_XEN_VERSION: XenVersion = { major: 4, minor: 22 };
/** The oldest the model knows: 4.14 introduced payload version 2, the hooks and xen_depends. */
export const OLDEST_XEN_VERSION: XenVersion = { major: 4, minor: 14 };

/** A `--xen-version` (or `version:` setting) the model does not know. */
export class XenVersionError extends RangeError {
  override readonly name = 'XenVersionError';
}

function branch(v: Pick<XenVersion, 'major' | 'minor'>) {
  return KNOWN_XEN_BRANCHES.find((b) => b.major === v.major && b.minor === v.minor);
}

/** The versions `parseXenVersion` accepts, as one sentence for error messages and help. */
export function knownXenVersionsText(): string {
  const names = KNOWN_XEN_BRANCHES.map((b) => `${b.major}.${b.minor}`);
  return `${names.join(', ')} (optionally with the point release, e.g. 4.20.4) or head (= ${formatXenVersion(HEAD_XEN_VERSION)})`;
}

/**
 * The one grammar of every `--xen-version`: `MAJOR.MINOR` or `MAJOR.MINOR.PATCH` of a branch the
 * model knows, or `head`. Throws `XenVersionError` naming the known versions for anything else.
 */
export function parseXenVersion(text: string): XenVersion {
  const t = text.trim();
  if (t === 'head') return HEAD_XEN_VERSION;
  const m = /^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$/.exec(t);
  const v = m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
  if (!v || !branch(v)) {
    throw new XenVersionError(`${JSON.stringify(text)} is not a Xen version this project knows; known: ${knownXenVersionsText()}`);
  }
  return m![3] === undefined ? v : { ...v, patch: Number(m![3]) };
}

/** `4.20` or `4.20.4`. */
export function formatXenVersion(v: XenVersion): string {
  return v.patch === undefined ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}

/**
 * The version a running hypervisor reports (`XENVER_version` and `XENVER_extraversion`), as the
 * model reads it: `.7` is point release 7; `.5-pre` (a stable branch between releases, as Debian
 * 13's 4.20.4+63 reports itself) has everything of 4.20.4 and is taken as such; `-rc` or
 * `-unstable` is the branch before its first release, taken as `.0`.
 */
export function xenVersionFromHypervisor(info: { readonly major: number; readonly minor: number; readonly extra: string }): XenVersion {
  const base = { major: info.major, minor: info.minor };
  const m = /^\.(\d+)(.*)$/.exec(info.extra);
  if (m) {
    const n = Number(m[1]);
    const unreleased = /^-(pre|rc)/.test(m[2]!);
    return { ...base, patch: unreleased ? Math.max(0, n - 1) : n };
  }
  if (/^-(rc|unstable|pre)/.test(info.extra)) return { ...base, patch: 0 };
  return base;
}

/** The point release a version stands for (the branch's newest known one when unspecified). */
function effectivePatch(v: XenVersion): number {
  if (v.patch !== undefined) return v.patch;
  return branch(v)?.newestPatch ?? Number.POSITIVE_INFINITY;
}

/** Orders versions; an unspecified point release is the branch's newest known one. */
export function compareXenVersions(a: XenVersion, b: XenVersion): number {
  return a.major - b.major || a.minor - b.minor || Math.sign(effectivePatch(a) - effectivePatch(b));
}

/** Whether the model covers this version at all (4.14 and later). */
export function isSupportedXenVersion(v: XenVersion): boolean {
  return v.major === 4 && v.minor >= OLDEST_XEN_VERSION.minor;
}

/** The point release `XENVER_extraversion` shows for a version (the mock's default identity). */
export function defaultExtraVersion(v: XenVersion): string {
  const p = v.patch ?? branch(v)?.newestPatch ?? 0;
  return `.${p}`;
}

/**
 * Everything dom0 can see change between versions, by name. `since` lists, per branch, the first
 * release that has it; the last entry holds for every later branch (stable backports make a
 * feature appear in the middle of older branches).
 */
export const XEN_FEATURES = {
  /**
   * `op.pad` became `op.flags` with LIVEPATCH_FLAG_FORCE (62a72092a5), and xc_livepatch_upload took
   * `bool force`. Before, any non-zero word is EINVAL; after, only unknown bits without FORCE are.
   * FORCE itself is consumed nowhere in the hypervisor.
   */
  'upload-force-flag': { since: ['4.19.0'] },
  /**
   * The Xen build-id check runs right after the ELF checks (`check_xen_buildid`, fa49f4be41), with
   * its own console lines (`section ... is missing`, `failed to parse section ... as build-id: %d`,
   * the three-line `build-id mismatch:` block, `unable to get running Xen build-id: %d`); the
   * special-sections check no longer covers xen_depends; the `x` dump drops `depend-on-xen=`.
   */
  'xen-build-id-first': { since: ['4.18.4', '4.19.1', '4.20.0'] },
  /** `parse_buildid` returns `xen_build_id_check`'s errno: ENODATA for a wrong note type or owner (86d09d16dd). */
  'build-id-note-errno': { since: ['4.18.4', '4.19.1', '4.20.0'] },
  /** Sections that are not loaded keep a pointer into the (freed) upload buffer instead of NULL (8c81423038). */
  'unloaded-sections-keep-file-address': { since: ['4.18.4', '4.19.1', '4.20.0'] },
  /** A malformed `.altinstructions` entry is refused (ENOSPC/ERANGE, `Alt for %ps, ...`) instead of BUG() (aa5a06d5d6). */
  'alternatives-refused': { since: ['4.18.4', '4.19.1', '4.20.0'] },
  /** `unable to get running Xen build-id: %d` prints 0 instead of -ENODATA (the build-id is read from a variable, a8dc4ec942). */
  'running-build-id-rc-zero': { since: ['4.21.0'] },
  /** LIST's name/metadata total sizes are IN (the caller's buffers) and OUT; overflow is ENOBUFS (4c3ce492ed). */
  'list-buffer-sizes': { since: ['4.21.0'] },
  /** `.alt_call_sites` is processed and checked (d2fd5f0fcd). */
  'alt-call-sites': { since: ['4.21.0'] },
} as const satisfies Record<string, { since: readonly string[] }>;

export type XenFeature = keyof typeof XEN_FEATURES;

/** Whether `v` has `feature`. */
export function hasXenFeature(v: XenVersion, feature: XenFeature): boolean {
  const since = XEN_FEATURES[feature].since.map((s) => parseXenVersion(s));
  const first = since[0]!;
  if (compareXenVersions({ major: v.major, minor: v.minor, patch: 0 }, { ...first, patch: 0 }) < 0) return false;
  const sameBranch = since.find((s) => s.major === v.major && s.minor === v.minor);
  if (sameBranch) return effectivePatch(v) >= sameBranch.patch!;
  const last = since[since.length - 1]!;
  // A branch between listed ones that is not listed never got it; one after the last has it.
  return v.major > last.major || (v.major === last.major && v.minor > last.minor);
}

/** Every feature of `v`, by name. */
export type XenFeatures = { readonly [F in XenFeature]: boolean };

export function xenFeatures(v: XenVersion): XenFeatures {
  return Object.fromEntries((Object.keys(XEN_FEATURES) as XenFeature[]).map((f) => [f, hasXenFeature(v, f)])) as XenFeatures;
}

/**
 * `XEN_SYSCTL_INTERFACE_VERSION` of a release's hypervisor and tools. Xen refuses every sysctl
 * (EACCES) from tools built for another value, whatever the call: 4.17 to 4.20 share 0x15, 4.21
 * moved to 0x16. Null for a release the table does not know (before 4.13, another major).
 */
export function sysctlInterfaceVersion(v: Pick<XenVersion, 'major' | 'minor'>): number | null {
  if (v.major !== 4) return null;
  if (v.minor >= 21) return 0x16;
  if (v.minor >= 17) return 0x15;
  if (v.minor === 16) return 0x14;
  if (v.minor >= 14) return 0x13;
  return v.minor === 13 ? 0x12 : null;
}

/**
 * The libxenctrl interface generation a version's library presents: the upload prototype gained
 * `bool force` in 4.19; LIST's sizes became IN/OUT in 4.21. The native addon chooses its upload
 * prototype by the generation of the library it loaded (native/xenctrl_lib.cc keeps a small table
 * of its own, which must agree with this one: test/native checks each generation).
 */
export type LibxenctrlGeneration = '4.14-4.18' | '4.19-4.20' | '4.21+';

export function libxenctrlGeneration(v: Pick<XenVersion, 'major' | 'minor'>): LibxenctrlGeneration {
  if (v.minor <= 18 && v.major === 4) return '4.14-4.18';
  if (v.minor <= 20 && v.major === 4) return '4.19-4.20';
  return '4.21+';
}

/** The generation of a release the livepatch interface model covers (4.14 on), or null (4.13 and older, another major). */
export function knownLibxenctrlGeneration(v: Pick<XenVersion, 'major' | 'minor'>): LibxenctrlGeneration | null {
  return v.major === 4 && v.minor >= OLDEST_XEN_VERSION.minor ? libxenctrlGeneration(v) : null;
}

/** The force flag (`LIVEPATCH_FLAG_FORCE`, `bool force`) exists from 4.19's generation on, in the library and in Xen. */
export function generationHasForceFlag(generation: LibxenctrlGeneration | null): boolean {
  return generation === '4.19-4.20' || generation === '4.21+';
}

/** The libxenctrl soname a version's tools ship (`libxenctrl.so.4.20`). */
export function libxenctrlSoname(v: XenVersion): string {
  return `libxenctrl.so.${v.major}.${v.minor}`;
}
