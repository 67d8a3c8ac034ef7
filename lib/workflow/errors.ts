import { XenError } from '../xen/errors.js';
import type { Diagnostic } from '../preflight/types.js';
import { type ErrnoCode, errnoCode, errnoMessage } from '../xen/errno.js';
import type { BuildIdHex, HookKind, LivepatchAction } from '../xen/domain.js';

/**
 * How a failure should be treated by callers: `vetoed` (a hook said no), `busy` (retrying may
 * succeed), `preflight` (the payload is wrong; nothing was uploaded), `usage` (a bad argument,
 * such as an invalid payload name), `failed` (anything else). The CLI maps these to its exit codes.
 */
export type FailureCategory = 'vetoed' | 'busy' | 'preflight' | 'usage' | 'failed';

/**
 * Workflow errors say what went wrong in the hypervisor's terms (errno, payload, hook) and in a
 * sentence an operator can act on. Each carries the console lines the hypervisor printed about the
 * payload while the operation ran, because Xen explains itself only there.
 */
export abstract class WorkflowError extends Error {
  abstract readonly code: ErrnoCode | 'PREFLIGHT' | 'LOCKED' | 'JOURNAL' | 'ABORTED' | 'REFUSED';
  abstract readonly category: FailureCategory;
  readonly payload: string | undefined;
  readonly errno: number | undefined;
  /** The hypervisor's console lines about this payload during the operation, as printed. */
  readonly consoleLines: readonly string[];
  /** What the workflow did about the failure (rolled back, left for `xlp recover`, ...). */
  readonly notes: string[] = [];

  constructor(message: string, options: { payload?: string; errno?: number; consoleLines?: readonly string[] } = {}) {
    super(message);
    this.payload = options.payload;
    this.errno = options.errno === undefined ? undefined : Math.abs(options.errno);
    this.consoleLines = options.consoleLines ?? [];
  }

  /** Fields of the JSON error object beyond code/errno/message/payload. */
  protected extra(): Record<string, unknown> {
    return {};
  }

  /** Lines worth showing under the message (the console lines, by default). */
  details(): string[] {
    return [...this.notes, ...this.consoleLines.map((l) => `console: ${l}`)];
  }

  /** The error as the JSON `error` object of the CLI's schema. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      ...(this.errno === undefined ? {} : { errno: this.errno }),
      message: this.message,
      ...(this.payload === undefined ? {} : { payload: this.payload }),
      kind: this.name,
      ...this.extra(),
      console: this.consoleLines,
      ...(this.notes.length ? { notes: this.notes } : {}),
    };
  }
}

/** A vetoing hook (pre-apply or pre-revert) refused the action. */
export class HookVetoError extends WorkflowError {
  override readonly name = 'HookVetoError';
  readonly code: ErrnoCode;
  readonly category = 'vetoed' as const;
  readonly hook: 'preapply' | 'prerevert';
  /** The hook's return value, as Xen reports it (negative). */
  readonly rc: number;

  constructor(payload: string, hook: 'preapply' | 'prerevert', rc: number, consoleLines: readonly string[]) {
    const action = hook === 'preapply' ? 'apply' : 'revert';
    super(
      `the ${hook === 'preapply' ? 'pre-apply' : 'pre-revert'} hook of ${JSON.stringify(payload)} vetoed the ${action}: ` +
        `it returned ${rc} (${errnoCode(rc)}: ${errnoMessage(rc)}); the payload is unchanged`,
      { payload, errno: rc, consoleLines },
    );
    this.code = errnoCode(rc);
    this.hook = hook;
    this.rc = rc;
  }

  protected override extra(): Record<string, unknown> {
    return { hook: this.hook, rc: this.rc };
  }
}

/** APPLY refused because the payload's `.livepatch.depends` is not the top of the applied stack. */
export class DependencyError extends WorkflowError {
  override readonly name = 'DependencyError';
  readonly code: ErrnoCode;
  readonly category = 'failed' as const;
  readonly dependsOn: BuildIdHex | null;
  /** What it was checked against: `hypervisor` for an empty stack, else the top payload's name. */
  readonly against: string;
  readonly againstBuildId: BuildIdHex | null;

  constructor(
    payload: string,
    info: { errno: number; dependsOn: BuildIdHex | null; against: string; againstBuildId: BuildIdHex | null },
    consoleLines: readonly string[],
    advice = 'apply what it depends on first, or use --nodeps',
  ) {
    const want = info.dependsOn ? `depends on build-id ${info.dependsOn}` : 'has a dependency';
    const have =
      info.against === 'hypervisor'
        ? `the stack is empty, so it must depend on the hypervisor's build-id${info.againstBuildId ? ` ${info.againstBuildId}` : ''}`
        : `the top of the applied stack ` +
          `is ${JSON.stringify(info.against)}${info.againstBuildId ? ` (build-id ${info.againstBuildId})` : ''}`;
    super(`${JSON.stringify(payload)} ${want}, but ${have}; ${advice}`, {
      payload,
      errno: info.errno,
      consoleLines,
    });
    this.code = errnoCode(info.errno);
    this.dependsOn = info.dependsOn;
    this.against = info.against;
    this.againstBuildId = info.againstBuildId;
  }

  protected override extra(): Record<string, unknown> {
    return { dependsOn: this.dependsOn, against: this.against, againstBuildId: this.againstBuildId };
  }
}

/** REVERT of a payload that is not the top of the stack (Xen's EBUSY, which is not worth retrying). */
export class NotTopOfStackError extends WorkflowError {
  override readonly name = 'NotTopOfStackError';
  readonly code = 'EBUSY' as const;
  readonly category = 'failed' as const;
  readonly top: string | null;

  constructor(payload: string, top: string | null, consoleLines: readonly string[]) {
    super(
      `${JSON.stringify(payload)} is not the top of the applied stack${top === null ? '' : `: ${JSON.stringify(top)} is`}; ` +
        'only the top payload can be reverted, so revert the payloads above it first (retrying will not help)',
      { payload, errno: 16, consoleLines },
    );
    this.top = top;
  }

  protected override extra(): Record<string, unknown> {
    return { top: this.top };
  }
}

/** Another action is pending in the hypervisor (there is one work slot), or on this payload. */
export class BusyError extends WorkflowError {
  override readonly name = 'BusyError';
  readonly code = 'EBUSY' as const;
  readonly category = 'busy' as const;

  constructor(message: string, payload: string | undefined, consoleLines: readonly string[] = []) {
    super(message, { ...(payload === undefined ? {} : { payload }), errno: 16, consoleLines });
  }
}

/** The wait for completion passed its deadline, or the hypervisor's own quiesce timed out. */
export class TimeoutError extends WorkflowError {
  override readonly name = 'TimeoutError';
  readonly code: ErrnoCode;
  readonly category = 'busy' as const;
  /** `hypervisor`: Xen gave up the rendezvous (rc -EBUSY, nothing changed); `wait`: we stopped waiting. */
  readonly where: 'hypervisor' | 'wait';

  constructor(payload: string, action: LivepatchAction, where: 'hypervisor' | 'wait', detail: string, consoleLines: readonly string[]) {
    super(
      where === 'hypervisor'
        ? `${action} of ${JSON.stringify(payload)} timed out in the hypervisor (${detail}); nothing was changed, retrying may succeed`
        : `${action} of ${JSON.stringify(payload)} did not complete within ${detail}; it is still pending in the hypervisor`,
      { payload, errno: where === 'hypervisor' ? 16 : 62, consoleLines },
    );
    this.code = where === 'hypervisor' ? 'EBUSY' : 'ETIME';
    this.where = where;
  }

  protected override extra(): Record<string, unknown> {
    return { where: this.where };
  }
}

/** Preflight found errors (or a fatal finding) in the payload; nothing was uploaded. */
export class PreflightError extends WorkflowError {
  override readonly name = 'PreflightError';
  readonly code = 'PREFLIGHT' as const;
  readonly category = 'preflight' as const;
  readonly diagnostics: readonly Diagnostic[];
  readonly fatal: boolean;

  constructor(payload: string, diagnostics: readonly Diagnostic[], fatal: boolean) {
    const worst = diagnostics.filter((d) => d.severity === 'fatal' || d.severity === 'error');
    const first = worst[0];
    super(
      `${JSON.stringify(payload)} failed preflight with ${worst.length} error${worst.length === 1 ? '' : 's'}` +
        (first ? `, first: ${first.message}` : '') +
        (fatal ? ' (fatal: this payload would crash the hypervisor; it is never uploaded, --force included)' : ''),
      { payload, ...(first?.errno == null ? {} : { errno: first.errno }) },
    );
    this.diagnostics = diagnostics;
    this.fatal = fatal;
  }

  protected override extra(): Record<string, unknown> {
    return { fatal: this.fatal, diagnostics: this.diagnostics };
  }

  override details(): string[] {
    return [
      ...this.notes,
      ...this.diagnostics
        .filter((d) => d.severity !== 'info')
        .map(
          (d) => `${d.severity} ${d.code}${d.errno ? ` (${errnoCode(d.errno)})` : ''}${d.section ? ` [${d.section}]` : ''}: ${d.message}`,
        ),
    ];
  }
}

/** The action ran (or was refused) and the payload's status says it failed. */
export class ActionFailedError extends WorkflowError {
  override readonly name: string = 'ActionFailedError';
  readonly code: ErrnoCode;
  readonly category = 'failed' as const;
  readonly action: LivepatchAction;

  constructor(payload: string, action: LivepatchAction, errno: number, reason: string, consoleLines: readonly string[]) {
    super(`${action} of ${JSON.stringify(payload)} failed: ${reason}`, { payload, errno, consoleLines });
    this.code = errnoCode(errno);
    this.action = action;
  }

  protected override extra(): Record<string, unknown> {
    return { action: this.action };
  }
}

/** APPLY of a reverted payload Xen will not apply twice (it has writable data): upload it afresh. */
export class NotReapplyableError extends ActionFailedError {
  override readonly name = 'NotReapplyableError';
}

/** The payload is in a state the command cannot act on (e.g. unload of an applied payload). */
export class WrongStateError extends WorkflowError {
  override readonly name = 'WrongStateError';
  readonly code: ErrnoCode;
  readonly category = 'failed' as const;

  constructor(payload: string, message: string, errno: number) {
    super(message, { payload, errno });
    this.code = errnoCode(errno);
  }
}

/** The caller's AbortSignal, as the error a workflow throws when it fired before or while it ran. */
export function abortedError(signal: AbortSignal, what: string, payload?: string): never {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  throw new AbortedError(`${what} was cancelled${reason}`, payload === undefined ? {} : { payload });
}

/** One payload that makes Xen refuse REPLACE, with its vetoing hooks (null: not known to xlp). */
export interface ReplaceOffender {
  readonly payload: string;
  readonly hooks: readonly HookKind[] | null;
}

/**
 * REPLACE refused: vetoing hooks on the target or on an applied payload. Raised before any
 * hypercall when xlp knows the hooks (payloads it uploaded); otherwise Xen refused it
 * (EOPNOTSUPP, nothing changed) and the payloads xlp could not vouch for are named.
 */
export class ReplaceRefusedError extends WorkflowError {
  override readonly name = 'ReplaceRefusedError';
  readonly code = 'EOPNOTSUPP' as const;
  readonly category = 'failed' as const;
  readonly offenders: readonly ReplaceOffender[];
  /** True when xlp refused before the REPLACE hypercall; false when Xen refused it. */
  readonly beforeHypercall: boolean;

  constructor(payload: string, offenders: readonly ReplaceOffender[], consoleLines: readonly string[] = [], beforeHypercall = true) {
    const list = offenders
      .map((o) => `${JSON.stringify(o.payload)} (${o.hooks === null ? 'hooks unknown: not uploaded by xlp' : o.hooks.join(', ')})`)
      .join(', ');
    const who = beforeHypercall ? 'Xen refuses REPLACE' : 'Xen refused REPLACE (nothing was changed)';
    super(
      `${who} when the new payload or any applied payload has vetoing hooks: ${list || 'a payload not uploaded by xlp'}; ` +
        'use `replace --sequential` to revert the stack top-first and then apply, running every hook',
      { payload, errno: 95, consoleLines },
    );
    this.offenders = offenders;
    this.beforeHypercall = beforeHypercall;
  }

  protected override extra(): Record<string, unknown> {
    return { offenders: this.offenders, beforeHypercall: this.beforeHypercall };
  }
}

/** The payload is not loaded in the hypervisor (Xen's ENOENT). */
export class NotLoadedError extends WorkflowError {
  override readonly name = 'NotLoadedError';
  readonly code = 'ENOENT' as const;
  readonly category = 'failed' as const;

  constructor(payload: string) {
    super(`payload ${JSON.stringify(payload)} is not loaded (ENOENT); \`xlp list\` shows what is`, { payload, errno: 2 });
  }
}

/** Another `xlp` holds the host lock for longer than we were willing to wait. */
export class LockedError extends WorkflowError {
  override readonly name = 'LockedError';
  readonly code = 'LOCKED' as const;
  readonly category = 'busy' as const;
  /** Who holds the lock, as its lock file says (null when it could not be read). */
  readonly holder: { readonly pid: number; readonly hostname: string; readonly purpose: string; readonly acquiredAt: string } | null;
  readonly lockPath: string;
  readonly waitedMs: number;

  constructor(message: string, info: { holder: LockedError['holder']; lockPath: string; waitedMs: number }) {
    super(message);
    this.holder = info.holder;
    this.lockPath = info.lockPath;
    this.waitedMs = info.waitedMs;
  }

  protected override extra(): Record<string, unknown> {
    return { holder: this.holder, lock: this.lockPath, waitedMs: this.waitedMs };
  }
}

/** An interrupted workflow left a journal; it must be recovered before anything else mutates. */
export class JournalPendingError extends WorkflowError {
  override readonly name = 'JournalPendingError';
  readonly code = 'JOURNAL' as const;
  readonly category = 'failed' as const;
  /** The interrupted command, as its journal records it. */
  readonly command: string;
  readonly journalPath: string;

  constructor(message: string, info: { payload: string; command: string; journalPath: string }) {
    super(message, { payload: info.payload });
    this.command = info.command;
    this.journalPath = info.journalPath;
  }

  protected override extra(): Record<string, unknown> {
    return { command: this.command, journal: this.journalPath };
  }
}

/** The caller's AbortSignal fired. What the hypervisor was asked to do may still complete. */
export class AbortedError extends WorkflowError {
  override readonly name = 'AbortedError';
  readonly code = 'ABORTED' as const;
  readonly category = 'failed' as const;
}

/** A workflow refused to start because it could not guarantee a consistent outcome. */
export class RefusedError extends WorkflowError {
  override readonly name = 'RefusedError';
  readonly code = 'REFUSED' as const;
  readonly category = 'failed' as const;
}

/** UPLOAD was refused by the hypervisor (preflight found nothing, or was overridden). */
export class UploadFailedError extends WorkflowError {
  override readonly name = 'UploadFailedError';
  readonly code: ErrnoCode;
  readonly category;

  constructor(payload: string, errno: number, reason: string, consoleLines: readonly string[]) {
    super(`upload of ${JSON.stringify(payload)} failed: ${reason}`, { payload, errno, consoleLines });
    this.code = errnoCode(errno);
    this.category = this.code === 'EBUSY' ? ('busy' as const) : ('failed' as const);
  }
}

/** The code and message of a failure, as a journal records it. */
export function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof WorkflowError || error instanceof XenError) return { code: error.code, message: error.message };
  return { code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

/** Adds what the workflow did about a failure to the error the caller gets. */
export function note(error: unknown, text: string): void {
  if (error instanceof WorkflowError) error.notes.push(text);
}

/** A payload file that cannot be read (missing, unreadable, not a regular file): a wrong argument. */
export class PayloadFileError extends WorkflowError {
  override readonly name = 'PayloadFileError';
  readonly code: ErrnoCode;
  readonly category = 'usage' as const;
  readonly file: string;

  constructor(file: string, payload: string, errno: number, why: string) {
    super(`cannot read payload file ${file}: ${why}`, { payload, errno });
    this.code = errnoCode(errno);
    this.file = file;
  }

  protected override extra(): Record<string, unknown> {
    return { file: this.file };
  }
}
