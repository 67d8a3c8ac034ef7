import type { LivepatchAction, PayloadStatus, XenVersionInfo } from '../xen/domain.js';

/** Which implementation stands behind a `Backend`. */
export type BackendKind = 'native' | 'mock';

/**
 * A payload name: text (sent to Xen as UTF-8), or the exact bytes Xen holds. Xen does not require
 * names to be UTF-8; a name that is not can only be reached by its bytes (`PayloadListEntry.nameBytes`).
 */
export type PayloadName = string | Uint8Array;

/** One LIST entry: the payload's status, name and its raw `.modinfo` bytes (NULs included). */
export interface PayloadListEntry extends PayloadStatus {
  /** The name decoded as UTF-8; bytes that are not UTF-8 become U+FFFD, so two names can read alike. */
  readonly name: string;
  /** The name's exact bytes, when the backend has them (the native backend always does). */
  readonly nameBytes?: Uint8Array;
  readonly metadata: Uint8Array;
}

export interface UploadOptions {
  /** `LIVEPATCH_FLAG_FORCE` (Xen 4.19+); Xen accepts it but nothing in the hypervisor consumes it. */
  readonly force?: boolean;
}

export interface ActionOptions {
  /** The hypervisor-side timeout of the quiesce, in ns (u32); 0 or absent means Xen's default, 30 ms. */
  readonly timeoutNs?: number;
  /** `LIVEPATCH_ACTION_APPLY_NODEPS`: APPLY skips the build-id dependency check. */
  readonly nodeps?: boolean;
}

export interface ConsoleReadOptions {
  /** Return only what was written since this handle's previous incremental read. */
  readonly incremental?: boolean;
}

/**
 * The livepatch sysctls with the hypervisor's raw semantics, implemented by the native addon and by
 * the mock. Every refusal rejects with a `XenError` carrying the errno the hypervisor returned.
 * Actions are asynchronous as in Xen: `action()` resolving means the work was *scheduled* (or the
 * hypervisor silently did nothing); the outcome is read with `get()`, whose `rc` stays `-EAGAIN`
 * while the work is pending.
 */
export interface Backend {
  readonly kind: BackendKind;
  xenVersion(): Promise<XenVersionInfo>;
  upload(name: PayloadName, payload: Uint8Array, options?: UploadOptions): Promise<void>;
  get(name: PayloadName): Promise<PayloadStatus>;
  /** Every payload in upload order, consistent even if the list changes while it is read. */
  list(): Promise<PayloadListEntry[]>;
  action(name: PayloadName, action: LivepatchAction, options?: ActionOptions): Promise<void>;
  /** The hypervisor console ring (`xc_readconsolering`). */
  readConsole(options?: ConsoleReadOptions): Promise<string>;
  /**
   * `xc_send_debug_keys`; key `x` dumps every payload's build-id and dependencies to the console.
   * At most `DEBUG_KEYS_MAX` (64) keys per call.
   */
  sendDebugKeys(keys: string): Promise<void>;
  close(): Promise<void>;
}
