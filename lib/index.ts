/**
 * `xen-livepatch`: Xen hypervisor live patching from Node.js.
 *
 * - `Livepatcher`: the hook-aware workflows (load, apply, revert, unload, replace, recover, stack,
 *   plans for --dry-run) on any `Backend`, with typed errors that explain themselves.
 * - `openNative()`: the backend over libxenctrl (loaded at run time; importing this module does
 *   not load the addon). `openMockBackend()`: the simulator kept in a state directory
 *   (`xen-livepatch/mock` has the rest of the simulator: `MockHypervisor`, its clock, hook scripts).
 * - `preflight()` / `readPayload()`: what the hypervisor would say about a payload, and its model.
 *
 * This list is deliberate (a test pins it): what is not here is internal and may change.
 * See docs/cli.md for the `xlp` command line built on the same API.
 *
 * @packageDocumentation
 */

// --- workflows ---------------------------------------------------------------------------------
export {
  Livepatcher,
  type ApplyOptions,
  type LivepatcherOptions,
  type LoadOptions,
  type LoadResult,
  type PayloadSource,
  type RecoverOptions,
  type RecoverResult,
  type ReplaceOptions,
  type ReplaceResult,
  type UploadOptions,
  type UploadResult,
  type WaitOptions,
} from './workflow/livepatcher.js';
export type { ActionResult } from './workflow/run-action.js';
export type { Outcome, ProgressEvent } from './workflow/progress.js';
export { formatPlan, type Plan, type PlanAction, type PlannedHook, type PlanStep } from './workflow/plan.js';
export type {
  DumpUse,
  LoadedPayload,
  OrderCertainty,
  PayloadEvidence,
  StackCertainty,
  StackEntry,
  StackPlacement,
  StackView,
} from './workflow/stack.js';
export type { StackOptions } from './workflow/read-stack.js';
export type { Journal, JournalAction, JournalStep, StepState } from './workflow/journal.js';

// --- errors ------------------------------------------------------------------------------------
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
} from './workflow/errors.js';
export { JournalCorruptError } from './workflow/journal.js';
export { StateFileError, type StateFileProblem } from './workflow/state-file.js';
export { InvalidNameError } from './workflow/names.js';
export { PrivateDirError, type PrivateDirProblem } from './fs/private-dir.js';
export { type XenCall, XenError, XenUnavailableError, type XenUnavailableReason } from './xen/errors.js';

// --- the hypervisor's domain -------------------------------------------------------------------
export {
  type BuildIdHex,
  type HookKind,
  type LivepatchAction,
  PAYLOAD_MAX_SIZE,
  type PayloadState,
  type PayloadStatus,
  VETOING_HOOK_KINDS,
  type XenVersionInfo,
} from './xen/domain.js';
export { ERRNO, type ErrnoCode, type ErrnoName, errnoCode, errnoMessage } from './xen/errno.js';
export { DEFAULT_XEN_VERSION, formatXenVersion, parseXenVersion, type XenVersion, XenVersionError, xenVersionFromHypervisor } from './xen/version.js';

// --- backends ----------------------------------------------------------------------------------
export type {
  ActionOptions as BackendActionOptions,
  Backend,
  BackendKind,
  ConsoleReadOptions,
  PayloadListEntry,
  PayloadName,
  UploadOptions as BackendUploadOptions,
} from './backend/backend.js';
export { AmbiguousNameError, NativeBackend, openNative, type NativeBackendInfo, type NativeOpenOptions, type XenInterfaceGeneration } from './native/index.js';
export { openMockBackend, type OpenMockOptions } from './mock/open.js';

// --- payloads and preflight --------------------------------------------------------------------
export {
  type CheckGroup,
  type Diagnostic,
  type LoadedPayloadInfo,
  preflight,
  type PreflightContext,
  type PreflightOptions,
  type PreflightReport,
  type Severity,
  type SymbolTable,
} from './preflight/index.js';
export { readPayload, type PayloadReadResult } from './payload/read-payload.js';
export { parseNmSymbols } from './xen/symbols.js';
export type { FuncExpectation, LivepatchFunc, Modinfo, Payload, PayloadHook, PayloadSymbol } from './payload/model.js';
