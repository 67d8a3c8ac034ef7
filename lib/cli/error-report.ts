import { XenError, XenUnavailableError } from '../xen/errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { CliErrorReport } from './output.js';
import { UsageError } from './usage-error.js';

/** Anything that knows how it should be reported by the CLI (workflow errors implement this). */
export interface ReportableError {
  cliReport(): { report: CliErrorReport; exitCode: ExitCode };
}

function isReportable(e: unknown): e is ReportableError {
  return typeof e === 'object' && e !== null && typeof (e as Partial<ReportableError>).cliReport === 'function';
}

/** Maps any thrown value to the JSON error object and the documented exit code. */
export function reportFor(error: unknown): { report: CliErrorReport; exitCode: ExitCode } {
  if (isReportable(error)) return error.cliReport();
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
