import { LockTimeoutError } from '../fs/index.js';
import { PrivateDirError } from '../fs/index.js';
import { PrivateFileError } from '../fs/index.js';
import { MockConfigError, MockPanicError, MockStateError } from '../mock/index.js';
import { WorkflowError, type FailureCategory } from '../workflow/index.js';
import { StateFileError } from '../workflow/index.js';
import { errnoCode } from '../xen/index.js';
import { XenError, XenUnavailableError } from '../xen/index.js';
import type { ErrorKind } from './error-kinds.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { CliErrorReport } from './output.js';
import { UsageError } from './usage-error.js';

const EXIT_FOR: Readonly<Record<FailureCategory, ExitCode>> = {
  vetoed: EXIT.VETOED,
  busy: EXIT.BUSY,
  preflight: EXIT.PREFLIGHT,
  usage: EXIT.USAGE,
  failed: EXIT.FAILED,
};

/** The exit code of a workflow failure category (also used for --dry-run refusals). */
export function exitCodeFor(category: string): ExitCode {
  return EXIT_FOR[category as FailureCategory] ?? EXIT.FAILED;
}

function report(kind: ErrorKind, fields: { readonly code: string; readonly message: string; readonly [extra: string]: unknown }): CliErrorReport {
  return { ...fields, kind };
}

/** Maps any thrown value to the JSON error object (with its `kind`) and the documented exit code. */
export function reportFor(error: unknown): { report: CliErrorReport; exitCode: ExitCode } {
  if (error instanceof WorkflowError) {
    const r = { ...error.toJSON(), details: error.details() } as unknown as CliErrorReport;
    return { report: r, exitCode: EXIT_FOR[error.category] };
  }
  if (error instanceof UsageError) return { report: report('UsageError', { code: 'USAGE', message: error.message }), exitCode: EXIT.USAGE };
  if (error instanceof XenUnavailableError) {
    return {
      report: report('XenUnavailableError', { code: error.code, ...(error.errno === undefined ? {} : { errno: error.errno }), reason: error.reason, message: error.message }),
      exitCode: EXIT.XEN_UNAVAILABLE,
    };
  }
  if (error instanceof XenError) {
    const retryable = error.code === 'EBUSY' || error.code === 'EAGAIN';
    return {
      report: report('XenError', { code: error.code, errno: error.errno, message: error.message, call: error.call, ...(error.payload === undefined ? {} : { payload: error.payload }) }),
      exitCode: retryable ? EXIT.BUSY : EXIT.FAILED,
    };
  }
  if (error instanceof MockStateError) {
    // No simulator there yet is "no hypervisor to talk to", as a missing Xen is.
    return {
      report: report('MockStateError', { code: error.code, message: error.message, problem: error.problem, path: error.path }),
      exitCode: error.problem === 'not-initialized' ? EXIT.XEN_UNAVAILABLE : EXIT.FAILED,
    };
  }
  if (error instanceof MockPanicError) return { report: report('MockPanicError', { code: error.code, message: error.message, reason: error.reason }), exitCode: EXIT.FAILED };
  if (error instanceof MockConfigError) return { report: report('MockConfigError', { code: error.code, message: error.message }), exitCode: EXIT.USAGE };
  if (error instanceof StateFileError) {
    const kind = error.name === 'JournalCorruptError' ? 'JournalCorruptError' : 'StateFileError';
    return { report: report(kind, { code: error.code, message: error.message, file: error.file, problem: error.problem }), exitCode: EXIT.FAILED };
  }
  if (error instanceof PrivateDirError) return { report: report('PrivateDirError', { code: error.code, message: error.message, path: error.path, problem: error.problem }), exitCode: EXIT.FAILED };
  if (error instanceof PrivateFileError) {
    return { report: report('StateFileError', { code: 'ESTATEFILE', message: error.message, file: error.path, problem: error.problem === 'too-large' || error.problem === 'unreadable' ? 'damaged' : 'unsafe' }), exitCode: EXIT.FAILED };
  }
  if (error instanceof LockTimeoutError) {
    const h = error.holder;
    return {
      report: report('LockTimeoutError', {
        code: error.code,
        message: error.message,
        lock: error.path,
        holder: h ? { pid: h.pid, hostname: h.hostname, purpose: h.purpose, acquiredAt: h.acquiredAt } : null,
        waitedMs: error.waitedMs,
      }),
      exitCode: EXIT.BUSY,
    };
  }
  // Anything else is either the system refusing (an errno: permission denied, no space left) or a bug.
  const e = error instanceof Error ? error : new Error(String(error));
  const ne = e as NodeJS.ErrnoException;
  const errno = typeof ne.errno === 'number' && ne.errno !== 0 ? Math.abs(ne.errno) : undefined;
  const code = typeof ne.code === 'string' ? ne.code : errno !== undefined ? errnoCode(errno) : 'ERROR';
  return { report: report('InternalError', { code, ...(errno === undefined ? {} : { errno }), message: e.message }), exitCode: EXIT.FAILED };
}
