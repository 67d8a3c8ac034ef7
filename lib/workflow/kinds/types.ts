import type { PayloadStatus } from '../../xen/domain.js';
import type { WorkflowError } from '../errors.js';
import type { Journal } from '../journal.js';
import type { HookInventory, PlanStep } from '../plan.js';
import type { ActionResult } from '../run-action.js';
import type { ActionRequest } from '../run-action.js';
import type { Workspace } from '../workspace.js';

/**
 * A kind of journaled workflow (`load`, `replace-sequential`, `sync`): how `xlp recover` plans and
 * carries out the completion or the rollback of one that a process left unfinished. Each kind is
 * one file in this directory, listed once in `index.ts`; the journal names its kind, and recovery
 * dispatches on it there and nowhere else.
 */
export interface WorkflowKind {
  /** The journal's `workflow` field. */
  readonly name: string;
  /**
   * `recover --complete` may finish it even after it failed and began rolling back (true for a
   * convergence like `sync`, whose rollback can be impossible); otherwise it can only be rolled back.
   */
  readonly completesAfterFailure?: boolean;
  /**
   * Why `recover --complete` cannot finish this journal, beyond what holds for every kind (a
   * journal already rolling back can only be rolled back); null when it can.
   */
  completeRefusal(ws: Workspace, journal: Journal): Promise<WorkflowError | null>;
  /** The steps recovery would take with the hypervisor as `h` describes it (`xlp recover --dry-run`). */
  planRecover(ws: Workspace, journal: Journal, mode: RecoverMode, inventory: HookInventory, h: Hypothesis): Promise<PlanStep[]>;
  /** Completes or rolls back the journal's workflow (the caller holds the host lock, and clears the journal after). */
  recover(ws: Workspace, journal: Journal, mode: RecoverMode, req: ActionRequest): Promise<ActionResult[]>;
}

/** `complete` finishes the interrupted plan; `rollback` brings back the stack as it was before it. */
export type RecoverMode = 'complete' | 'rollback';

/** The stack and the payloads' status a recovery plan is made for. */
export interface Hypothesis {
  readonly stack: readonly string[];
  readonly status: (name: string) => Promise<PayloadStatus | null>;
}
