import type { Backend } from '../backend/backend.js';
import type { PreflightReport, SymbolTable } from '../preflight/types.js';
import type { Journal } from './journal.js';
import type { ActionResult } from './run-action.js';

/** Options and results of the Livepatcher's workflows. */

export interface LivepatcherOptions {
  readonly backend: Backend;
  /** Host lock, journal and payload registry live here (created 0700). */
  readonly stateDir: string;
  /** How long to wait for another workflow's host lock (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** How long to wait for an action to complete (default 30 s). */
  readonly waitTimeoutMs?: number;
  /**
   * How long an undo (the rollback of a failed or interrupted workflow) waits at least for an
   * action still pending in the hypervisor before it leaves the rest to `recover` (default 10 s,
   * more than Xen's longest quiesce timeout).
   */
  readonly settleTimeoutMs?: number;
  /** The hypervisor's symbol table for preflight's undefined-symbol checks, when one is available. */
  readonly xenSymbols?: () => Promise<SymbolTable | undefined>;
  /**
   * false: open only to read, creating nothing: a state directory that does not exist reads as
   * empty (no registry, journal or installed patches); one that exists is still checked. Default
   * true: created (0700) if missing.
   */
  readonly createStateDir?: boolean;
}

export interface WaitOptions {
  /** How long to wait for the hypervisor to complete an action, in ms (default: the Livepatcher's, 30 s). */
  readonly timeout?: number;
  /** The hypervisor's own quiesce (CPU rendezvous) timeout in ns, passed to the hypercall (Xen's default, 30 ms, when absent). */
  readonly quiesceTimeoutNs?: number;
  /** Cancels the workflow: before it starts, while it waits for the host lock or for the hypervisor. */
  readonly signal?: AbortSignal;
}

export interface ApplyOptions extends WaitOptions {
  readonly nodeps?: boolean;
}

export interface LoadOptions extends ApplyOptions {
  /** Payload name; default: the file's basename without its last extension, as the C tool does. */
  readonly name?: string;
  /** Upload despite preflight errors (never despite a fatal finding). */
  readonly force?: boolean;
  /** Leave the payload uploaded when the apply fails. */
  readonly keep?: boolean;
}

export interface UploadOptions {
  /** Upload despite preflight errors (never despite a fatal finding). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface ReplaceOptions extends WaitOptions {
  /** Revert the stack top-first, then apply, instead of Xen's atomic REPLACE. */
  readonly sequential?: boolean;
  /** Sequential: go ahead even when a reverted payload could not be restored on failure. */
  readonly force?: boolean;
  /** Sequential: apply the new payload with NODEPS. */
  readonly nodeps?: boolean;
}

export interface RecoverOptions extends WaitOptions {
  /** Finish the interrupted plan instead of rolling it back. */
  readonly complete?: boolean;
}

export interface UploadResult {
  readonly payload: string;
  readonly outcome: 'done';
  readonly bytes: number;
  readonly report: PreflightReport;
}

export interface LoadResult {
  readonly payload: string;
  readonly upload: UploadResult;
  readonly apply: ActionResult;
}

export interface ReplaceResult {
  readonly payload: string;
  readonly sequential: boolean;
  /** Every action taken, in order (one `nothing-to-do` entry when the payload already is the stack). */
  readonly steps: readonly ActionResult[];
}

export interface RecoverResult {
  readonly journal: Journal | null;
  readonly mode: 'rollback' | 'complete' | 'none';
  readonly steps: readonly ActionResult[];
}

/** A payload given as a file path or as its bytes. */
export type PayloadSource = string | Uint8Array;
