/**
 * What the native backend needs to know about Xen releases to judge the facts the addon reports:
 * which livepatch interface generation a release belongs to, and which sysctl interface version
 * it speaks. Deliberately small and local: it is to be folded into the one Xen version model
 * (lib/xen/version.ts, being written separately) once that exists, and then read from there.
 */

/** The libxenctrl interface generations (the upload prototype and LIST semantics differ). */
export type XenInterfaceGeneration = '4.14-4.18' | '4.19-4.20' | '4.21+';

export interface XenRelease {
  readonly major: number;
  readonly minor: number;
}

/** The generation of a Xen release, or null for one this build does not know (4.13-, 5.x). */
export function generationOf(release: XenRelease): XenInterfaceGeneration | null {
  if (release.major !== 4 || release.minor < 14) return null;
  if (release.minor <= 18) return '4.14-4.18';
  if (release.minor <= 20) return '4.19-4.20';
  return '4.21+';
}

/**
 * `XEN_SYSCTL_INTERFACE_VERSION` by release. Xen refuses every sysctl (EACCES) from tools built for
 * another value, whatever the call: 4.17 to 4.20 share 0x15, 4.21 moved to 0x16.
 */
export function sysctlInterfaceOf(release: XenRelease): number | null {
  if (release.major !== 4) return null;
  if (release.minor >= 21) return 0x16;
  if (release.minor >= 17) return 0x15;
  if (release.minor === 16) return 0x14;
  if (release.minor >= 14) return 0x13;
  return release.minor === 13 ? 0x12 : null;
}

/** `4.17` */
export function releaseName(release: XenRelease): string {
  return `${release.major}.${release.minor}`;
}

/** The force flag (`LIVEPATCH_FLAG_FORCE`) exists from this generation on, in the library and in Xen. */
export function hasForceFlag(generation: XenInterfaceGeneration | null): boolean {
  return generation === '4.19-4.20' || generation === '4.21+';
}
