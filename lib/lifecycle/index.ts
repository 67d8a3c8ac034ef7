/**
 * The host lifecycle: the store of installed patches and their order, `sync` (plan and run), the
 * signature policy and its trust directory, the boot sync (unit, kill switches, crash-loop guard,
 * last-sync record) and the host's status for monitoring. Above the workflows: it drives a
 * `Livepatcher`, never the backend directly.
 */
export { bootUnitState, type BootUnitState, disableBootUnit, enableBootUnit } from './boot-install.js';
export {
  BOOT_GUARD_FILE,
  type BootGuard,
  BootGuardTrippedError,
  clearBootGuard,
  type LastSync,
  readBootGuard,
  readLastSync,
  setBootGuard,
  type SyncOutcome,
  writeLastSync,
} from './boot-state.js';
export {
  BOOT_UNIT_NAME,
  BootUnitError,
  type BootUnitOptions,
  bootUnitText,
  DEFAULT_DISABLE_FILE,
  DEFAULT_SYSTEMD_DIR,
  KERNEL_DISABLE_WORD,
} from './boot-unit.js';
export { type EmbeddedSignature, embeddedSignatureOf, XEN_SIGNATURE_SECTION } from './embedded-signature.js';
export { LifecycleError, type LifecycleFailureCategory } from './errors.js';
export { type InstallOptions, type InstallOutcome, type InstallPreflight, installFiles } from './install.js';
export { dependantsOf, InstallOrderError, type InstallOrderProblem, orderPatches, stackOrder } from './install-order.js';
export { DEFAULT_CMDLINE_FILE, kernelCommandLineWords, type KillSwitchPaths, type KillSwitchState, readKillSwitch } from './kill-switch.js';
export type { InstalledPatch, Manifest } from './manifest.js';
export { readSignedPayload, type SignedPayloadFile } from './payload-signature.js';
export { hostMetrics, type HostMetricsInput } from './prometheus.js';
export { SignatureFileError, SignatureRejectedError, signaturePathFor, type SignatureVerdict, verifySignature } from './signature.js';
export { type SignatureReport, signatureReport } from './signature-report.js';
export {
  type CommitResult,
  DependedOnError,
  type InstalledBuild,
  InstalledStore,
  InstalledStoreError,
  InstallRefusedError,
  InvalidBuildIdError,
  NotInstalledError,
} from './store.js';
export { type Drift, driftOf, hasDrift, type SyncHostOptions, syncHost, type SyncReport, UnreadableInstalledCopyError } from './sync.js';
export { planSync, type SyncPlan, SyncRefusedError } from './sync-plan.js';
export {
  DEFAULT_TRUST_DIR,
  loadTrustedKeys,
  type SignatureAlgorithm,
  type TrustedKey,
  type TrustedKeySet,
  TrustDirError,
  TrustedKeyError,
} from './trusted-keys.js';
