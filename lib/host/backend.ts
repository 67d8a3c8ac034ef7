/**
 * Which backend this machine gets: the native addon over libxenctrl on a Xen dom0, the simulator
 * anywhere without Xen, and neither, silently, on a machine that runs on Xen but cannot reach it.
 */
import type { Backend } from '../backend/backend.js';
import { ERRNO } from '../xen/errno.js';
import { XenUnavailableError } from '../xen/errors.js';
import { PRIVCMD_PATH, xenHostKind } from './dom0.js';

/** The two implementations of `Backend`. */
export type BackendChoice = 'native' | 'mock';

/**
 * The backend for this machine when none is asked for: native on a dom0, the simulator where there
 * is no Xen (`implied`: say so to the user). A machine that runs on Xen without privcmd is never
 * given the simulator silently: that is a broken dom0 (or a guest); it throws XenUnavailableError.
 */
export function hostBackendChoice(): { kind: BackendChoice; implied: boolean } {
  const host = xenHostKind();
  if (host === 'dom0') return { kind: 'native', implied: false };
  if (host === 'on-xen') {
    throw new XenUnavailableError(
      'not-xen',
      `this machine runs on Xen but ${PRIVCMD_PATH} is missing (not a dom0, or the privcmd driver is not loaded); ` +
        'xlp does not fall back to the simulator here: pass --backend mock (or XLP_BACKEND=mock) to use it',
      { errno: ERRNO.ENOENT },
    );
  }
  return { kind: 'mock', implied: true };
}

/**
 * The native backend: imported only when needed, so a command on the mock never loads the addon
 * or libxenctrl. A literal path, so the bundled CLI carries it inside (scripts/build-cli.mjs)
 * instead of setting up Node's ES module loader and opening dist/native's module files at run
 * time, each a cost at every start on a dom0. A build whose native module cannot be loaded
 * reports the hypervisor unavailable.
 */
export async function openNativeBackend(): Promise<Backend> {
  let mod: { openNative?: () => Promise<Backend> | Backend };
  try {
    mod = (await import('../native/index.js')) as typeof mod;
  } catch (e) {
    throw new XenUnavailableError('library-not-found', `the native backend is not part of this build (${(e as Error).message})`);
  }
  if (typeof mod.openNative !== 'function') throw new XenUnavailableError('library-not-found', 'the native backend has no openNative()');
  return await mod.openNative();
}
