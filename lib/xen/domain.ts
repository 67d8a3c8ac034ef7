/**
 * The livepatch domain as the hypervisor defines it (xen/include/public/sysctl.h and
 * xen/common/livepatch.c). Names follow Xen's own where Xen has one.
 */

/** A payload's state. Xen has exactly two; an unloaded payload simply does not exist (GET: ENOENT). */
export type PayloadState = 'CHECKED' | 'APPLIED';
export const PAYLOAD_STATE_CODE: Readonly<Record<PayloadState, number>> = { CHECKED: 1, APPLIED: 2 };

/**
 * `{state, rc}` as GET reports it. `rc` is 0 or a negative errno; `-EAGAIN` means an action is
 * still pending, `-EBUSY` that the last one timed out, anything else is the last action's (or
 * vetoing hook's) result.
 */
export interface PayloadStatus {
  readonly state: PayloadState;
  readonly rc: number;
}

/** The ACTION sub-op's commands, with their sysctl values. */
export type LivepatchAction = 'UNLOAD' | 'REVERT' | 'APPLY' | 'REPLACE';
export const LIVEPATCH_ACTION_CODE: Readonly<Record<LivepatchAction, number>> = {
  UNLOAD: 1,
  REVERT: 2,
  APPLY: 3,
  REPLACE: 4,
};

/** `LIVEPATCH_ACTION_APPLY_NODEPS`: skip the build-id dependency check on APPLY. */
export const LIVEPATCH_ACTION_APPLY_NODEPS = 1 << 0;

/**
 * Hook kinds, named after their sections (`.livepatch.hooks.<kind>`).
 * - `load`/`unload`: arrays of `void(void)`, run inside the quiesced apply/revert.
 * - `preapply`/`prerevert`: vetoing, `int(payload*)`, run synchronously in the hypercall.
 * - `postapply`/`postrevert`: `void(payload*)`, run after the action, even when it failed.
 * - `apply`/`revert`: action hooks, replacing Xen's own apply/revert of the functions.
 */
export type HookKind =
  | 'load'
  | 'unload'
  | 'preapply'
  | 'postapply'
  | 'prerevert'
  | 'postrevert'
  | 'apply'
  | 'revert';

export const HOOK_KINDS: readonly HookKind[] = [
  'load',
  'unload',
  'preapply',
  'postapply',
  'prerevert',
  'postrevert',
  'apply',
  'revert',
];

/** The pre/post hooks. Any of them makes REPLACE fail with EOPNOTSUPP (Xen refuses to replace them). */
export const VETOING_HOOK_KINDS: readonly HookKind[] = ['preapply', 'postapply', 'prerevert', 'postrevert'];

/** Hook sections holding an array of pointers; every other hook section holds exactly one. */
export const MULTI_HOOK_KINDS: readonly HookKind[] = ['load', 'unload'];

export function hookSectionName(kind: HookKind): string {
  return `.livepatch.hooks.${kind}`;
}

/** `XEN_LIVEPATCH_NAME_SIZE` is 128 including the NUL. */
export const PAYLOAD_NAME_MAX = 127;
/** `LIVEPATCH_MAX_SIZE`: UPLOAD refuses larger payloads with EINVAL. */
export const PAYLOAD_MAX_SIZE = 2 * 1024 * 1024;
/** LIST refuses a page of more than this many entries with E2BIG. */
export const LIST_PAGE_MAX = 1024;
/** The hypervisor's action timeout when the caller passes 0: 30 ms. */
export const DEFAULT_ACTION_TIMEOUT_NS = 30_000_000;
/** The action timeout is a u32 of nanoseconds. */
export const MAX_ACTION_TIMEOUT_NS = 0xffff_ffff;

/** A build-id as lowercase hex, the form `readelf -n` and Xen's `x` debug key print. */
export type BuildIdHex = string;

/**
 * A build-id as it is typed (hex, either case, an optional `0x`, spaces around) in its canonical
 * form, or null when it is not 1 to 64 whole bytes (GNU ld's ids are 20; 64 leaves room for any hash).
 */
export function parseBuildIdHex(text: string): BuildIdHex | null {
  const hex = text.trim().toLowerCase().replace(/^0x/, '');
  return /^(?:[0-9a-f]{2}){1,64}$/.test(hex) ? hex : null;
}

/** A payload already uploaded to the hypervisor, as far as later uploads' checks care. */
export interface LoadedPayloadInfo {
  readonly name: string;
  readonly buildId: BuildIdHex | null;
  /** Symbols it added to the hypervisor's symbol table (its non-`new_addr` ALLOC symbols). */
  readonly symbols: readonly string[];
}

/** The hypervisor's identity, as `xen_version` reports it. */
export interface XenVersionInfo {
  readonly major: number;
  readonly minor: number;
  /** `XENVER_extraversion`, e.g. `.7` (a patched `xen_extra_version` changes it). */
  readonly extra: string;
  /** `XENVER_build_id`, or null when the hypervisor was built without one. */
  readonly buildId: BuildIdHex | null;
}

/**
 * Stands in a predicted console line (preflight's `Diagnostic.console`) for an address Xen prints
 * with `%p` that only exists at run time; the mock prints an address of its own there.
 */
export const CONSOLE_ADDR = '<addr>';
