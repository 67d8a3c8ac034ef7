import type { XenVersion } from './types.js';

/** The hypervisor preflight imitates by default: Debian's Xen 4.17.7, verified under QEMU. */
export const DEFAULT_XEN_VERSION: XenVersion = { major: 4, minor: 17 };
/** What `head` stands for: the newest release whose livepatch code matches Xen's master branch. */
export const HEAD_XEN_VERSION: XenVersion = { major: 4, minor: 22 };
/** The oldest supported: 4.14 introduced payload version 2, the hooks and xen_depends. */
export const OLDEST_XEN_VERSION: XenVersion = { major: 4, minor: 14 };

/**
 * Which of Xen's livepatch loaders to imitate. Versions differ only where the code changed:
 * - 4.20 (fa49f4be41, 3a28da8f4d, 86d09d16dd, 8c81423038, aa5a06d5d6): the Xen build-id check runs
 *   right after the ELF checks; the special-sections check no longer covers xen_depends; build-id
 *   parse errors keep their errno (ENODATA); unloaded sections keep a pointer into the (freed)
 *   upload buffer instead of NULL; bad alternatives are refused instead of BUG()ing.
 * - 4.21 (d2fd5f0fcd): `.alt_call_sites` is checked.
 */
export interface XenFlavor {
  readonly version: XenVersion;
  readonly buildIdCheckFirst: boolean;
  readonly specialSectionsIncludeXenDepends: boolean;
  readonly rawBuildIdErrno: boolean;
  readonly unloadedSectionsKeepFileAddress: boolean;
  readonly alternativesBug: boolean;
  readonly altCallSites: boolean;
}

const atLeast = (v: XenVersion, major: number, minor: number): boolean => v.major > major || (v.major === major && v.minor >= minor);

export function xenFlavor(version: XenVersion = DEFAULT_XEN_VERSION): XenFlavor {
  const v420 = atLeast(version, 4, 20);
  return {
    version,
    buildIdCheckFirst: v420,
    specialSectionsIncludeXenDepends: !v420,
    rawBuildIdErrno: v420,
    unloadedSectionsKeepFileAddress: v420,
    alternativesBug: !v420,
    altCallSites: atLeast(version, 4, 21),
  };
}

/**
 * Parses `4.17`, `4.17.7` (the patch level does not matter to the loader) or `head`. Throws a
 * RangeError for anything else or older than 4.14.
 */
export function parseXenVersion(text: string): XenVersion {
  const t = text.trim().toLowerCase();
  if (t === 'head' || t === 'master') return HEAD_XEN_VERSION;
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(t);
  if (!m) throw new RangeError(`not a Xen version: ${JSON.stringify(text)} (expected e.g. 4.17 or head)`);
  const v = { major: Number(m[1]), minor: Number(m[2]) };
  if (!atLeast(v, OLDEST_XEN_VERSION.major, OLDEST_XEN_VERSION.minor)) {
    throw new RangeError(`Xen ${v.major}.${v.minor} is not supported: preflight knows Xen 4.14 and later (payload version 2)`);
  }
  return v;
}

export function formatXenVersion(v: XenVersion): string {
  return `${v.major}.${v.minor}`;
}
