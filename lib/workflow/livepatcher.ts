import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { PayloadListEntry } from '../backend/backend.js';
import { ensurePrivateDir } from '../fs/private-dir.js';
import { acquireLock, type Lock, LockTimeoutError } from '../fs/lock.js';
import type { PreflightReport } from '../preflight/types.js';
import { ERRNO, errnoCode, errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import type { Backend } from '../backend/backend.js';
import type { HookKind, PayloadStatus } from '../xen/domain.js';
import { consoleLines, eventsFor } from './console-events.js';
import { ConsoleWatcher } from './console-watcher.js';
import { abortedError, failureOf, LockedError, note, PreflightError, RefusedError, UploadFailedError, WorkflowError, WrongStateError } from './errors.js';
import { interruptedJournal, type Journal, JournalStore, type JournalStep } from './journal.js';
import { applyStep, type HookInventory, journalPlanSteps, type Plan, type PlanStep, replaceStep, revertStep, simpleStep } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { PayloadRegistry } from './registry.js';
import { decideReplace, replaceAtomic, replaceSequential } from './replace.js';
import { applyRestoring, reloadsFor, restoreDiff, restoreStack } from './restore.js';
import { type ActionResult, runAction } from './run-action.js';
import { readSource } from './source.js';
import { payloadStatus, statusOf } from './status.js';
import type { StackView } from './stack.js';
import { validatePayloadName } from './names.js';
import type {
  ApplyOptions,
  LivepatcherOptions,
  LoadOptions,
  LoadResult,
  PayloadSource,
  RecoverOptions,
  RecoverResult,
  ReplaceOptions,
  ReplaceResult,
  UploadOptions,
  UploadResult,
  WaitOptions,
} from './types.js';
import { Workspace } from './workspace.js';

export type * from './types.js';
export { readSource } from './source.js';

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_WAIT_MS = 30_000;

/**
 * The operations users run, on either backend: each one finishes (waits for the hypervisor),
 * explains itself (typed errors with errno, payload, hook and console lines) and leaves the system
 * consistent (one mutating workflow per host, journaled multi-step plans, undo on failure).
 * The workflows themselves live beside it: REPLACE in replace.ts, rollback in restore.ts, the
 * shared views of the hypervisor in workspace.ts.
 */
export class Livepatcher extends EventEmitter<{ progress: [ProgressEvent] }> {
  readonly backend: Backend;
  readonly stateDir: string;
  private readonly ws: Workspace;
  private readonly lockTimeoutMs: number;

  private constructor(options: LivepatcherOptions) {
    super();
    this.backend = options.backend;
    this.stateDir = options.stateDir;
    this.ws = new Workspace({
      backend: options.backend,
      stateDir: options.stateDir,
      registry: new PayloadRegistry(join(options.stateDir, 'payloads')),
      journal: new JournalStore(options.stateDir),
      console: new ConsoleWatcher(options.backend),
      waitMs: options.waitTimeoutMs ?? DEFAULT_WAIT_MS,
      xenSymbols: options.xenSymbols ?? (async () => undefined),
      emit: (event) => this.emit('progress', event),
    });
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  /** Opens the workflows on a backend; the state directory is created 0700 or refused if unsafe. */
  static async open(options: LivepatcherOptions): Promise<Livepatcher> {
    await ensurePrivateDir(options.stateDir);
    return new Livepatcher(options);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  // --- reading -------------------------------------------------------------------------------

  /** The applied stack, from the hypervisor's `x` dump, with hooks where this tool knows them. */
  stack(): Promise<StackView> {
    return this.ws.stack();
  }

  status(name: string): Promise<PayloadStatus> {
    return payloadStatus(this.backend, name);
  }

  list(): Promise<PayloadListEntry[]> {
    return this.backend.list();
  }

  /** The hypervisor's livepatch console lines (the whole ring), optionally about one payload. */
  async log(payload?: string): Promise<string[]> {
    if (payload !== undefined) validatePayloadName(payload);
    const ring = await this.backend.readConsole({ incremental: false });
    if (payload !== undefined) return eventsFor(ring, payload).flatMap((e) => e.lines);
    return consoleLines(ring)
      .filter((l) => l.text !== null || l.partOf !== undefined)
      .map((l) => l.raw);
  }

  /**
   * The journal of a workflow that is not finished: one that was interrupted, or one that is
   * running right now in another process (see `interruptedJournal`).
   */
  pendingJournal(): Promise<Journal | null> {
    return this.ws.journal.read();
  }

  /**
   * The journal an interrupted workflow left behind: a pending journal whose writer does not hold
   * the host lock any more (a workflow that is merely running elsewhere is not reported).
   */
  interruptedJournal(): Promise<Journal | null> {
    return interruptedJournal(this.stateDir);
  }

  /** Runs preflight on a payload with the running system as context. */
  async check(source: PayloadSource, name?: string): Promise<PreflightReport> {
    const { bytes, name: derived } = await readSource(source, name);
    return this.ws.preflightWithContext(bytes, derived);
  }

  // --- plans (--dry-run) --------------------------------------------------------------------

  async planLoad(source: PayloadSource, options: LoadOptions = {}): Promise<Plan> {
    const { bytes, name } = await readSource(source, options.name);
    const report = await this.ws.preflightWithContext(bytes, name);
    const refusal = (await this.ws.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
    const inv = report.payload ? inventoryOf(report.payload.hooks.filter((h) => !h.isNull).map((h) => h.kind)) : null;
    const inventory: HookInventory = (p) => (p === name ? inv : null);
    return withRefusal(
      {
        command: `load ${name}`,
        steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`), applyStep(name, inventory, options.nodeps ? 'NODEPS' : undefined)],
        warnings: diagnosticWarnings(report),
      },
      refusal,
    );
  }

  async planUpload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<Plan> {
    const { bytes } = await readSource(source, name);
    const report = await this.ws.preflightWithContext(bytes, name);
    const refusal = (await this.ws.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
    return withRefusal(
      { command: `upload ${name}`, steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`)], warnings: diagnosticWarnings(report) },
      refusal,
    );
  }

  async planApply(name: string, options: ApplyOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const command = `apply ${name}`;
    const status = await statusOf(this.backend, name);
    const refusal = await this.ws.journalRefusal();
    if (status.state === 'APPLIED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is already applied: nothing to do`] }, refusal);
    const warnings: string[] = [];
    const facts = await this.ws.facts(name);
    if (!options.nodeps && facts?.dependsOn) {
      const top = await this.ws.top();
      const against = top ? top.buildId : (await this.backend.xenVersion()).buildId;
      if (against && against !== facts.dependsOn) {
        warnings.push(`Xen will refuse it: ${name} depends on ${facts.dependsOn} but ${top ? `the top of the stack is ${top.name} (${against})` : `the stack is empty and the hypervisor is ${against}`}`);
      }
    }
    return withRefusal({ command, steps: [applyStep(name, await this.ws.inventory(), options.nodeps ? 'NODEPS' : undefined)], warnings }, refusal);
  }

  async planRevert(name: string): Promise<Plan> {
    validatePayloadName(name);
    const command = `revert ${name}`;
    const status = await statusOf(this.backend, name);
    const refusal = await this.ws.journalRefusal();
    if (status.state === 'CHECKED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is not applied: nothing to do`] }, refusal);
    const top = await this.ws.top();
    const warnings = top && top.name !== name ? [`Xen will refuse it (EBUSY): only the top of the stack can be reverted, and ${top.name} is on top`] : [];
    return withRefusal({ command, steps: [revertStep(name, await this.ws.inventory())], warnings }, refusal);
  }

  async planUnload(name: string): Promise<Plan> {
    validatePayloadName(name);
    const status = await statusOf(this.backend, name);
    const refusal =
      (await this.ws.journalRefusal()) ??
      (status.state === 'APPLIED' ? new WrongStateError(name, `${JSON.stringify(name)} is applied; revert it before unloading it (Xen refuses with EINVAL)`, ERRNO.EINVAL) : null);
    return withRefusal({ command: `unload ${name}`, steps: [simpleStep('UNLOAD', name, 'no hooks run at unload')], warnings: [] }, refusal);
  }

  async planReplace(name: string, options: ReplaceOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const d = await decideReplace(this.ws, name, options);
    const inventory = await this.ws.inventory();
    const command = `replace ${options.sequential ? '--sequential ' : ''}${name}`;
    const refusal = (await this.ws.journalRefusal()) ?? d.refusal;
    if (d.nothingToDo) return withRefusal({ command, steps: [], warnings: [`${name} already is the only applied payload: nothing to do`, ...d.warnings] }, refusal);
    if (!options.sequential) {
      const others = d.current.filter((n) => n !== name);
      return withRefusal({ command, steps: [replaceStep(name, [...others].reverse(), inventory)], warnings: d.warnings }, refusal);
    }
    return withRefusal({ command, steps: journalPlanSteps(d.steps, d.reloads, inventory), warnings: d.warnings }, refusal);
  }

  /** What `recover` (or `recover --complete`) would do now. */
  async planRecover(options: RecoverOptions = {}): Promise<Plan & { journal: Journal | null }> {
    const journal = await this.ws.journal.read();
    const mode = options.complete ? 'complete' : 'rollback';
    if (!journal) return { command: 'recover', steps: [], warnings: ['no interrupted workflow: nothing to recover'], journal };
    const command = `recover${options.complete ? ' --complete' : ''} (${journal.command})`;
    const inventory = await this.ws.inventory();
    const refusal = mode === 'complete' ? await this.completeRefusal(journal) : null;
    const steps: PlanStep[] = [];
    if (journal.workflow === 'load') {
      const st = await this.ws.statusOrNull(journal.target);
      if (mode === 'complete') {
        if (st && st.state !== 'APPLIED') steps.push(applyStep(journal.target, inventory, journal.steps[1]?.nodeps ? 'NODEPS' : undefined));
      } else if (st) {
        if (st.state === 'APPLIED') steps.push(revertStep(journal.target, inventory));
        steps.push(simpleStep('UNLOAD', journal.target, 'the interrupted load uploaded it'));
      }
    } else if (mode === 'complete') {
      const remaining: JournalStep[] = [];
      for (const s of journal.steps) {
        const st = await this.ws.statusOrNull(s.payload);
        if (s.action === 'REVERT' && st?.state === 'APPLIED') remaining.push(s);
        if (s.action === 'APPLY' && st?.state !== 'APPLIED') remaining.push(s);
      }
      steps.push(...journalPlanSteps(remaining, await reloadsFor(this.ws, remaining.filter((s) => s.action === 'APPLY').map((s) => s.payload)), inventory));
    } else {
      const { revert, apply } = await restoreDiff(this.ws, journal.originalStack);
      const reloads = await reloadsFor(this.ws, apply);
      steps.push(...revert.map((p) => revertStep(p, inventory)));
      for (const p of apply) {
        if (reloads.has(p)) steps.push(simpleStep('RELOAD', p, "unloaded and uploaded again from xlp's copy: Xen does not apply it twice"));
        steps.push(applyStep(p, inventory, new Set(journal.originalNodeps ?? []).has(p) ? 'NODEPS' : undefined));
      }
    }
    return { ...withRefusal({ command, steps, warnings: [] }, refusal), journal };
  }

  // --- mutating workflows ----------------------------------------------------------------------

  /** Preflight, upload, apply and wait. If the apply fails, what this call uploaded is unloaded. */
  async load(source: PayloadSource, options: LoadOptions = {}): Promise<LoadResult> {
    checkSignal(options.signal, 'load');
    const { bytes, name } = await readSource(source, options.name);
    this.emit('progress', { phase: 'preflight', payload: name });
    const report = await this.ws.preflightWithContext(bytes, name);
    const refusal = preflightRefusal(name, report, options.force === true);
    if (refusal) throw refusal;
    return this.mutate(`load ${name}`, options.signal, async () => {
      let journal: Journal = {
        version: 1,
        workflow: 'load',
        command: `load ${name}`,
        startedAt: new Date().toISOString(),
        pid: process.pid,
        target: name,
        originalStack: [],
        phase: 'forward',
        steps: [
          { action: 'UPLOAD', payload: name, state: 'pending' },
          { action: 'APPLY', payload: name, state: 'pending', ...(options.nodeps ? { nodeps: true } : {}) },
        ],
        uploadedByWorkflow: true,
      };
      journal = await this.ws.step(journal, 0, 'started');
      const upload = await this.doUpload(name, bytes, report);
      journal = await this.ws.step(journal, 0, 'done');
      journal = await this.ws.step(journal, 1, 'started');
      try {
        const apply = await runAction(this.ws.context(), name, 'APPLY', this.ws.request(options));
        if (apply.outcome === 'done') await this.ws.registry.markApplied(name);
        await this.ws.journal.clear();
        return { payload: name, upload, apply };
      } catch (error) {
        await this.undoLoad(name, journal, error, options.keep === true);
        throw error;
      }
    });
  }

  /** Preflight and upload (the payload is then CHECKED). */
  async upload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<UploadResult> {
    checkSignal(options.signal, 'upload');
    const { bytes } = await readSource(source, name);
    this.emit('progress', { phase: 'preflight', payload: name });
    const report = await this.ws.preflightWithContext(bytes, name);
    const refusal = preflightRefusal(name, report, options.force === true);
    if (refusal) throw refusal;
    return this.mutate(`upload ${name}`, options.signal, () => this.doUpload(name, bytes, report));
  }

  async apply(name: string, options: ApplyOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `apply ${name}`);
    return this.mutate(`apply ${name}`, options.signal, async () => {
      const result = await runAction(this.ws.context(), name, 'APPLY', this.ws.request(options));
      if (result.outcome === 'done') await this.ws.registry.markApplied(name);
      return result;
    });
  }

  async revert(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `revert ${name}`);
    return this.mutate(`revert ${name}`, options.signal, () => runAction(this.ws.context(), name, 'REVERT', this.ws.request(options)));
  }

  /** UNLOAD; refused before the hypercall when the payload is applied. */
  async unload(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `unload ${name}`);
    return this.mutate(`unload ${name}`, options.signal, async () => {
      const result = await runAction(this.ws.context(), name, 'UNLOAD', this.ws.request(options));
      await this.ws.registry.forget(name);
      return result;
    });
  }

  /**
   * REPLACE the whole applied stack with `name`. Xen refuses an atomic REPLACE when any payload
   * involved has vetoing hooks; that is checked here first and said plainly. `sequential` instead
   * reverts the stack top-first (running each payload's revert hooks) and applies the new one,
   * journaled, restoring the old stack if a step fails.
   */
  async replace(name: string, options: ReplaceOptions = {}): Promise<ReplaceResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `replace ${name}`);
    return this.mutate(`replace ${options.sequential ? '--sequential ' : ''}${name}`, options.signal, async () => {
      const d = await decideReplace(this.ws, name, options);
      if (d.nothingToDo) {
        const status = await statusOf(this.backend, name);
        const nothing: ActionResult = { payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status, console: [], hooks: [], elapsedMs: 0 };
        this.emit('progress', { phase: 'done', payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status });
        return { payload: name, sequential: options.sequential === true, steps: [nothing] };
      }
      if (d.refusal) throw d.refusal;
      return options.sequential ? replaceSequential(this.ws, name, d, options) : replaceAtomic(this.ws, name, d, options);
    });
  }

  /** Completes or rolls back what an interrupted workflow left, as its journal describes. */
  async recover(options: RecoverOptions = {}): Promise<RecoverResult> {
    checkSignal(options.signal, 'recover');
    return this.mutate('recover', options.signal, async () => {
      const journal = await this.ws.journal.read();
      if (!journal) return { journal: null, mode: 'none', steps: [] };
      const steps: ActionResult[] = [];
      const mode = options.complete ? 'complete' : 'rollback';
      const req = this.ws.request(options);
      if (mode === 'complete') {
        const refusal = await this.completeRefusal(journal);
        if (refusal) throw refusal;
      }
      if (journal.workflow === 'load') {
        const st = await this.ws.statusOrNull(journal.target);
        if (mode === 'complete') {
          steps.push(await runAction(this.ws.context(), journal.target, 'APPLY', { ...req, nodeps: journal.steps[1]?.nodeps }));
          if (steps.at(-1)?.outcome === 'done') await this.ws.registry.markApplied(journal.target);
        } else if (st) {
          if (st.state === 'APPLIED') steps.push(await runAction(this.ws.context(), journal.target, 'REVERT', req));
          steps.push(await runAction(this.ws.context(), journal.target, 'UNLOAD', req));
          await this.ws.registry.forget(journal.target);
        }
      } else if (mode === 'complete') {
        for (const s of journal.steps) {
          if (s.action === 'REVERT') steps.push(await runAction(this.ws.context(), s.payload, 'REVERT', req));
          else if (s.action === 'APPLY') steps.push(...(await applyRestoring(this.ws, s.payload, { ...req, ...(s.nodeps ? { nodeps: true } : {}) })));
        }
      } else {
        steps.push(...(await restoreStack(this.ws, journal.originalStack, new Set(journal.originalNodeps ?? []), req)));
      }
      await this.ws.journal.clear();
      return { journal, mode, steps };
    });
  }

  // --- internals: REPLACE ----------------------------------------------------------------------

  /** Why `recover --complete` cannot finish this journal, if it cannot. */
  private async completeRefusal(journal: Journal): Promise<WorkflowError | null> {
    if (journal.phase === 'rollback') {
      return new RefusedError(
        `the interrupted \`${journal.command}\` had already failed${journal.failure ? ` (${journal.failure.message})` : ''} and begun rolling back; ` +
          'it can only be rolled back: run `xlp recover`',
        { payload: journal.target },
      );
    }
    if (journal.workflow === 'load' && !(await this.ws.statusOrNull(journal.target))) {
      return new RefusedError(
        `the interrupted \`${journal.command}\` never uploaded ${JSON.stringify(journal.target)}, so there is nothing to complete: ` +
          'run `xlp recover` (nothing to undo), then `xlp load` again',
        { payload: journal.target },
      );
    }
    return null;
  }

  // --- internals -------------------------------------------------------------------------------

  private async doUpload(name: string, bytes: Uint8Array, report: PreflightReport): Promise<UploadResult> {
    this.emit('progress', { phase: 'uploading', payload: name, bytes: bytes.length });
    await this.ws.console.sync();
    try {
      await this.backend.upload(name, bytes);
    } catch (error) {
      if (!(error instanceof XenError)) throw error;
      const lines = eventsFor((await this.ws.console.read()).join('\n'), name).flatMap((e) => e.lines);
      const predicted = report.uploadError
        ? `preflight predicted ${report.uploadError.code} (${errnoCode(report.uploadError.errno ?? 0)})`
        : 'preflight predicted it would be accepted: please report this disagreement';
      throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}); ${predicted}`, lines);
    }
    if (report.payload) await this.ws.registry.record(name, bytes, report.payload);
    this.emit('progress', { phase: 'done', payload: name, action: 'UPLOAD', outcome: 'done', status: { state: 'CHECKED', rc: 0 } });
    return { payload: name, outcome: 'done', bytes: bytes.length, report };
  }

  /**
   * After a failed apply in `load`: unload what the load uploaded, unless asked to keep it. A
   * payload whose action is still pending in the hypervisor cannot be unloaded (EBUSY): then the
   * journal stays for `xlp recover`.
   */
  private async undoLoad(name: string, journal: Journal, error: unknown, keep: boolean): Promise<void> {
    if (keep) {
      await this.ws.journal.clear();
      note(error, `${name} stays uploaded (--keep)`);
      return;
    }
    await this.ws.journal.write({ ...journal, phase: 'rollback', failure: failureOf(error) });
    try {
      const st = await this.ws.statusOrNull(name);
      if (st?.state === 'CHECKED') {
        try {
          await this.backend.action(name, 'UNLOAD');
        } catch (unloadError) {
          if (unloadError instanceof XenError && unloadError.code === 'EBUSY') {
            note(error, `${name} still has an action pending in the hypervisor, so it was left uploaded; run \`xlp recover\` once it completes`);
            return;
          }
          throw unloadError;
        }
        await this.ws.registry.forget(name);
        note(error, `${name} was unloaded again, leaving the hypervisor as it was`);
      } else if (st?.state === 'APPLIED') {
        // The apply completed after all (e.g. the wait was abandoned): leave the decision to recover.
        note(error, `${name} is applied after all; run \`xlp recover\` to undo the load or \`xlp recover --complete\` to keep it`);
        return;
      }
      await this.ws.journal.clear();
    } catch (undoError) {
      note(error, `unloading ${name} again failed (${undoError instanceof Error ? undoError.message : String(undoError)}); run \`xlp recover\``);
    }
  }

  /** Runs a mutating workflow under the host lock, refusing while a journal awaits recovery. */
  private async mutate<T>(purpose: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const lockPath = join(this.stateDir, 'lock');
    let lock: Lock;
    try {
      lock = await acquireLock(lockPath, { timeoutMs: this.lockTimeoutMs, purpose: `xlp ${purpose}`, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        const h = error.holder;
        throw new LockedError(
          h
            ? `another xlp holds the host lock: pid ${h.pid}${h.hostname ? ` on ${h.hostname}` : ''} (${h.purpose}) since ${h.acquiredAt}; ` +
                `gave up after ${error.waitedMs} ms (--lock-timeout)`
            : `the host lock ${error.path} is held; gave up after ${error.waitedMs} ms (--lock-timeout)`,
          { holder: h ? { pid: h.pid, hostname: h.hostname, purpose: h.purpose, acquiredAt: h.acquiredAt } : null, lockPath, waitedMs: error.waitedMs },
        );
      }
      if (signal?.aborted) abortedError(signal, `xlp ${purpose} (waiting for the host lock)`);
      throw error;
    }
    try {
      if (purpose !== 'recover') {
        const refusal = await this.ws.journalRefusal();
        if (refusal) throw refusal;
      }
      return await fn();
    } finally {
      await lock.release();
    }
  }

}

function inventoryOf(kinds: readonly HookKind[]): Map<HookKind, number> {
  const m = new Map<HookKind, number>();
  for (const k of kinds) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function diagnosticWarnings(report: PreflightReport): string[] {
  return report.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.severity} ${d.code}: ${d.message}`);
}

function withRefusal(plan: Plan, refusal: WorkflowError | null): Plan {
  if (!refusal) return plan;
  return { ...plan, steps: [], refused: { code: refusal.code, category: refusal.category, message: refusal.message } };
}

/** The PreflightError a payload earns: any fatal finding, or errors unless forced. */
function preflightRefusal(name: string, report: PreflightReport, force: boolean): PreflightError | null {
  if (report.fatal) return new PreflightError(name, report.diagnostics, true);
  const errors = report.diagnostics.filter((d) => d.severity === 'error' && d.group !== 'apply');
  if (errors.length && !force) return new PreflightError(name, report.diagnostics, false);
  return null;
}

function checkSignal(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) abortedError(signal, what);
}

