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
import { abortedError, DependencyError, failureOf, LockedError, note, NotTopOfStackError, PreflightError, RefusedError, UploadFailedError, WorkflowError, WrongStateError } from './errors.js';
import type { InFlightAction } from './in-flight.js';
import { interruptedJournal, type Journal, JournalStore, type JournalStep } from './journal.js';
import { applyStep, type HookInventory, journalPlanSteps, type Plan, type PlanStep, replaceStep, revertStep, simpleStep } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { PayloadRegistry } from './registry.js';
import { decideReplace, replaceAtomic, replaceSequential } from './replace.js';
import { applyRestoring, reloadsFor, restoreDiff, restoreStack } from './restore.js';
import { type ActionRequest, type ActionResult, runAction } from './run-action.js';
import { readSource } from './source.js';
import { payloadStatus, statusOf } from './status.js';
import type { StackOptions } from './read-stack.js';
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

/** The stack and the payloads' status a plan is made for. */
interface Hypothesis {
  readonly stack: readonly string[];
  readonly status: (name: string) => Promise<PayloadStatus | null>;
}
const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_SETTLE_MS = 10_000;

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
      registry: PayloadRegistry.inStateDir(options.stateDir),
      journal: new JournalStore(options.stateDir),
      console: new ConsoleWatcher(options.backend),
      waitMs: options.waitTimeoutMs ?? DEFAULT_WAIT_MS,
      settleMs: options.settleTimeoutMs ?? DEFAULT_SETTLE_MS,
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

  /**
   * The applied stack, bottom first, with hooks where this tool knows them. Built from LIST and
   * xlp's registry; the hypervisor's `x` dump is read only when a payload xlp did not upload is
   * applied (or `dump: 'always'`). `certainty` says how much of the order is proven.
   */
  stack(options: StackOptions = {}): Promise<StackView> {
    return this.ws.stack(options);
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
    const report = await this.ws.preflightWithContext(bytes, name, { stack: !options.nodeps });
    const refusal = (await this.ws.journalRefusal()) ?? (await this.loadRefusal(name, report, options));
    const inv = report.payload ? inventoryOf(report.payload.hooks.filter((h) => !h.isNull).map((h) => h.kind)) : null;
    const inventory: HookInventory = (p) => (p === name ? inv : null);
    return withRefusal(
      {
        command: `load ${name}`,
        steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`), applyStep(name, inventory, options.nodeps ? 'NODEPS' : undefined)],
        warnings: diagnosticWarnings(report, refusal !== null),
      },
      refusal,
    );
  }

  async planUpload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<Plan> {
    const { bytes } = await readSource(source, name);
    const report = await this.ws.preflightWithContext(bytes, name);
    const refusal = (await this.ws.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
    return withRefusal(
      { command: `upload ${name}`, steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`)], warnings: diagnosticWarnings(report, refusal !== null, 'upload') },
      refusal,
    );
  }

  async planApply(name: string, options: ApplyOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const command = `apply ${name}`;
    const status = await statusOf(this.backend, name);
    let refusal: WorkflowError | null = await this.ws.journalRefusal();
    if (status.state === 'APPLIED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is already applied: nothing to do`] }, refusal);
    // What Xen will refuse, as far as xlp can tell: the dry run exits as the apply would (1).
    const rec = await this.ws.trustedRecord(name);
    if (!refusal && !options.nodeps && rec?.depends) {
      const top = await this.ws.top();
      const against = top ? top.buildId : (await this.backend.xenVersion()).buildId;
      if (against && against !== rec.depends) {
        refusal = new DependencyError(
          name,
          { errno: ERRNO.EINVAL, dependsOn: rec.depends, against: top ? top.name : 'hypervisor', againstBuildId: against },
          [],
          'Xen will refuse it (EINVAL): apply what it depends on first, or use --nodeps',
        );
      }
    }
    return withRefusal({ command, steps: [applyStep(name, await this.ws.inventory(), options.nodeps ? 'NODEPS' : undefined)], warnings: [] }, refusal);
  }

  async planRevert(name: string): Promise<Plan> {
    validatePayloadName(name);
    const command = `revert ${name}`;
    const status = await statusOf(this.backend, name);
    let refusal: WorkflowError | null = await this.ws.journalRefusal();
    if (status.state === 'CHECKED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is not applied: nothing to do`] }, refusal);
    // Only the top of the stack can be reverted: Xen refuses the rest (EBUSY), and so would `xlp revert` (exit 1).
    const top = await this.ws.top();
    if (!refusal && top && top.name !== name) refusal = new NotTopOfStackError(name, top.name, []);
    return withRefusal({ command, steps: [revertStep(name, await this.ws.inventory())], warnings: [] }, refusal);
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

  /**
   * What `recover` (or `recover --complete`) would do now. While an action the interrupted workflow
   * issued is still pending in the hypervisor, recovery first waits for it, and what it does next
   * depends on how that action ends: the plan says so (`pending`), with the steps for each outcome
   * (`steps` if it completes, `ifPendingFails` if it fails).
   */
  async planRecover(options: RecoverOptions = {}): Promise<Plan & { journal: Journal | null }> {
    const journal = await this.ws.journal.read();
    const mode = options.complete ? 'complete' : 'rollback';
    if (!journal) return { command: 'recover', steps: [], warnings: ['no interrupted workflow: nothing to recover'], journal };
    const command = `recover${options.complete ? ' --complete' : ''} (${journal.command})`;
    const inventory = await this.ws.inventory();
    const refusal = mode === 'complete' ? await this.completeRefusal(journal) : null;
    const pending = await this.ws.pendingAction(journal);
    const now = await this.hypothesis(null);
    if (!pending) return { ...withRefusal({ command, steps: await this.recoverSteps(journal, mode, inventory, now), warnings: [] }, refusal), journal };
    const completes = await this.recoverSteps(journal, mode, inventory, await this.hypothesis(pending));
    const fails = await this.recoverSteps(journal, mode, inventory, now);
    const plan: Plan = {
      command,
      steps: completes,
      warnings: [
        `the ${pending.action} of ${pending.payload} (issued by pid ${pending.pid} at ${pending.issuedAt}) is still pending in the hypervisor: ` +
          'recovery first waits for it (up to --timeout), then takes the steps for how it ended',
      ],
      pending: { action: pending.action, payload: pending.payload, issuedAt: pending.issuedAt, pid: pending.pid },
      ifPendingFails: fails,
    };
    return { ...withRefusal(plan, refusal), journal };
  }

  /**
   * The hypervisor as a plan sees it: as it is now (`pending` null, or the pending action failing,
   * which changes nothing), or as it will be once `pending` completes.
   */
  private async hypothesis(pending: InFlightAction | null): Promise<Hypothesis> {
    const { view } = await this.ws.stackForWorkflow();
    const current = view.applied.map((e) => e.name);
    const status = (name: string) => this.ws.statusOrNull(name);
    if (!pending) return { stack: current, status };
    const p = pending.payload;
    if (pending.action === 'REVERT') {
      return { stack: current.filter((n) => n !== p), status: async (n) => (n === p ? { state: 'CHECKED', rc: 0 } : status(n)) };
    }
    if (pending.action === 'APPLY') {
      return { stack: [...current.filter((n) => n !== p), p], status: async (n) => (n === p ? { state: 'APPLIED', rc: 0 } : status(n)) };
    }
    return { stack: [p], status: async (n) => (n === p ? { state: 'APPLIED', rc: 0 } : current.includes(n) ? { state: 'CHECKED', rc: 0 } : status(n)) };
  }

  private async recoverSteps(journal: Journal, mode: 'complete' | 'rollback', inventory: HookInventory, h: Hypothesis): Promise<PlanStep[]> {
    const steps: PlanStep[] = [];
    if (journal.workflow === 'load') {
      const st = await h.status(journal.target);
      if (mode === 'complete') {
        if (st && st.state !== 'APPLIED') steps.push(applyStep(journal.target, inventory, journal.steps[1]?.nodeps ? 'NODEPS' : undefined));
      } else if (st) {
        if (st.state === 'APPLIED') steps.push(revertStep(journal.target, inventory));
        steps.push(simpleStep('UNLOAD', journal.target, 'the interrupted load uploaded it'));
      }
    } else if (mode === 'complete') {
      const remaining: JournalStep[] = [];
      for (const s of journal.steps) {
        const st = await h.status(s.payload);
        if (s.action === 'REVERT' && st?.state === 'APPLIED') remaining.push(s);
        if (s.action === 'APPLY' && st?.state !== 'APPLIED') remaining.push(s);
      }
      steps.push(...journalPlanSteps(remaining, await reloadsFor(this.ws, remaining.filter((s) => s.action === 'APPLY').map((s) => s.payload), h.status), inventory));
    } else {
      const { revert, apply } = await restoreDiff(this.ws, journal.originalStack, h.stack);
      const reloads = await reloadsFor(this.ws, apply, h.status);
      steps.push(...revert.map((p) => revertStep(p, inventory)));
      for (const p of apply) {
        if (reloads.has(p)) steps.push(simpleStep('RELOAD', p, "unloaded and uploaded again from xlp's copy: Xen does not apply it twice"));
        steps.push(applyStep(p, inventory, new Set(journal.originalNodeps ?? []).has(p) ? 'NODEPS' : undefined));
      }
    }
    return steps;
  }

  // --- mutating workflows ----------------------------------------------------------------------

  /** Preflight, upload, apply and wait. If the apply fails, what this call uploaded is unloaded. */
  async load(source: PayloadSource, options: LoadOptions = {}): Promise<LoadResult> {
    checkSignal(options.signal, 'load');
    const { bytes, name } = await readSource(source, options.name);
    this.emit('progress', { phase: 'preflight', payload: name });
    const report = await this.ws.preflightWithContext(bytes, name, { stack: !options.nodeps });
    const refusal = await this.loadRefusal(name, report, options);
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
      let upload: UploadResult;
      try {
        upload = await this.doUpload(name, bytes, report);
      } catch (error) {
        // Refused by the hypervisor: nothing to undo. Uploaded but not recorded: unloaded again.
        await this.undoLoad(name, journal, error, false, this.ws.request(options));
        throw error;
      }
      journal = await this.ws.step(journal, 0, 'done');
      journal = await this.ws.step(journal, 1, 'started');
      try {
        const apply = await runAction(this.ws.context(), name, 'APPLY', this.ws.request(options));
        if (apply.outcome === 'done') await this.ws.registry.markApplied(name, { nodeps: options.nodeps === true });
        await this.ws.journal.clear();
        return { payload: name, upload, apply };
      } catch (error) {
        await this.undoLoad(name, journal, error, options.keep === true, this.ws.request(options));
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
      if (result.outcome === 'done') await this.ws.registry.markApplied(name, { nodeps: options.nodeps === true });
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
      // What to do depends on how a step still pending in the hypervisor ends: wait for it first.
      const pending = await this.ws.pendingAction(journal);
      await this.ws.inFlight.settle({ waitMs: req.waitMs, signal: req.signal, before: 'recovering', ...(pending ? { fallback: pending } : {}) });
      if (mode === 'complete') {
        const refusal = await this.completeRefusal(journal);
        if (refusal) throw refusal;
      }
      if (journal.workflow === 'load') {
        const st = await this.ws.statusOrNull(journal.target);
        if (mode === 'complete') {
          steps.push(await runAction(this.ws.context(), journal.target, 'APPLY', { ...req, nodeps: journal.steps[1]?.nodeps }));
          if (steps.at(-1)?.outcome === 'done') await this.ws.registry.markApplied(journal.target, { nodeps: journal.steps[1]?.nodeps === true });
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

  /**
   * Why `load` will not go ahead, before anything is uploaded: preflight errors, or an APPLY that
   * Xen will refuse on the dependency check (preflight was given the applied stack), which would
   * only upload, fail and unload again.
   */
  private async loadRefusal(name: string, report: PreflightReport, options: LoadOptions): Promise<WorkflowError | null> {
    const refusal = preflightRefusal(name, report, options.force === true);
    if (refusal || options.nodeps || !report.payload) return refusal;
    const dep = report.diagnostics.find((d) => d.code === 'depends-mismatch' || d.code === 'depends-xen-build-id-unavailable');
    if (!dep) return null;
    const top = await this.ws.top();
    return new DependencyError(
      name,
      {
        errno: dep.errno ?? ERRNO.EINVAL,
        dependsOn: report.payload.depends,
        against: top ? top.name : 'hypervisor',
        againstBuildId: top ? top.buildId : (await this.backend.xenVersion()).buildId,
      },
      [],
      'nothing was uploaded, since Xen would refuse the APPLY: apply what it depends on first, or use --nodeps',
    );
  }

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
    const findings = report.diagnostics.filter((d) => d.severity === 'warning' || d.severity === 'error');
    this.emit('progress', { phase: 'done', payload: name, action: 'UPLOAD', outcome: 'done', status: { state: 'CHECKED', rc: 0 }, bytes: bytes.length, findings });
    return { payload: name, outcome: 'done', bytes: bytes.length, report };
  }

  /**
   * After a failed upload or apply in `load`: undo what the load did, unless asked to keep it. An
   * apply still pending in the hypervisor (the wait timed out, or Ctrl-C) is waited for first (a
   * bounded wait, said on stderr): unloading or reverting into it would fail or run hooks for
   * nothing. The journal is closed once the hypervisor is as it was; it stays (marked as ended,
   * for `xlp recover`) only when that could not be done.
   */
  private async undoLoad(name: string, journal: Journal, error: unknown, keep: boolean, req: ActionRequest): Promise<void> {
    if (keep) {
      await this.ws.journal.clear();
      note(error, `${name} stays uploaded (--keep)`);
      return;
    }
    await this.ws.journal.write({ ...journal, phase: 'rollback', failure: failureOf(error) });
    // The undo runs to its end: the caller's signal has fired or the wait has expired already.
    const undo = this.ws.undoRequest(req);
    try {
      await this.ws.inFlight.settle({ waitMs: undo.waitMs, before: `undoing the load of ${name}` });
      const st = await this.ws.statusOrNull(name);
      if (st?.state === 'APPLIED') {
        // The apply completed after all (after the wait expired or was interrupted): undo it too.
        await runAction(this.ws.context(), name, 'REVERT', undo);
        note(error, `${name} was applied after all; it was reverted`);
      }
      if (st) {
        await runAction(this.ws.context(), name, 'UNLOAD', undo);
        await this.ws.registry.forget(name);
        note(error, `${name} was unloaded again, leaving the hypervisor as it was`);
      }
      await this.ws.journal.clear();
    } catch (undoError) {
      note(error, `undoing the load of ${name} failed (${undoError instanceof Error ? undoError.message : String(undoError)}); its journal is kept: run \`xlp recover\``);
      await this.ws.endJournal(failureOf(error));
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
    } catch (error) {
      // A journal this workflow kept is one it could not close: say it ended, not that it was interrupted.
      await this.ws.endJournal(failureOf(error)).catch(() => undefined);
      throw error;
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

/**
 * Preflight's findings as a plan's warnings: the warnings themselves, and errors the command goes
 * ahead despite (--force, or an APPLY-time check that does not concern an upload). When the plan
 * is refused, its errors are the refusal, not warnings.
 */
function diagnosticWarnings(report: PreflightReport, refused: boolean, command: 'load' | 'upload' = 'load'): string[] {
  const out: string[] = [];
  for (const d of report.diagnostics) {
    if (d.severity === 'warning') out.push(`${d.code}: ${d.message}`);
    else if (d.severity === 'error' && !refused) {
      const why = d.group === 'apply' ? (command === 'upload' ? 'it concerns APPLY, not this upload' : 'applied with --nodeps') : 'uploaded anyway: --force';
      out.push(`preflight error ${d.code} (${why}): ${d.message}`);
    }
  }
  return out;
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

