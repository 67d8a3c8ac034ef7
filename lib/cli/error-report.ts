import { WorkflowError, type FailureCategory } from '../workflow/errors.js';
import { XenError, XenUnavailableError } from '../xen/errors.js';
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

/** Maps any thrown value to the JSON error object and the documented exit code. */
export function reportFor(error: unknown): { report: CliErrorReport; exitCode: ExitCode } {
  if (error instanceof WorkflowError) {
    const report = { ...error.toJSON(), details: error.details() } as unknown as CliErrorReport;
    return { report, exitCode: EXIT_FOR[error.category] };
  }
  if (error instanceof UsageError) return { report: { code: 'USAGE', message: error.message }, exitCode: EXIT.USAGE };
  if (error instanceof XenUnavailableError) {
    return {
      report: { code: error.code, ...(error.errno === undefined ? {} : { errno: error.errno }), reason: error.reason, message: error.message },
      exitCode: EXIT.XEN_UNAVAILABLE,
    };
  }
  if (error instanceof XenError) {
    const retryable = error.code === 'EBUSY' || error.code === 'EAGAIN';
    return {
      report: {
        code: error.code,
        errno: error.errno,
        message: error.message,
        call: error.call,
        ...(error.payload === undefined ? {} : { payload: error.payload }),
      },
      exitCode: retryable ? EXIT.BUSY : EXIT.FAILED,
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const code = typeof (e as NodeJS.ErrnoException).code === 'string' ? String((e as NodeJS.ErrnoException).code) : 'ERROR';
  return { report: { code, message: e.message }, exitCode: EXIT.FAILED };
}
