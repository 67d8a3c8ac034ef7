import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * Every kind of error `xlp` reports, with its `code`, exit code and the fields its JSON error adds:
 * the one table docs/cli.md shows (a test keeps the two equal) and the JSON schema pins. The code
 * `errno` stands for an errno name (EINVAL, EBUSY, ...), `ERROR` for an internal error without
 * one; the workflow kinds also carry `console` and `details` (and `payload`, `notes` when known).
 */
export const ERROR_KINDS = {
  UsageError: { code: ['USAGE'], exit: [EXIT.USAGE], fields: [] },
  InvalidNameError: { code: ['EINVAL'], exit: [EXIT.USAGE], fields: [] },
  PayloadFileError: { code: ['errno'], exit: [EXIT.USAGE], fields: ['file'] },
  XenUnavailableError: { code: ['ENOLIB', 'errno'], exit: [EXIT.XEN_UNAVAILABLE], fields: ['reason'] },
  MockStateError: { code: ['EMOCKSTATE'], exit: [EXIT.XEN_UNAVAILABLE, EXIT.FAILED], fields: ['problem', 'path'] },
  HookVetoError: { code: ['errno'], exit: [EXIT.VETOED], fields: ['hook', 'rc'] },
  DependencyError: { code: ['errno'], exit: [EXIT.FAILED], fields: ['dependsOn', 'against', 'againstBuildId'] },
  NotTopOfStackError: { code: ['EBUSY'], exit: [EXIT.FAILED], fields: ['top'] },
  BusyError: { code: ['EBUSY'], exit: [EXIT.BUSY], fields: [] },
  TimeoutError: { code: ['EBUSY', 'ETIME'], exit: [EXIT.BUSY], fields: ['where'] },
  PreflightError: { code: ['PREFLIGHT'], exit: [EXIT.PREFLIGHT], fields: ['fatal', 'diagnostics'] },
  ReplaceRefusedError: { code: ['EOPNOTSUPP'], exit: [EXIT.FAILED], fields: ['offenders', 'beforeHypercall'] },
  ActionFailedError: { code: ['errno'], exit: [EXIT.FAILED], fields: ['action'] },
  NotReapplyableError: { code: ['errno'], exit: [EXIT.FAILED], fields: ['action'] },
  WrongStateError: { code: ['errno'], exit: [EXIT.FAILED], fields: [] },
  NotLoadedError: { code: ['ENOENT'], exit: [EXIT.FAILED], fields: [] },
  UploadFailedError: { code: ['errno'], exit: [EXIT.FAILED, EXIT.BUSY], fields: [] },
  LockedError: { code: ['LOCKED'], exit: [EXIT.BUSY], fields: ['holder', 'lock', 'waitedMs'] },
  JournalPendingError: { code: ['JOURNAL'], exit: [EXIT.FAILED], fields: ['command', 'journal'] },
  RefusedError: { code: ['REFUSED'], exit: [EXIT.FAILED], fields: [] },
  AbortedError: { code: ['ABORTED'], exit: [EXIT.FAILED], fields: [] },
  XenError: { code: ['errno'], exit: [EXIT.FAILED, EXIT.BUSY], fields: ['call'] },
  MockPanicError: { code: ['EMOCKPANIC'], exit: [EXIT.FAILED], fields: ['reason'] },
  MockConfigError: { code: ['EMOCKCONFIG'], exit: [EXIT.USAGE], fields: [] },
  JournalCorruptError: { code: ['EJOURNAL'], exit: [EXIT.FAILED], fields: ['file', 'problem'] },
  StateFileError: { code: ['ESTATEFILE'], exit: [EXIT.FAILED], fields: ['file', 'problem'] },
  PrivateDirError: { code: ['EPRIVATEDIR'], exit: [EXIT.FAILED], fields: ['path', 'problem'] },
  LockTimeoutError: { code: ['ELOCKTIMEOUT'], exit: [EXIT.BUSY], fields: ['lock', 'holder', 'waitedMs'] },
  InstallRefusedError: { code: ['EINSTALL'], exit: [EXIT.FAILED, EXIT.USAGE], fields: ['payload', 'problem'] },
  InstallOrderError: { code: ['EORDER'], exit: [EXIT.FAILED], fields: ['problem', 'payloads'] },
  InvalidBuildIdError: { code: ['EINVAL'], exit: [EXIT.USAGE], fields: [] },
  NotInstalledError: { code: ['ENOTINSTALLED'], exit: [EXIT.FAILED], fields: ['payload', 'xenBuildId'] },
  DependedOnError: { code: ['EDEPENDED'], exit: [EXIT.FAILED], fields: ['payload', 'dependants'] },
  UnreadableInstalledCopyError: { code: ['EINSTALLED'], exit: [EXIT.FAILED], fields: ['payload', 'file'] },
  SignatureRejectedError: { code: ['ESIGNATURE'], exit: [EXIT.FAILED], fields: ['file', 'problem', 'signatureFile'] },
  SignatureFileError: { code: ['ESIGFILE'], exit: [EXIT.FAILED], fields: ['file', 'problem'] },
  TrustDirError: { code: ['ETRUSTDIR'], exit: [EXIT.FAILED], fields: ['file', 'problem'] },
  TrustedKeyError: { code: ['ETRUSTEDKEY'], exit: [EXIT.FAILED], fields: ['file', 'problem'] },
  SyncRefusedError: { code: ['ESYNC'], exit: [EXIT.FAILED, EXIT.USAGE], fields: ['problem', 'payloads'] },
  BootGuardTrippedError: { code: ['EBOOTGUARD'], exit: [EXIT.FAILED], fields: ['file', 'since'] },
  BootUnitError: { code: ['EBOOTUNIT'], exit: [EXIT.USAGE], fields: [] },
  InternalError: { code: ['errno', 'ERROR'], exit: [EXIT.FAILED], fields: [] },
} as const satisfies Record<string, { code: readonly string[]; exit: readonly ExitCode[]; fields: readonly string[]; workflow?: boolean }>;

/** The kinds that are workflow errors: they also carry `console` and `details` (and `payload`, `notes` when known). */
export const WORKFLOW_ERROR_KINDS: readonly ErrorKind[] = [
  'InvalidNameError',
  'PayloadFileError',
  'HookVetoError',
  'DependencyError',
  'NotTopOfStackError',
  'BusyError',
  'TimeoutError',
  'PreflightError',
  'ReplaceRefusedError',
  'ActionFailedError',
  'NotReapplyableError',
  'WrongStateError',
  'NotLoadedError',
  'UploadFailedError',
  'LockedError',
  'JournalPendingError',
  'RefusedError',
  'AbortedError',
];

export type ErrorKind = keyof typeof ERROR_KINDS;
