import { EventEmitter } from 'node:events';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Backend, PayloadListEntry } from '../backend/backend.js';
import { ensurePrivateDir } from '../fs/private-dir.js';
import { acquireLock, type Lock, LockTimeoutError } from '../fs/lock.js';
import type { PreflightReport, SymbolTable } from '../preflight/types.js';
import { validatePayloadName } from './names.js';
import { ERRNO, errnoCode, errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import { type BuildIdHex, type HookKind, PAYLOAD_MAX_SIZE, type PayloadStatus } from '../xen/domain.js';
import { consoleLines, eventsFor } from './console-events.js';
import { ConsoleWatcher } from './console-watcher.js';
import {
  abortedError,
  DependencyError,
  JournalPendingError,
  LockedError,
  NotLoadedError,
  NotReapplyableError,
  PreflightError,
  RefusedError,
  type ReplaceOffender,
  ReplaceRefusedError,
  UploadFailedError,
  WorkflowError,
  WrongStateError,
} from './errors.js';
import { interruptedJournal, type Journal, JournalStore, type JournalStep, markStep } from './journal.js';
import { applyStep, type HookInventory, type Plan, type PlanStep, replaceStep, revertStep, simpleStep } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { hookInventory, PayloadRegistry, type RegistryRecord } from './registry.js';
import { type ActionContext, type ActionResult, runAction } from './run-action.js';
import { payloadStatus, statusOf } from './status.js';
import { orderStack, readDebugDump, type StackEntry, type StackView } from './stack.js';

export interface LivepatcherOptions {
  readonly backend: Backend;
  /** Host lock, journal and payload registry live here (created 0700). */
  readonly stateDir: string;
  /** How long to wait for another workflow's host lock (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** How long to wait for an action to complete (default 30 s). */
  readonly waitTimeoutMs?: number;
  /** The hypervisor's symbol table for preflight's undefined-symbol checks, when one is available. */
  readonly xenSymbols?: () => Promise<SymbolTable | undefined>;
}

export interface WaitOptions {
  /** How long to wait for the hypervisor to complete an action, in ms (default: the Livepatcher's, 30 s). */
  readonly timeout?: number;
  /** The hypervisor's own quiesce (CPU rendezvous) timeout in ns, passed to the hypercall (Xen's default, 30 ms, when absent). */
  readonly quiesceTimeoutNs?: number;
  /** Cancels the workflow: before it starts, while it waits for the host lock or for the hypervisor. */
  readonly signal?: AbortSignal;
}

export interface ApplyOptions extends WaitOptions {
  readonly nodeps?: boolean;
}

export interface LoadOptions extends ApplyOptions {
  /** Payload name; default: the file's basename without its last extension, as the C tool does. */
  readonly name?: string;
  /** Upload despite preflight errors (never despite a fatal finding). */
  readonly force?: boolean;
  /** Leave the payload uploaded when the apply fails. */
  readonly keep?: boolean;
}

export interface UploadOptions {
  /** Upload despite preflight errors (never despite a fatal finding). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface ReplaceOptions extends WaitOptions {
  /** Revert the stack top-first, then apply, instead of Xen's atomic REPLACE. */
  readonly sequential?: boolean;
  /** Sequential: go ahead even when a reverted payload could not be restored on failure. */
  readonly force?: boolean;
  /** Sequential: apply the new payload with NODEPS. */
  readonly nodeps?: boolean;
}

export interface RecoverOptions extends WaitOptions {
  /** Finish the interrupted plan instead of rolling it back. */
  readonly complete?: boolean;
}

export interface UploadResult {
  readonly payload: string;
  readonly outcome: 'done';
  readonly bytes: number;
  readonly report: PreflightReport;
}

export interface LoadResult {
  readonly payload: string;
  readonly upload: UploadResult;
  readonly apply: ActionResult;
}

export interface ReplaceResult {
  readonly payload: string;
  readonly sequential: boolean;
  /** Every action taken, in order (one `nothing-to-do` entry when the payload already is the stack). */
  readonly steps: readonly ActionResult[];
}

export interface RecoverResult {
  readonly journal: Journal | null;
  readonly mode: 'rollback' | 'complete' | 'none';
  readonly steps: readonly ActionResult[];
}

/** A payload given as a file path or as its bytes. */
export type PayloadSource = string | Uint8Array;

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_WAIT_MS = 30_000;

type Request = { waitMs: number; timeoutNs?: number; signal?: AbortSignal; nodeps?: boolean };

/** What a REPLACE (atomic or sequential) will do, decided once for the plan and the run alike. */
interface ReplaceDecision {
  readonly view: StackView;
  /** The applied stack, bottom first. */
  readonly current: readonly string[];
  /** The target already is the whole stack. */
  readonly nothingToDo: boolean;
  /** Sequential: the steps in order (reverts top-first, then the APPLY). */
  readonly steps: readonly JournalStep[];
  /** Payloads a RELOAD must bring back (Xen will not apply them twice). */
  readonly reloads: ReadonlySet<string>;
  readonly warnings: readonly string[];
  readonly refusal: WorkflowError | null;
}

/**
 * The operations users run, on either backend: each one finishes (waits for the hypervisor),
 * explains itself (typed errors with errno, payload, hook and console lines) and leaves the system
 * consistent (one mutating workflow per host, journaled multi-step plans, undo on failure).
 */
export class Livepatcher extends EventEmitter<{ progress: [ProgressEvent] }> {
  readonly backend: Backend;
  readonly stateDir: string;
  private readonly registry: PayloadRegistry;
  private readonly journal: JournalStore;
  private readonly console: ConsoleWatcher;
  private readonly lockTimeoutMs: number;
  private readonly waitMs: number;
  private readonly xenSymbols: () => Promise<SymbolTable | undefined>;

  private constructor(options: LivepatcherOptions, stateDir: string) {
    super();
    this.backend = options.backend;
    this.stateDir = stateDir;
    this.registry = new PayloadRegistry(join(stateDir, 'payloads'));
    this.journal = new JournalStore(stateDir);
    this.console = new ConsoleWatcher(options.backend);
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.waitMs = options.waitTimeoutMs ?? DEFAULT_WAIT_MS;
    this.xenSymbols = options.xenSymbols ?? (async () => undefined);
  }

  /** Opens the workflows on a backend; the state directory is created 0700 or refused if unsafe. */
  static async open(options: LivepatcherOptions): Promise<Livepatcher> {
    await ensurePrivateDir(options.stateDir);
    return new Livepatcher(options, options.stateDir);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  // --- reading -------------------------------------------------------------------------------

  status(name: string): Promise<PayloadStatus> {
    return payloadStatus(this.backend, name);
  }

  list(): Promise<PayloadListEntry[]> {
    return this.backend.list();
  }

  /** The applied stack, from the hypervisor's `x` dump, with hooks where this tool knows them. */
  async stack(): Promise<StackView> {
    const dump = await readDebugDump(this.backend, this.console);
    const records = new Map((await this.registry.all()).map((r) => [r.name, r]));
    return orderStack(dump, (name) => {
      const r = records.get(name);
      return r ? { buildId: r.buildId, hooks: r.hooks.map((h) => h.kind), ...(r.appliedSeq === undefined ? {} : { appliedSeq: r.appliedSeq }) } : null;
    });
  }

  /** The hypervisor's livepatch console lines (the whole ring), optionally about one payload. */
  async log(payload?: string): Promise<string[]> {
    if (payload !== undefined) validatePayloadName(payload);
    const ring = await this.backend.readConsole({ incremental: false });
    if (payload !== undefined) return eventsFor(ring, payload).map((e) => e.line);
    return consoleLines(ring)
      .filter((l) => l.text !== null)
      .map((l) => l.raw);
  }

  /**
   * The journal of a workflow that is not finished: one that was interrupted, or one that is
   * running right now in another process (see `interruptedJournal`).
   */
  pendingJournal(): Promise<Journal | null> {
    return this.journal.read();
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
    return this.preflightWithContext(bytes, derived);
  }

  // --- plans (--dry-run) --------------------------------------------------------------------

  async planLoad(source: PayloadSource, options: LoadOptions = {}): Promise<Plan> {
    const { bytes, name } = await readSource(source, options.name);
    const report = await this.preflightWithContext(bytes, name);
    const refusal = (await this.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
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
    const report = await this.preflightWithContext(bytes, name);
    const refusal = (await this.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
    return withRefusal(
      { command: `upload ${name}`, steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`)], warnings: diagnosticWarnings(report) },
      refusal,
    );
  }

  async planApply(name: string, options: ApplyOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const command = `apply ${name}`;
    const status = await statusOf(this.backend, name);
    const refusal = await this.journalRefusal();
    if (status.state === 'APPLIED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is already applied: nothing to do`] }, refusal);
    const warnings: string[] = [];
    const facts = await this.facts(name);
    if (!options.nodeps && facts?.dependsOn) {
      const top = await this.top();
      const against = top ? top.buildId : (await this.backend.xenVersion()).buildId;
      if (against && against !== facts.dependsOn) {
        warnings.push(`Xen will refuse it: ${name} depends on ${facts.dependsOn} but ${top ? `the top of the stack is ${top.name} (${against})` : `the stack is empty and the hypervisor is ${against}`}`);
      }
    }
    return withRefusal({ command, steps: [applyStep(name, await this.inventory(), options.nodeps ? 'NODEPS' : undefined)], warnings }, refusal);
  }

  async planRevert(name: string): Promise<Plan> {
    validatePayloadName(name);
    const command = `revert ${name}`;
    const status = await statusOf(this.backend, name);
    const refusal = await this.journalRefusal();
    if (status.state === 'CHECKED' && status.rc !== -ERRNO.EAGAIN) return withRefusal({ command, steps: [], warnings: [`${name} is not applied: nothing to do`] }, refusal);
    const top = await this.top();
    const warnings = top && top.name !== name ? [`Xen will refuse it (EBUSY): only the top of the stack can be reverted, and ${top.name} is on top`] : [];
    return withRefusal({ command, steps: [revertStep(name, await this.inventory())], warnings }, refusal);
  }

  async planUnload(name: string): Promise<Plan> {
    validatePayloadName(name);
    const status = await statusOf(this.backend, name);
    const refusal =
      (await this.journalRefusal()) ??
      (status.state === 'APPLIED' ? new WrongStateError(name, `${JSON.stringify(name)} is applied; revert it before unloading it (Xen refuses with EINVAL)`, ERRNO.EINVAL) : null);
    return withRefusal({ command: `unload ${name}`, steps: [simpleStep('UNLOAD', name, 'no hooks run at unload')], warnings: [] }, refusal);
  }

  async planReplace(name: string, options: ReplaceOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const d = await this.decideReplace(name, options);
    const inventory = await this.inventory();
    const command = `replace ${options.sequential ? '--sequential ' : ''}${name}`;
    const refusal = (await this.journalRefusal()) ?? d.refusal;
    if (d.nothingToDo) return withRefusal({ command, steps: [], warnings: [`${name} already is the only applied payload: nothing to do`, ...d.warnings] }, refusal);
    if (!options.sequential) {
      const others = d.current.filter((n) => n !== name);
      return withRefusal({ command, steps: [replaceStep(name, [...others].reverse(), inventory)], warnings: d.warnings }, refusal);
    }
    return withRefusal({ command, steps: this.planSteps(d.steps, d.reloads, inventory), warnings: d.warnings }, refusal);
  }

  /** What `recover` (or `recover --complete`) would do now. */
  async planRecover(options: RecoverOptions = {}): Promise<Plan & { journal: Journal | null }> {
    const journal = await this.journal.read();
    const mode = options.complete ? 'complete' : 'rollback';
    if (!journal) return { command: 'recover', steps: [], warnings: ['no interrupted workflow: nothing to recover'], journal };
    const command = `recover${options.complete ? ' --complete' : ''} (${journal.command})`;
    const inventory = await this.inventory();
    const refusal = mode === 'complete' ? await this.completeRefusal(journal) : null;
    const steps: PlanStep[] = [];
    if (journal.workflow === 'load') {
      const st = await this.statusOrNull(journal.target);
      if (mode === 'complete') {
        if (st && st.state !== 'APPLIED') steps.push(applyStep(journal.target, inventory, journal.steps[1]?.nodeps ? 'NODEPS' : undefined));
      } else if (st) {
        if (st.state === 'APPLIED') steps.push(revertStep(journal.target, inventory));
        steps.push(simpleStep('UNLOAD', journal.target, 'the interrupted load uploaded it'));
      }
    } else if (mode === 'complete') {
      const remaining: JournalStep[] = [];
      for (const s of journal.steps) {
        const st = await this.statusOrNull(s.payload);
        if (s.action === 'REVERT' && st?.state === 'APPLIED') remaining.push(s);
        if (s.action === 'APPLY' && st?.state !== 'APPLIED') remaining.push(s);
      }
      steps.push(...this.planSteps(remaining, await this.reloadsFor(remaining.filter((s) => s.action === 'APPLY').map((s) => s.payload)), inventory));
    } else {
      const { revert, apply } = await this.restoreDiff(journal.originalStack);
      const reloads = await this.reloadsFor(apply);
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
    const report = await this.preflightWithContext(bytes, name);
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
      journal = await this.step(journal, 0, 'started');
      const upload = await this.doUpload(name, bytes, report);
      journal = await this.step(journal, 0, 'done');
      journal = await this.step(journal, 1, 'started');
      try {
        const apply = await runAction(this.context(), name, 'APPLY', this.request(options));
        if (apply.outcome === 'done') await this.registry.markApplied(name);
        await this.journal.clear();
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
    const report = await this.preflightWithContext(bytes, name);
    const refusal = preflightRefusal(name, report, options.force === true);
    if (refusal) throw refusal;
    return this.mutate(`upload ${name}`, options.signal, () => this.doUpload(name, bytes, report));
  }

  async apply(name: string, options: ApplyOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `apply ${name}`);
    return this.mutate(`apply ${name}`, options.signal, async () => {
      const result = await runAction(this.context(), name, 'APPLY', this.request(options));
      if (result.outcome === 'done') await this.registry.markApplied(name);
      return result;
    });
  }

  async revert(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `revert ${name}`);
    return this.mutate(`revert ${name}`, options.signal, () => runAction(this.context(), name, 'REVERT', this.request(options)));
  }

  /** UNLOAD; refused before the hypercall when the payload is applied. */
  async unload(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    checkSignal(options.signal, `unload ${name}`);
    return this.mutate(`unload ${name}`, options.signal, async () => {
      const result = await runAction(this.context(), name, 'UNLOAD', this.request(options));
      await this.registry.forget(name);
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
      const d = await this.decideReplace(name, options);
      if (d.nothingToDo) {
        const status = await statusOf(this.backend, name);
        const nothing: ActionResult = { payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status, console: [], hooks: [], elapsedMs: 0 };
        this.emit('progress', { phase: 'done', payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status });
        return { payload: name, sequential: options.sequential === true, steps: [nothing] };
      }
      if (d.refusal) throw d.refusal;
      return options.sequential ? this.replaceSequential(name, d, options) : this.replaceAtomic(name, d, options);
    });
  }

  /** Completes or rolls back what an interrupted workflow left, as its journal describes. */
  async recover(options: RecoverOptions = {}): Promise<RecoverResult> {
    checkSignal(options.signal, 'recover');
    return this.mutate('recover', options.signal, async () => {
      const journal = await this.journal.read();
      if (!journal) return { journal: null, mode: 'none', steps: [] };
      const steps: ActionResult[] = [];
      const mode = options.complete ? 'complete' : 'rollback';
      const req = this.request(options);
      if (mode === 'complete') {
        const refusal = await this.completeRefusal(journal);
        if (refusal) throw refusal;
      }
      if (journal.workflow === 'load') {
        const st = await this.statusOrNull(journal.target);
        if (mode === 'complete') {
          steps.push(await runAction(this.context(), journal.target, 'APPLY', { ...req, nodeps: journal.steps[1]?.nodeps }));
          if (steps.at(-1)?.outcome === 'done') await this.registry.markApplied(journal.target);
        } else if (st) {
          if (st.state === 'APPLIED') steps.push(await runAction(this.context(), journal.target, 'REVERT', req));
          steps.push(await runAction(this.context(), journal.target, 'UNLOAD', req));
          await this.registry.forget(journal.target);
        }
      } else if (mode === 'complete') {
        for (const s of journal.steps) {
          if (s.action === 'REVERT') steps.push(await runAction(this.context(), s.payload, 'REVERT', req));
          else if (s.action === 'APPLY') steps.push(...(await this.applyRestoring(s.payload, { ...req, ...(s.nodeps ? { nodeps: true } : {}) })));
        }
      } else {
        steps.push(...(await this.restoreStack(journal.originalStack, new Set(journal.originalNodeps ?? []), req)));
      }
      await this.journal.clear();
      return { journal, mode, steps };
    });
  }

  // --- internals: REPLACE ----------------------------------------------------------------------

  /** Everything a REPLACE decides before its first hypercall, for the plan and the run alike. */
  private async decideReplace(name: string, options: ReplaceOptions): Promise<ReplaceDecision> {
    const target = await statusOf(this.backend, name);
    const { view, warnings: viewWarnings } = await this.stackForWorkflow();
    const current = view.applied.map((e) => e.name);
    const warnings = [...viewWarnings];
    if (!view.orderCertain) warnings.push('the stack order was partly inferred (payloads applied with --nodeps, or no x dump)');
    const base = { view, current, steps: [] as JournalStep[], reloads: new Set<string>() };
    if (target.state === 'APPLIED' && current.length === 1 && current[0] === name) {
      return { ...base, nothingToDo: true, warnings, refusal: null };
    }
    const rec = await this.trustedRecord(name, view);
    if (!rec) warnings.push(`${name} was not uploaded by xlp (or has changed since): its hooks and dependencies are not known, so Xen will be the judge`);
    const xenId = view.xenBuildId ?? (await this.backend.xenVersion()).buildId;
    // What the target depends on: from the registry, else from the x dump (which shows it for any payload).
    const depends = rec?.depends ?? view.loaded.find((p) => p.name === name)?.dependsOn ?? null;

    if (!options.sequential) {
      let refusal: WorkflowError | null = null;
      if (target.state === 'APPLIED') {
        refusal = new RefusedError(
          `${JSON.stringify(name)} is already applied (with ${current.filter((n) => n !== name).join(', ')} on the stack); ` +
            "Xen's REPLACE takes a payload that is loaded but not applied: use `xlp replace --sequential` to make it the only applied payload",
          { payload: name },
        );
      }
      const offenders: ReplaceOffender[] = [];
      if (rec?.vetoingHooks.length) offenders.push({ payload: name, hooks: [...rec.vetoingHooks] });
      for (const e of view.applied) {
        if (e.name !== name && e.vetoingHooks?.length) offenders.push({ payload: e.name, hooks: [...e.vetoingHooks] });
      }
      if (!refusal && offenders.length) refusal = new ReplaceRefusedError(name, offenders);
      if (!refusal && depends && xenId && depends !== xenId) {
        refusal = new DependencyError(
          name,
          { errno: ERRNO.EINVAL, dependsOn: depends, against: 'hypervisor', againstBuildId: xenId },
          [],
          "Xen's REPLACE requires a payload built directly on the hypervisor (NODEPS does not apply to it)",
        );
      }
      for (const e of view.applied) {
        if (e.name !== name && e.hooks === null) warnings.push(`${e.name} was not uploaded by xlp: if it has vetoing hooks, Xen will refuse the REPLACE (nothing changes then)`);
      }
      return { ...base, nothingToDo: false, warnings, refusal };
    }

    // Sequential: revert top-first (down to the target when it is the bottom), then apply it.
    const at = current.indexOf(name);
    const toRevert = at === 0 ? current.slice(1) : [...current];
    const steps: JournalStep[] = [...toRevert].reverse().map((p) => ({ action: 'REVERT', payload: p, state: 'pending' }) as const);
    steps.push({ action: 'APPLY', payload: name, state: 'pending', ...(options.nodeps ? { nodeps: true } : {}) });
    const reloads = new Set<string>();
    const blocking: string[] = [];
    for (const p of toRevert) {
      const r = await this.trustedRecord(p, view);
      if (!r) {
        blocking.push(`cannot restore ${p} for certain if a later step fails: it was not uploaded by xlp`);
      } else if (!r.safeToReapply) {
        if (await this.registry.bytes(p)) {
          if (p === name) reloads.add(p);
          warnings.push(`${p} cannot be applied twice by Xen (writable data): it is restored from xlp's copy if needed`);
        } else {
          blocking.push(`cannot restore ${p} if a later step fails: Xen will not re-apply it and its bytes are not in xlp's registry`);
        }
      }
    }
    let refusal: WorkflowError | null = null;
    if (blocking.length && !options.force) {
      refusal = new RefusedError(`replace --sequential ${name} refused: ${blocking.join('; ')}; pass --force to accept that risk`, { payload: name });
    } else {
      warnings.push(...blocking);
    }
    if (!refusal && at !== 0 && !options.nodeps && depends && xenId && depends !== xenId) {
      refusal = new DependencyError(
        name,
        { errno: ERRNO.EINVAL, dependsOn: depends, against: 'hypervisor', againstBuildId: xenId },
        [],
        'once the stack is reverted it must depend on the hypervisor; pass --nodeps to apply it anyway',
      );
    }
    return { view, current, steps, reloads, nothingToDo: false, warnings, refusal };
  }

  private async replaceAtomic(name: string, d: ReplaceDecision, options: ReplaceOptions): Promise<ReplaceResult> {
    const others = d.current.filter((n) => n !== name);
    try {
      const result = await runAction(this.context(), name, 'REPLACE', this.request(options), others);
      if (result.outcome === 'done') await this.registry.markApplied(name);
      return { payload: name, sequential: false, steps: [result] };
    } catch (error) {
      if (error instanceof ReplaceRefusedError && !error.beforeHypercall) {
        // Xen refused on hooks this tool did not know about (payloads uploaded by other tools).
        const unknown: ReplaceOffender[] = d.view.applied.filter((e) => e.name !== name && e.hooks === null).map((e) => ({ payload: e.name, hooks: null }));
        if (!(await this.trustedRecord(name, d.view))) unknown.unshift({ payload: name, hooks: null });
        throw new ReplaceRefusedError(name, unknown, error.consoleLines, false);
      }
      throw error;
    }
  }

  private async replaceSequential(name: string, d: ReplaceDecision, options: ReplaceOptions): Promise<ReplaceResult> {
    const req = this.request(options);
    const originalNodeps = d.view.applied.filter((e) => !e.chained).map((e) => e.name);
    let journal: Journal = {
      version: 1,
      workflow: 'replace-sequential',
      command: `replace --sequential ${name}`,
      startedAt: new Date().toISOString(),
      pid: process.pid,
      target: name,
      originalStack: d.current,
      ...(originalNodeps.length ? { originalNodeps } : {}),
      phase: 'forward',
      steps: d.steps,
      uploadedByWorkflow: false,
    };
    await this.journal.write(journal);
    const done: ActionResult[] = [];
    for (const [i, s] of d.steps.entries()) {
      this.emit('progress', { phase: 'step', index: i + 1, total: d.steps.length, description: `${s.action} ${s.payload}` });
      journal = await this.step(journal, i, 'started');
      try {
        if (s.action === 'REVERT') done.push(await runAction(this.context(), s.payload, 'REVERT', req));
        else done.push(...(await this.applyRestoring(s.payload, { ...req, ...(s.nodeps ? { nodeps: true } : {}) })));
      } catch (error) {
        journal = { ...journal, phase: 'rollback', failure: failureOf(error) };
        await this.journal.write(journal);
        try {
          await this.restoreStack(d.current, new Set(originalNodeps), { ...req, signal: undefined });
          await this.journal.clear();
          note(error, `rolled back: the previous stack (${d.current.join(', ') || 'empty'}) is applied again`);
        } catch (rollbackError) {
          note(
            error,
            `the rollback failed too (${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}); ` +
              'the journal is kept: fix the cause, then run `xlp recover`',
          );
        }
        throw error;
      }
      journal = await this.step(journal, i, 'done');
    }
    await this.journal.clear();
    return { payload: name, sequential: true, steps: done };
  }

  /** What a rollback to `original` (bottom first) has to revert (top first) and apply (bottom first). */
  private async restoreDiff(original: readonly string[]): Promise<{ revert: string[]; apply: string[] }> {
    const { view } = await this.stackForWorkflow();
    const current = view.applied.map((e) => e.name);
    let k = 0;
    while (k < current.length && k < original.length && current[k] === original[k]) k++;
    return { revert: current.slice(k).reverse(), apply: original.slice(k) };
  }

  /**
   * Brings the applied stack back to `original` (bottom first): reverts what differs from it,
   * top first, then applies the rest of it in order, reloading from the registry what Xen will not
   * apply twice.
   */
  private async restoreStack(original: readonly string[], nodeps: ReadonlySet<string>, req: Request): Promise<ActionResult[]> {
    const steps: ActionResult[] = [];
    const { revert, apply } = await this.restoreDiff(original);
    for (const p of revert) steps.push(await runAction(this.context(), p, 'REVERT', req));
    for (const p of apply) steps.push(...(await this.applyRestoring(p, { ...req, ...(nodeps.has(p) ? { nodeps: true } : {}) })));
    return steps;
  }

  /** Payloads among `names` that a RELOAD must bring back before they can be applied. */
  private async reloadsFor(names: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const p of names) {
      const st = await this.statusOrNull(p);
      const rec = await this.registry.get(p);
      if (!st || (st.state === 'CHECKED' && rec && !rec.safeToReapply && rec.appliedSeq !== undefined)) out.add(p);
    }
    return out;
  }

  /**
   * APPLY `name`, first uploading it again from the registry when Xen would not apply it (a
   * reverted payload with writable data) or when it is gone (a reload interrupted mid-way).
   */
  private async applyRestoring(name: string, req: Request): Promise<ActionResult[]> {
    const steps: ActionResult[] = [];
    const st = await this.statusOrNull(name);
    const rec = await this.registry.get(name);
    if (!st) {
      await this.reupload(name, false);
    } else if (st.state === 'CHECKED' && rec && !rec.safeToReapply && rec.appliedSeq !== undefined) {
      steps.push(...(await this.reload(name, req)));
    }
    let applied: ActionResult;
    try {
      applied = await runAction(this.context(), name, 'APPLY', req);
    } catch (error) {
      if (!(error instanceof NotReapplyableError) || !(await this.registry.bytes(name))) throw error;
      steps.push(...(await this.reload(name, req)));
      applied = await runAction(this.context(), name, 'APPLY', req);
    }
    steps.push(applied);
    if (applied.outcome === 'done') await this.registry.markApplied(name);
    return steps;
  }

  /** UNLOAD, then UPLOAD again from the registry's copy: a fresh payload Xen will apply. */
  private async reload(name: string, req: Request): Promise<ActionResult[]> {
    const bytes = await this.registry.bytes(name);
    if (!bytes) throw new RefusedError(`cannot restore ${JSON.stringify(name)}: Xen will not apply it again and its bytes are not in xlp's registry`, { payload: name });
    const unload = await runAction(this.context(), name, 'UNLOAD', req);
    await this.reupload(name, true, bytes);
    return [unload];
  }

  private async reupload(name: string, known: boolean, given?: Uint8Array): Promise<void> {
    const bytes = given ?? (await this.registry.bytes(name));
    if (!bytes) {
      throw new RefusedError(`cannot restore ${JSON.stringify(name)}: it is not loaded any more and its bytes are not in xlp's registry`, { payload: name });
    }
    this.emit('progress', { phase: 'uploading', payload: name, bytes: bytes.length });
    try {
      await this.backend.upload(name, bytes);
    } catch (error) {
      if (!(error instanceof XenError)) throw error;
      throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}) while restoring it from xlp's copy${known ? '' : ' (it had been unloaded)'}`, []);
    }
    await this.registry.markUploaded(name);
    this.emit('progress', { phase: 'done', payload: name, action: 'UPLOAD', outcome: 'done', status: { state: 'CHECKED', rc: 0 } });
  }

  private planSteps(steps: readonly JournalStep[], reloads: ReadonlySet<string>, inventory: HookInventory): PlanStep[] {
    const out: PlanStep[] = [];
    for (const s of steps) {
      if (s.action === 'REVERT') out.push(revertStep(s.payload, inventory));
      else if (s.action === 'APPLY') {
        if (reloads.has(s.payload)) out.push(simpleStep('RELOAD', s.payload, "unloaded and uploaded again from xlp's copy: Xen does not apply it twice"));
        out.push(applyStep(s.payload, inventory, s.nodeps ? 'NODEPS' : undefined));
      } else out.push(simpleStep(s.action === 'UPLOAD' ? 'UPLOAD' : 'UNLOAD', s.payload));
    }
    return out;
  }

  /** Why `recover --complete` cannot finish this journal, if it cannot. */
  private async completeRefusal(journal: Journal): Promise<WorkflowError | null> {
    if (journal.phase === 'rollback') {
      return new RefusedError(
        `the interrupted \`${journal.command}\` had already failed${journal.failure ? ` (${journal.failure.message})` : ''} and begun rolling back; ` +
          'it can only be rolled back: run `xlp recover`',
        { payload: journal.target },
      );
    }
    if (journal.workflow === 'load' && !(await this.statusOrNull(journal.target))) {
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
    await this.console.sync();
    try {
      await this.backend.upload(name, bytes);
    } catch (error) {
      if (!(error instanceof XenError)) throw error;
      const lines = eventsFor((await this.console.read()).join('\n'), name).map((e) => e.line);
      const predicted = report.uploadError
        ? `preflight predicted ${report.uploadError.code} (${errnoCode(report.uploadError.errno ?? 0)})`
        : 'preflight predicted it would be accepted: please report this disagreement';
      throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}); ${predicted}`, lines);
    }
    if (report.payload) await this.registry.record(name, bytes, report.payload);
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
      await this.journal.clear();
      note(error, `${name} stays uploaded (--keep)`);
      return;
    }
    await this.journal.write({ ...journal, phase: 'rollback', failure: failureOf(error) });
    try {
      const st = await this.statusOrNull(name);
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
        await this.registry.forget(name);
        note(error, `${name} was unloaded again, leaving the hypervisor as it was`);
      } else if (st?.state === 'APPLIED') {
        // The apply completed after all (e.g. the wait was abandoned): leave the decision to recover.
        note(error, `${name} is applied after all; run \`xlp recover\` to undo the load or \`xlp recover --complete\` to keep it`);
        return;
      }
      await this.journal.clear();
    } catch (undoError) {
      note(error, `unloading ${name} again failed (${undoError instanceof Error ? undoError.message : String(undoError)}); run \`xlp recover\``);
    }
  }

  private async step(journal: Journal, index: number, state: 'started' | 'done'): Promise<Journal> {
    const next = markStep(journal, index, state);
    await this.journal.write(next);
    return next;
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
        const refusal = await this.journalRefusal();
        if (refusal) throw refusal;
      }
      return await fn();
    } finally {
      await lock.release();
    }
  }

  private async journalRefusal(): Promise<JournalPendingError | null> {
    const pending = await this.journal.read();
    return pending ? journalPending(pending, this.journal.path) : null;
  }

  private request(options: WaitOptions & { nodeps?: boolean }): Request {
    return {
      waitMs: options.timeout ?? this.waitMs,
      ...(options.quiesceTimeoutNs === undefined ? {} : { timeoutNs: options.quiesceTimeoutNs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.nodeps ? { nodeps: true } : {}),
    };
  }

  private context(): ActionContext {
    return {
      backend: this.backend,
      console: this.console,
      emit: (e) => this.emit('progress', e),
      facts: (name) => this.facts(name),
      top: () => this.top(),
      xenBuildId: async () => (await this.backend.xenVersion()).buildId,
    };
  }

  private async facts(name: string): Promise<{ buildId: BuildIdHex | null; dependsOn: BuildIdHex | null; hooks: RegistryRecord['vetoingHooks'] | null; safeToReapply: boolean | null } | null> {
    const r = await this.registry.get(name);
    return r ? { buildId: r.buildId, dependsOn: r.depends, hooks: r.hooks.map((h) => h.kind), safeToReapply: r.safeToReapply } : null;
  }

  private async top(): Promise<{ name: string; buildId: BuildIdHex | null } | null> {
    try {
      const top = (await this.stackForWorkflow()).view.applied.at(-1);
      return top ? { name: top.name, buildId: top.buildId } : null;
    } catch {
      return null;
    }
  }

  /**
   * The stack as the workflows need it: from the `x` dump, or, when the console cannot be read
   * (XSM may deny it), from LIST and the order in which xlp applied payloads (then uncertain).
   */
  private async stackForWorkflow(): Promise<{ view: StackView; warnings: string[] }> {
    try {
      return { view: await this.stack(), warnings: [] };
    } catch (error) {
      const listed = await this.backend.list();
      const records = new Map((await this.registry.all()).map((r) => [r.name, r]));
      const applied = listed.filter((p) => p.state === 'APPLIED');
      applied.sort((a, b) => (records.get(a.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER) - (records.get(b.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER));
      const entries = applied.map((p, i): StackEntry => {
        const r = records.get(p.name);
        const hooks = r ? r.hooks.map((h) => h.kind) : null;
        return { position: i + 1, name: p.name, buildId: r?.buildId ?? null, dependsOn: r?.depends ?? null, hooks, vetoingHooks: r ? [...r.vetoingHooks] : null, chained: false };
      });
      return {
        view: {
          xenBuildId: (await this.backend.xenVersion()).buildId,
          applied: entries,
          loaded: listed.map((p) => ({
            name: p.name,
            state: p.state,
            buildId: records.get(p.name)?.buildId ?? null,
            dependsOn: records.get(p.name)?.depends ?? null,
            dependsOnXen: records.get(p.name)?.xenDepends ?? null,
            metadata: [],
            funcs: [],
          })),
          orderCertain: entries.length <= 1,
        },
        warnings: [`the stack order is inferred from what xlp applied (${error instanceof Error ? error.message : String(error)})`],
      };
    }
  }

  private async statusOrNull(name: string): Promise<PayloadStatus | null> {
    try {
      return await statusOf(this.backend, name);
    } catch (e) {
      if (e instanceof NotLoadedError) return null;
      throw e;
    }
  }

  /**
   * The registry record for `name`, if the hypervisor still holds that very payload: loaded under
   * that name and, when the `x` dump tells, with the recorded build-id.
   */
  private async trustedRecord(name: string, view?: StackView): Promise<RegistryRecord | null> {
    const rec = await this.registry.get(name);
    if (!rec) return null;
    if (view) {
      const dumped = view.loaded.find((p) => p.name === name);
      if (!dumped) return null;
      return dumped.buildId && rec.buildId && dumped.buildId !== rec.buildId ? null : rec;
    }
    return (await this.statusOrNull(name)) ? rec : null;
  }

  private async inventory(): Promise<HookInventory> {
    const records = new Map((await this.registry.all()).map((r) => [r.name, hookInventory(r)]));
    return (p) => records.get(p) ?? null;
  }

  private async preflightWithContext(bytes: Uint8Array, name: string): Promise<PreflightReport> {
    const [version, listed, records, xenSymbols] = await Promise.all([
      this.backend.xenVersion(),
      this.backend.list(),
      this.registry.all(),
      this.xenSymbols(),
    ]);
    const byName = new Map(records.map((r) => [r.name, r]));
    // Imported here, not with the workflows: reading commands (list, status, stack) never need it.
    const { preflight } = await import('../preflight/preflight.js');
    return preflight(bytes, {
      name,
      xenVersion: { major: version.major, minor: version.minor },
      context: {
        xenBuildId: version.buildId,
        loaded: listed.map((p) => {
          const r = byName.get(p.name);
          return { name: p.name, buildId: r?.buildId ?? null, symbols: r?.symbols ?? [] };
        }),
        ...(xenSymbols ? { xenSymbols } : {}),
      },
    });
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

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof WorkflowError || error instanceof XenError) return { code: error.code, message: error.message };
  return { code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

function note(error: unknown, text: string): void {
  if (error instanceof WorkflowError) error.notes.push(text);
}

function journalPending(j: Journal, path: string): JournalPendingError {
  const at = j.steps.findIndex((s) => s.state !== 'done');
  const where =
    j.phase === 'rollback'
      ? `it had failed (${j.failure?.message ?? 'unknown error'}) and was rolling back`
      : at < 0
        ? 'all its steps were done'
        : `step ${at + 1} of ${j.steps.length} (${j.steps[at]!.action} ${j.steps[at]!.payload}) was ${j.steps[at]!.state}`;
  return new JournalPendingError(
    `an interrupted \`${j.command}\` (pid ${j.pid}, started ${j.startedAt}) left a journal: ${where}; ` +
      'run `xlp recover` to roll it back, or `xlp recover --complete` to finish it, before anything else changes the hypervisor',
    { payload: j.target, command: j.command, journalPath: path },
  );
}

/**
 * Reads a payload from a file (size-checked before it is read whole: Xen takes at most 2 MiB) or
 * takes the bytes given, and settles its name. The file is opened without blocking (a FIFO or a
 * device is refused, not waited on) and read in a loop up to the size it had when checked.
 */
export async function readSource(source: PayloadSource, name?: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source !== 'string') {
    if (name === undefined) throw new TypeError('a payload given as bytes needs a name');
    validatePayloadName(name);
    if (source.length > PAYLOAD_MAX_SIZE) throw tooLarge(name, `the payload is ${source.length} bytes`);
    return { bytes: source, name };
  }
  const derived = name ?? basename(source).replace(/(.)\.[^.]*$/, '$1');
  validatePayloadName(derived);
  const fh = await open(source, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RefusedError(`${source} is not a regular file`, { payload: derived });
    if (st.size > PAYLOAD_MAX_SIZE) throw tooLarge(derived, `${source} is ${st.size} bytes`);
    const bytes = Buffer.alloc(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await fh.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: bytes.subarray(0, filled), name: derived };
  } finally {
    await fh.close();
  }
}

function tooLarge(name: string, what: string): PreflightError {
  return new PreflightError(
    name,
    [
      {
        code: 'payload-too-large',
        check: 'upload',
        group: 'upload',
        severity: 'error',
        errno: ERRNO.EINVAL,
        message: `${what}; Xen accepts payloads of at most ${PAYLOAD_MAX_SIZE} bytes (2 MiB)`,
      },
    ],
    false,
  );
}

