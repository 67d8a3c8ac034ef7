import { type ErrnoCode, errnoCode, errnoMessage } from './errno.js';

/** The backend calls, named as the sysctl sub-ops and libxenctrl functions they stand for. */
export type XenCall =
  'open' | 'close' | 'xenVersion' | 'upload' | 'get' | 'list' | 'apply' | 'revert' | 'unload' | 'replace' | 'readConsole' | 'sendDebugKeys';

/**
 * A call the hypervisor (or libxenctrl, or the mock) refused. `errno` is positive, as libxenctrl
 * sets it; `code` is its name. `payload` is the payload the call was about, when there was one.
 */
export class XenError extends Error {
  override readonly name: string = 'XenError';
  readonly errno: number;
  readonly code: ErrnoCode;
  readonly call: XenCall;
  readonly payload: string | undefined;

  constructor(call: XenCall, errno: number, payload?: string, message?: string) {
    const n = Math.abs(errno);
    super(message ?? XenError.describe(call, n, payload));
    this.errno = n;
    this.code = errnoCode(n);
    this.call = call;
    this.payload = payload;
  }

  static describe(call: XenCall, errno: number, payload?: string): string {
    const what = payload === undefined ? call : `${call} ${JSON.stringify(payload)}`;
    return `${what} failed: ${errnoMessage(errno)} (${errnoCode(errno)}, errno ${errno})`;
  }
}

/** Why the hypervisor interface cannot be opened. */
export type XenUnavailableReason =
  /** No libxenctrl could be loaded (none installed, or a broken file). */
  | 'library-not-found'
  /** The library loaded but `/dev/xen/privcmd` is missing: this is not a Xen dom0. */
  | 'not-xen'
  /** `/dev/xen/privcmd` exists but may not be opened: not root. */
  | 'permission-denied'
  /** libxenctrl speaks an interface generation this build does not know. */
  | 'unsupported-version'
  /** Anything else `xc_interface_open` failed with. */
  | 'open-failed';

export class XenUnavailableError extends Error {
  override readonly name: string = 'XenUnavailableError';
  readonly reason: XenUnavailableReason;
  /** The errno behind the failure, when there was one (ENOENT for a missing privcmd, ...). */
  readonly errno: number | undefined;
  readonly code: ErrnoCode | 'ENOLIB';
  /** Every library path tried, for `library-not-found`. */
  readonly tried: readonly string[];

  constructor(reason: XenUnavailableReason, message: string, options: { errno?: number; tried?: readonly string[] } = {}) {
    super(message);
    this.reason = reason;
    this.errno = options.errno;
    this.code = options.errno === undefined ? 'ENOLIB' : errnoCode(options.errno);
    this.tried = options.tried ?? [];
  }
}
