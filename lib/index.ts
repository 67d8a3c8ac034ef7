/**
 * `xen-livepatch`: Xen hypervisor live patching from Node.js.
 *
 * - `Livepatcher`: the hook-aware workflows (load, apply, revert, unload, replace, recover, stack,
 *   plans for --dry-run) on any `Backend`, with typed errors that explain themselves.
 * - `openNative()`: the backend over libxenctrl (loaded at run time; importing this module does
 *   not load the addon). `xen-livepatch/mock` has the simulator backend.
 * - `preflight()` / `readPayload()`: what the hypervisor would say about a payload, and its model.
 *
 * See docs/cli.md for the `xlp` command line built on the same API.
 */

// --- workflows ---------------------------------------------------------------------------------
export {
  Livepatcher,
  readSource,
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
export { describeHook, formatPlan, type Plan, type PlanAction, type PlannedHook, type PlanStep } from './workflow/plan.js';
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
export type { DebugDump, DumpedFunc, DumpedPayload } from './workflow/debug-dump.js';
export type { Journal, JournalAction, JournalStep, StepState } from './workflow/journal.js';
export { JournalCorruptError } from './workflow/journal.js';
export { StateFileError, type StateFileProblem } from './workflow/state-file.js';
export { InvalidNameError, validatePayloadName } from './workflow/names.js';
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
export { PrivateDirError, type PrivateDirProblem } from './fs/private-dir.js';

// --- the hypervisor's domain -------------------------------------------------------------------
export {
  type BuildIdHex,
  DEFAULT_ACTION_TIMEOUT_NS,
  HOOK_KINDS,
  type HookKind,
  type LivepatchAction,
  PAYLOAD_MAX_SIZE,
  PAYLOAD_NAME_MAX,
  type PayloadState,
  type PayloadStatus,
  VETOING_HOOK_KINDS,
  type XenVersionInfo,
} from './xen/domain.js';
export { ERRNO, type ErrnoCode, type ErrnoName, errnoCode, errnoMessage } from './xen/errno.js';
export { type XenCall, XenError, XenUnavailableError, type XenUnavailableReason } from './xen/errors.js';
export {
  compareXenVersions,
  DEFAULT_XEN_VERSION,
  formatXenVersion,
  hasXenFeature,
  HEAD_XEN_VERSION,
  KNOWN_XEN_BRANCHES,
  libxenctrlGeneration,
  libxenctrlSoname,
  parseXenVersion,
  sysctlInterfaceVersion,
  XEN_FEATURES,
  type XenFeature,
  type XenFeatures,
  xenFeatures,
  XenVersionError,
  xenVersionFromHypervisor,
} from './xen/version.js';

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
  type XenVersion,
} from './preflight/index.js';
export { readPayload, type PayloadReadResult } from './payload/read-payload.js';
export { parseNmSymbols } from './xen/symbols.js';
export { loadedPayloadInfo } from './payload/index.js';
export type { FuncExpectation, LivepatchFunc, Modinfo, Payload, PayloadHook, PayloadSymbol } from './payload/model.js';
