/**
 * The workflows: `Livepatcher` (load, upload, apply, revert, unload, replace, recover, stack, log,
 * and their plans), its typed errors, and the state it keeps (journal, registry).
 */
export { Livepatcher } from './livepatcher.js';
export type * from './types.js';
export { readSource } from './source.js';
export { payloadStatus, statusOf } from './status.js';
export type { ActionResult } from './run-action.js';
export type { Outcome, ProgressEvent } from './progress.js';
export { describeHook, formatPlan, type Plan, type PlanAction, type PlannedHook, type PlanStep } from './plan.js';
export type { DumpUse, LoadedPayload, OrderCertainty, PayloadEvidence, StackCertainty, StackEntry, StackPlacement, StackView } from './stack.js';
export type { StackOptions } from './read-stack.js';
export type { DebugDump, DumpedFunc, DumpedPayload } from './debug-dump.js';
export {
  interruptedJournal,
  type Journal,
  type JournalAction,
  JournalCorruptError,
  journalOrigin,
  type JournalStep,
  type StepState,
} from './journal.js';
export { PayloadRegistry, type RegistryRecord } from './registry.js';
export { StateFileError, type StateFileProblem } from './state-file.js';
export { InvalidNameError, validatePayloadName } from './names.js';
export {
  AbortedError,
  ActionFailedError,
  BusyError,
  DependencyError,
  type FailureCategory,
  HookVetoError,
  JournalPendingError,
  LockedError,
  NotLoadedError,
  NotReapplyableError,
  NotTopOfStackError,
  PayloadFileError,
  PreflightError,
  RefusedError,
  type ReplaceOffender,
  ReplaceRefusedError,
  TimeoutError,
  UploadFailedError,
  WorkflowError,
  WrongStateError,
} from './errors.js';
