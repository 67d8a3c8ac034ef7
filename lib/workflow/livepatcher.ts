import { EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Backend, PayloadListEntry } from '../backend/backend.js';
import { ensurePrivateDir } from '../fs/private-dir.js';
import { acquireLock, LockTimeoutError } from '../fs/lock.js';
import { preflight } from '../preflight/index.js';
import type { PreflightReport, SymbolTable } from '../preflight/types.js';
import { validatePayloadName } from './names.js';
import { ERRNO, errnoCode, errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import { type BuildIdHex, type HookKind, PAYLOAD_MAX_SIZE, type PayloadStatus } from '../xen/domain.js';
import { consoleLines, eventsFor } from './console-events.js';
import { ConsoleWatcher } from './console-watcher.js';
import { JournalPendingError, LockedError, PreflightError, RefusedError, ReplaceRefusedError, DependencyError, UploadFailedError, WorkflowError } from './errors.js';
import { type Journal, JournalStore, type JournalStep, markStep } from './journal.js';
import { applyStep, type HookInventory, type Plan, type PlanStep, replaceStep, revertStep, simpleStep } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { hookInventory, PayloadRegistry, type RegistryRecord } from './registry.js';
import { type ActionContext, type ActionResult, runAction } from './run-action.js';
import { orderStack, readDebugDump, type StackView } from './stack.js';

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
  /** Overrides the completion wait (ms). */
  readonly waitMs?: number;
  /** The hypervisor's quiesce timeout in ns (Xen's default, 30 ms, when absent). */
  readonly timeoutNs?: number;
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
  readonly force?: boolean;
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
  /** Every action taken, in order. */
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

  static async open(options: LivepatcherOptions): Promise<Livepatcher> {
    await ensurePrivateDir(options.stateDir);
    return new Livepatcher(options, options.stateDir);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  // --- reading -------------------------------------------------------------------------------

  status(name: string): Promise<PayloadStatus> {
    validatePayloadName(name);
    return this.backend.get(name);
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
    const ring = await this.backend.readConsole({ incremental: false });
    if (payload !== undefined) return eventsFor(ring, payload).map((e) => e.line);
    return consoleLines(ring)
      .filter((l) => l.text !== null)
      .map((l) => l.raw);
  }

  /** The journal an interrupted workflow left behind, if any. */
  pendingJournal(): Promise<Journal | null> {
    return this.journal.read();
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
    const inv = report.payload ? inventoryOf(report.payload.hooks.filter((h) => !h.isNull).map((h) => h.kind)) : null;
    const inventory: HookInventory = (p) => (p === name ? inv : null);
    const warnings = report.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.severity}: ${d.message}`);
    return {
      command: `load ${name}`,
      steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`), applyStep(name, inventory, options.nodeps ? 'NODEPS' : undefined)],
      warnings,
    };
  }

  async planApply(name: string, options: ApplyOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const status = await this.backend.get(name);
    if (status.state === 'APPLIED') return { command: `apply ${name}`, steps: [], warnings: [`${name} is already applied: nothing to do`] };
    return { command: `apply ${name}`, steps: [applyStep(name, await this.inventory(), options.nodeps ? 'NODEPS' : undefined)], warnings: [] };
  }

  async planRevert(name: string): Promise<Plan> {
    validatePayloadName(name);
    const status = await this.backend.get(name);
    if (status.state === 'CHECKED') return { command: `revert ${name}`, steps: [], warnings: [`${name} is not applied: nothing to do`] };
    return { command: `revert ${name}`, steps: [revertStep(name, await this.inventory())], warnings: [] };
  }

  async planUnload(name: string): Promise<Plan> {
    validatePayloadName(name);
    const status = await this.backend.get(name);
    const warnings = status.state === 'APPLIED' ? [`${name} is applied: revert it first (Xen refuses to unload it)`] : [];
    return { command: `unload ${name}`, steps: status.state === 'APPLIED' ? [] : [simpleStep('UNLOAD', name, 'no hooks run at unload')], warnings };
  }

  async planReplace(name: string, options: ReplaceOptions = {}): Promise<Plan> {
    validatePayloadName(name);
    const view = await this.stack();
    const inventory = await this.inventory();
    const applied = view.applied.map((e) => e.name).filter((n) => n !== name);
    const warnings = await this.replaceWarnings(name, view, options);
    if (!options.sequential) {
      return { command: `replace ${name}`, steps: [replaceStep(name, [...applied].reverse(), inventory)], warnings };
    }
    const steps: PlanStep[] = [...applied].reverse().map((n) => revertStep(n, inventory));
    steps.push(applyStep(name, inventory, options.nodeps ? 'NODEPS' : undefined));
    return { command: `replace --sequential ${name}`, steps, warnings };
  }

  // --- mutating workflows ----------------------------------------------------------------------

  /** Preflight, upload, apply and wait. If the apply fails, what this call uploaded is unloaded. */
  async load(source: PayloadSource, options: LoadOptions = {}): Promise<LoadResult> {
    const { bytes, name } = await readSource(source, options.name);
    this.emit('progress', { phase: 'preflight', payload: name });
    const report = await this.preflightWithContext(bytes, name);
    refuseOnPreflight(name, report, options.force === true);
    return this.mutate(`load ${name}`, async () => {
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
        await this.registry.markApplied(name);
        await this.journal.clear();
        return { payload: name, upload, apply };
      } catch (error) {
        await this.undoLoad(name, journal, error, options.keep === true);
        throw error;
      }
    });
  }

  async upload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<UploadResult> {
    const { bytes } = await readSource(source, name);
    this.emit('progress', { phase: 'preflight', payload: name });
    const report = await this.preflightWithContext(bytes, name);
    refuseOnPreflight(name, report, options.force === true);
    return this.mutate(`upload ${name}`, () => this.doUpload(name, bytes, report));
  }

  async apply(name: string, options: ApplyOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    return this.mutate(`apply ${name}`, async () => {
      const result = await runAction(this.context(), name, 'APPLY', this.request(options));
      if (result.outcome === 'done') await this.registry.markApplied(name);
      return result;
    });
  }

  async revert(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    return this.mutate(`revert ${name}`, () => runAction(this.context(), name, 'REVERT', this.request(options)));
  }

  async unload(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    validatePayloadName(name);
    return this.mutate(`unload ${name}`, async () => {
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
    return this.mutate(`replace ${options.sequential ? '--sequential ' : ''}${name}`, async () => {
      const view = await this.stack();
      const target = await this.backend.get(name);
      if (target.state === 'APPLIED' && view.applied.length === 1) {
        const nothing: ActionResult = { payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status: target, console: [], hooks: [], elapsedMs: 0 };
        return { payload: name, sequential: options.sequential === true, steps: [nothing] };
      }
      return options.sequential ? this.replaceSequential(name, view, options) : this.replaceAtomic(name, view, options);
    });
  }

  /** Completes or rolls back what an interrupted workflow left, as its journal describes. */
  async recover(options: RecoverOptions = {}): Promise<RecoverResult> {
    return this.mutate('recover', async () => {
      const journal = await this.journal.read();
      if (!journal) return { journal: null, mode: 'none', steps: [] };
      const steps: ActionResult[] = [];
      const mode = options.complete ? 'complete' : 'rollback';
      const req = this.request(options);
      if (journal.workflow === 'load') {
        const exists = await this.exists(journal.target);
        if (mode === 'complete') {
          if (!exists) throw new RefusedError(`the interrupted load never uploaded ${JSON.stringify(journal.target)}; run \`xlp load\` again`, { payload: journal.target });
          steps.push(await runAction(this.context(), journal.target, 'APPLY', { ...req, nodeps: journal.steps[1]?.nodeps }));
        } else if (exists) {
          const st = await this.backend.get(journal.target);
          if (st.state === 'APPLIED') steps.push(await runAction(this.context(), journal.target, 'REVERT', req));
          steps.push(await runAction(this.context(), journal.target, 'UNLOAD', req));
          await this.registry.forget(journal.target);
        }
      } else if (mode === 'complete') {
        for (const s of journal.steps) {
          if (s.action === 'REVERT' || s.action === 'APPLY') {
            steps.push(await runAction(this.context(), s.payload, s.action, { ...req, nodeps: s.nodeps }));
          }
        }
      } else {
        steps.push(...(await this.restoreStack(journal.target, journal.originalStack, req)));
      }
      await this.journal.clear();
      return { journal, mode, steps };
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private async replaceAtomic(name: string, view: StackView, options: ReplaceOptions): Promise<ReplaceResult> {
    const offenders = await this.vetoingOffenders(name, view);
    if (offenders.length) throw new ReplaceRefusedError(name, offenders);
    const rec = await this.trustedRecord(name);
    const xenId = await this.xenBuildId();
    if (rec?.depends && xenId && rec.depends !== xenId) {
      throw new DependencyError(name, { errno: ERRNO.EINVAL, dependsOn: rec.depends, against: 'hypervisor', againstBuildId: xenId }, []);
    }
    const others = view.applied.map((e) => e.name).filter((n) => n !== name);
    try {
      const result = await runAction(this.context(), name, 'REPLACE', this.request(options), others);
      if (result.outcome === 'done') await this.registry.markApplied(name);
      return { payload: name, sequential: false, steps: [result] };
    } catch (error) {
      if (error instanceof ReplaceRefusedError && error.offenders.length === 0) {
        // Xen refused on hooks this tool did not know about (payloads uploaded by other tools).
        const unknown = view.applied.filter((e) => e.hooks === null).map((e) => ({ payload: e.name, hooks: ['unknown'] as unknown as HookKind[] }));
        throw new ReplaceRefusedError(name, unknown, error.consoleLines);
      }
      throw error;
    }
  }

  private async replaceSequential(name: string, view: StackView, options: ReplaceOptions): Promise<ReplaceResult> {
    const originalStack = view.applied.map((e) => e.name).filter((n) => n !== name);
    const warnings = await this.replaceWarnings(name, view, options);
    const blocking = warnings.filter((w) => w.startsWith('cannot restore'));
    if (blocking.length && !options.force) {
      throw new RefusedError(`replace --sequential ${name} refused: ${blocking.join('; ')}; pass --force to accept that risk`, { payload: name });
    }
    const req = this.request(options);
    const plan: JournalStep[] = [...originalStack].reverse().map((p) => ({ action: 'REVERT', payload: p, state: 'pending' }));
    plan.push({ action: 'APPLY', payload: name, state: 'pending', ...(options.nodeps ? { nodeps: true } : {}) });
    let journal: Journal = {
      version: 1,
      workflow: 'replace-sequential',
      command: `replace --sequential ${name}`,
      startedAt: new Date().toISOString(),
      pid: process.pid,
      target: name,
      originalStack,
      phase: 'forward',
      steps: plan,
      uploadedByWorkflow: false,
    };
    await this.journal.write(journal);
    const done: ActionResult[] = [];
    for (const [i, s] of plan.entries()) {
      this.emit('progress', { phase: 'step', index: i + 1, total: plan.length, description: `${s.action} ${s.payload}` });
      journal = await this.step(journal, i, 'started');
      try {
        const r = await runAction(this.context(), s.payload, s.action as 'APPLY' | 'REVERT', { ...req, nodeps: s.nodeps });
        done.push(r);
        if (s.action === 'APPLY' && r.outcome === 'done') await this.registry.markApplied(s.payload);
      } catch (error) {
        journal = { ...journal, phase: 'rollback', failure: failureOf(error) };
        await this.journal.write(journal);
        try {
          await this.restoreStack(name, originalStack, req);
          await this.journal.clear();
          note(error, `rolled back: the previous stack (${originalStack.join(', ') || 'empty'}) is applied again`);
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

  /** Brings the applied stack back to `original` (bottom first), with `target` reverted. */
  private async restoreStack(target: string, original: readonly string[], req: ReturnType<Livepatcher['request']>): Promise<ActionResult[]> {
    const steps: ActionResult[] = [];
    if ((await this.exists(target)) && (await this.backend.get(target)).state === 'APPLIED') {
      steps.push(await runAction(this.context(), target, 'REVERT', req));
    }
    for (const p of original) {
      const st = await this.backend.get(p);
      if (st.state === 'APPLIED') continue;
      const rec = await this.trustedRecord(p);
      if (rec && !rec.safeToReapply) {
        // Xen will not apply a reverted payload with writable data again: reload it from our copy.
        const bytes = await this.registry.bytes(p);
        if (!bytes) throw new RefusedError(`cannot restore ${JSON.stringify(p)}: Xen will not re-apply it and its bytes are not in the registry`, { payload: p });
        steps.push(await runAction(this.context(), p, 'UNLOAD', req));
        await this.backend.upload(p, bytes);
      }
      steps.push(await runAction(this.context(), p, 'APPLY', req));
      await this.registry.markApplied(p);
    }
    return steps;
  }

  private async replaceWarnings(name: string, view: StackView, options: ReplaceOptions): Promise<string[]> {
    const warnings: string[] = [];
    const rec = await this.trustedRecord(name);
    if (!rec) warnings.push(`${name} was not uploaded by xlp: its hooks and dependencies are not known, so Xen will be the judge`);
    const xenId = view.xenBuildId;
    if (rec?.depends && xenId && rec.depends !== xenId && !options.nodeps) {
      warnings.push(`${name} depends on ${rec.depends}, not on the hypervisor (${xenId}): it cannot be applied on an empty stack`);
    }
    if (options.sequential) {
      for (const e of view.applied) {
        if (e.name === name) continue;
        const r = await this.trustedRecord(e.name);
        if (!r) warnings.push(`cannot restore ${e.name} for certain if a later step fails: it was not uploaded by xlp`);
        else if (!r.safeToReapply && !(await this.registry.bytes(e.name))) {
          warnings.push(`cannot restore ${e.name} if a later step fails: Xen will not re-apply it and its bytes are not in the registry`);
        }
      }
    } else {
      for (const o of await this.vetoingOffenders(name, view)) {
        warnings.push(`Xen will refuse: ${o.payload} has vetoing hooks (${o.hooks.join(', ')}); use --sequential`);
      }
    }
    if (!view.orderCertain) warnings.push('the stack order was partly inferred (payloads applied with --nodeps)');
    return warnings;
  }

  private async vetoingOffenders(name: string, view: StackView): Promise<{ payload: string; hooks: HookKind[] }[]> {
    const offenders: { payload: string; hooks: HookKind[] }[] = [];
    const rec = await this.trustedRecord(name);
    if (rec?.vetoingHooks.length) offenders.push({ payload: name, hooks: [...rec.vetoingHooks] });
    for (const e of view.applied) {
      if (e.name !== name && e.vetoingHooks?.length) offenders.push({ payload: e.name, hooks: [...e.vetoingHooks] });
    }
    return offenders;
  }

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

  private async undoLoad(name: string, journal: Journal, error: unknown, keep: boolean): Promise<void> {
    if (keep) {
      await this.journal.clear();
      note(error, `${name} stays uploaded (--keep)`);
      return;
    }
    await this.journal.write({ ...journal, phase: 'rollback', failure: failureOf(error) });
    try {
      const st = await this.backend.get(name);
      if (st.rc === -ERRNO.EAGAIN) {
        note(error, `${name} still has an action pending; it was left uploaded: run \`xlp recover\` once it completes`);
        return;
      }
      if (st.state === 'CHECKED') {
        await this.backend.action(name, 'UNLOAD');
        await this.registry.forget(name);
        note(error, `${name} was unloaded again, leaving the hypervisor as it was`);
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
  private async mutate<T>(purpose: string, fn: () => Promise<T>): Promise<T> {
    let lock;
    try {
      lock = await acquireLock(join(this.stateDir, 'lock'), { timeoutMs: this.lockTimeoutMs, purpose: `xlp ${purpose}` });
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        const h = error.holder;
        throw new LockedError(
          h
            ? `another xlp holds the host lock: pid ${h.pid} (${h.purpose}) since ${h.acquiredAt}; gave up after ${error.waitedMs} ms (--lock-timeout)`
            : `the host lock ${error.path} is held; gave up after ${error.waitedMs} ms (--lock-timeout)`,
        );
      }
      throw error;
    }
    try {
      if (purpose !== 'recover') {
        const pending = await this.journal.read();
        if (pending) throw journalPending(pending);
      }
      return await fn();
    } finally {
      await lock.release();
    }
  }

  private request(options: WaitOptions & { nodeps?: boolean }): { waitMs: number; timeoutNs?: number; signal?: AbortSignal; nodeps?: boolean } {
    return {
      waitMs: options.waitMs ?? this.waitMs,
      ...(options.timeoutNs === undefined ? {} : { timeoutNs: options.timeoutNs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.nodeps ? { nodeps: true } : {}),
    };
  }

  private context(): ActionContext {
    return {
      backend: this.backend,
      console: this.console,
      emit: (e) => this.emit('progress', e),
      facts: async (name) => {
        const r = await this.registry.get(name);
        return r ? { buildId: r.buildId, dependsOn: r.depends, hooks: r.hooks.map((h) => h.kind) } : null;
      },
      top: async () => {
        try {
          const top = (await this.stack()).applied.at(-1);
          return top ? { name: top.name, buildId: top.buildId } : null;
        } catch {
          return null;
        }
      },
      xenBuildId: () => this.xenBuildId(),
    };
  }

  private async xenBuildId(): Promise<BuildIdHex | null> {
    return (await this.backend.xenVersion()).buildId;
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await this.backend.get(name);
      return true;
    } catch (e) {
      if (e instanceof XenError && e.code === 'ENOENT') return false;
      throw e;
    }
  }

  /** The registry record for `name`, if the hypervisor still holds that very payload. */
  private async trustedRecord(name: string): Promise<RegistryRecord | null> {
    const rec = await this.registry.get(name);
    if (!rec) return null;
    return (await this.exists(name)) ? rec : null;
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

function refuseOnPreflight(name: string, report: PreflightReport, force: boolean): void {
  if (report.fatal) throw new PreflightError(name, report.diagnostics, true);
  const errors = report.diagnostics.filter((d) => d.severity === 'error' && d.group !== 'apply');
  if (errors.length && !force) throw new PreflightError(name, report.diagnostics, false);
}

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof WorkflowError || error instanceof XenError) return { code: error.code, message: error.message };
  return { code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

function note(error: unknown, text: string): void {
  if (error instanceof WorkflowError) error.notes.push(text);
}

function journalPending(j: Journal): JournalPendingError {
  const at = j.steps.findIndex((s) => s.state !== 'done');
  const where = at < 0 ? 'all steps were done' : `step ${at + 1} of ${j.steps.length} (${j.steps[at]!.action} ${j.steps[at]!.payload}) was ${j.steps[at]!.state}`;
  return new JournalPendingError(
    `an interrupted \`${j.command}\` (pid ${j.pid}, started ${j.startedAt}) left a journal: ${where}; ` +
      'run `xlp recover` to roll it back, or `xlp recover --complete` to finish it',
    { payload: j.target },
  );
}

/**
 * Reads a payload from a file (size-checked before it is read whole: Xen takes at most 2 MiB) or
 * takes the bytes given, and settles its name.
 */
export async function readSource(source: PayloadSource, name?: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source !== 'string') {
    if (name === undefined) throw new TypeError('a payload given as bytes needs a name');
    validatePayloadName(name);
    return { bytes: source, name };
  }
  const derived = name ?? basename(source).replace(/\.[^.]*$/, '');
  validatePayloadName(derived);
  const fh = await open(source, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RefusedError(`${source} is not a regular file`, { payload: derived });
    if (st.size > PAYLOAD_MAX_SIZE) {
      throw new PreflightError(
        derived,
        [
          {
            code: 'payload-too-large',
            check: 'upload',
            group: 'upload',
            severity: 'error',
            errno: ERRNO.EINVAL,
            message: `${source} is ${st.size} bytes; Xen accepts payloads of at most ${PAYLOAD_MAX_SIZE} bytes (2 MiB)`,
          },
        ],
        false,
      );
    }
    const bytes = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(bytes, 0, st.size, 0);
    return { bytes: bytes.subarray(0, bytesRead), name: derived };
  } finally {
    await fh.close();
  }
}
