import type { Backend } from '../backend/backend.js';
import type { PreflightReport, SymbolTable } from '../preflight/types.js';
import type { BuildIdHex, PayloadStatus } from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import type { ConsoleWatcher } from './console-watcher.js';
import { JournalPendingError, NotLoadedError } from './errors.js';
import { type InFlightAction, InFlightStore } from './in-flight.js';
import { type Journal, journalOrigin, type JournalStore, markStep } from './journal.js';
import type { HookInventory } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { hookInventory, type PayloadRegistry, type RegistryRecord } from './registry.js';
import type { ActionContext, ActionRequest } from './run-action.js';
import { readStack, type StackOptions } from './read-stack.js';
import type { StackView } from './stack.js';
import { statusOf } from './status.js';
import type { WaitOptions } from './types.js';
import { hypervisorContext } from '../host/context.js';

export interface WorkspaceParts {
  readonly backend: Backend;
  readonly stateDir: string;
  readonly registry: PayloadRegistry;
  readonly journal: JournalStore;
  readonly console: ConsoleWatcher;
  readonly waitMs: number;
  /** The least an undo waits for an action still pending (see LivepatcherOptions.settleTimeoutMs). */
  readonly settleMs: number;
  readonly xenSymbols: () => Promise<SymbolTable | undefined>;
  readonly emit: (event: ProgressEvent) => void;
}

/**
 * What every workflow works with: the backend, this host's registry, journal and console cursor,
 * and the views of the hypervisor built from them (the stack, trusted registry records, the
 * preflight context). The Livepatcher's workflows are written against it.
 */
export class Workspace {
  readonly backend: Backend;
  readonly stateDir: string;
  readonly registry: PayloadRegistry;
  readonly journal: JournalStore;
  readonly console: ConsoleWatcher;
  readonly emit: (event: ProgressEvent) => void;
  /** The action xlp issued and has not seen complete (see in-flight.ts). */
  readonly inFlight: InFlightStore;
  private readonly waitMs: number;
  private readonly settleMs: number;
  private readonly xenSymbols: () => Promise<SymbolTable | undefined>;

  constructor(parts: WorkspaceParts) {
    this.backend = parts.backend;
    this.stateDir = parts.stateDir;
    this.registry = parts.registry;
    this.journal = parts.journal;
    this.console = parts.console;
    this.emit = parts.emit;
    this.waitMs = parts.waitMs;
    this.settleMs = parts.settleMs;
    this.xenSymbols = parts.xenSymbols;
    this.inFlight = new InFlightStore(parts.stateDir, parts.backend, (e) => this.emit(e));
  }

  /**
   * The action still pending in the hypervisor that a journal's workflow issued: the in-flight
   * record, else (a journal written by a process that had no record) a `started` step whose
   * payload's rc still says -EAGAIN. Null when nothing is pending.
   */
  async pendingAction(journal: Journal | null): Promise<InFlightAction | null> {
    const recorded = await this.inFlight.pending();
    if (recorded || !journal) return recorded;
    for (const s of journal.steps) {
      if (s.state !== 'started' || (s.action !== 'APPLY' && s.action !== 'REVERT')) continue;
      const st = await this.statusOrNull(s.payload);
      if (st?.rc === -ERRNO.EAGAIN) return { version: 1, payload: s.payload, action: s.action, issuedAt: journal.startedAt, pid: journal.pid };
    }
    return null;
  }

  request(options: WaitOptions & { nodeps?: boolean }): ActionRequest {
    return {
      waitMs: options.timeout ?? this.waitMs,
      ...(options.quiesceTimeoutNs === undefined ? {} : { timeoutNs: options.quiesceTimeoutNs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.nodeps ? { nodeps: true } : {}),
    };
  }

  /**
   * The request an undo runs with: to its end (the caller's signal may be what stopped the
   * workflow), waiting for a still pending action at least `settleMs`, whatever --timeout was.
   */
  undoRequest(req: ActionRequest): ActionRequest {
    return { ...req, signal: undefined, waitMs: Math.max(req.waitMs, this.settleMs) };
  }

  context(): ActionContext {
    return {
      backend: this.backend,
      console: this.console,
      emit: (e) => this.emit(e),
      facts: (name) => this.facts(name),
      top: () => this.top(),
      xenBuildId: async () => (await this.backend.xenVersion()).buildId,
      inFlight: this.inFlight,
    };
  }

  async facts(name: string): Promise<{ buildId: BuildIdHex | null; dependsOn: BuildIdHex | null; hooks: RegistryRecord['vetoingHooks'] | null; safeToReapply: boolean | null } | null> {
    const r = await this.registry.get(name);
    return r ? { buildId: r.buildId, dependsOn: r.depends, hooks: r.hooks.map((h) => h.kind), safeToReapply: r.safeToReapply } : null;
  }

  async top(): Promise<{ name: string; buildId: BuildIdHex | null } | null> {
    try {
      const top = (await this.stackForWorkflow()).view.applied.at(-1);
      return top ? { name: top.name, buildId: top.buildId } : null;
    } catch {
      return null;
    }
  }

  /**
   * The applied stack: from LIST and xlp's registry, and from the hypervisor's `x` dump only when a
   * payload xlp did not upload is applied (or `dump: 'always'`). Never fails for want of the dump:
   * what is not known is said in `certainty`.
   */
  stack(options: StackOptions = {}): Promise<StackView> {
    return readStack({ backend: this.backend, registry: this.registry, console: this.console }, options);
  }

  /** The stack as the workflows need it, with what is not known about it as warnings. */
  async stackForWorkflow(): Promise<{ view: StackView; warnings: string[] }> {
    const view = await this.stack();
    return { view, warnings: view.certainty.notes.map((n) => `stack: ${n}`) };
  }

  async statusOrNull(name: string): Promise<PayloadStatus | null> {
    try {
      return await statusOf(this.backend, name);
    } catch (e) {
      if (e instanceof NotLoadedError) return null;
      throw e;
    }
  }

  /**
   * The registry record for `name`, if the hypervisor still holds that very payload: with a view,
   * as the view judged it (LIST's metadata and upload order, and the `x` dump when it was read);
   * without one, while a payload of that name is loaded.
   */
  async trustedRecord(name: string, view?: StackView): Promise<RegistryRecord | null> {
    if (view && !view.loaded.some((p) => p.name === name && p.evidence === 'registry')) return null;
    const rec = await this.registry.get(name);
    if (!rec) return null;
    if (view) return rec;
    return (await this.statusOrNull(name)) ? rec : null;
  }

  async inventory(): Promise<HookInventory> {
    const records = new Map((await this.registry.all()).map((r) => [r.name, hookInventory(r)]));
    return (p) => records.get(p) ?? null;
  }

  /**
   * Preflight with the running hypervisor as context: its version and build-id, what is loaded
   * (names, build-ids, symbols). With `stack`, also the applied stack, so the APPLY dependency
   * check is predicted too (for `load`, which applies right after uploading); only when the stack's
   * order is certain, since that check is against its top.
   */
  async preflightWithContext(bytes: Uint8Array, name: string, options: { stack?: boolean } = {}): Promise<PreflightReport> {
    const { context, version } = await hypervisorContext({ backend: this.backend, known: this.registry, xenSymbols: this.xenSymbols });
    let appliedBuildIds: (BuildIdHex | null)[] | undefined;
    if (options.stack) {
      const { view, warnings } = await this.stackForWorkflow();
      if (warnings.length === 0 && view.orderCertain && view.applied.every((e) => e.buildId !== null)) appliedBuildIds = view.applied.map((e) => e.buildId);
    }
    // Imported here, not with the workflows: reading commands (list, status, stack) never need it.
    const { preflight } = await import('../preflight/preflight.js');
    return preflight(bytes, { name, xenVersion: version, context: { ...context, ...(appliedBuildIds ? { appliedBuildIds } : {}) } });
  }

  async journalRefusal(): Promise<JournalPendingError | null> {
    const pending = await this.journal.read();
    return pending ? journalPending(pending, this.journal.path) : null;
  }

  async step(journal: Journal, index: number, state: 'started' | 'done'): Promise<Journal> {
    const next = markStep(journal, index, state);
    await this.journal.write(next);
    return next;
  }

  /**
   * After a workflow of this process failed and could not undo everything: its journal stays for
   * `xlp recover`, marked as ended (the process finished; it was not interrupted).
   */
  async endJournal(failure: { code: string; message: string }): Promise<void> {
    const j = await this.journal.read().catch(() => null);
    if (!j || j.pid !== process.pid || j.endedAt) return;
    await this.journal.write({ ...j, phase: 'rollback', failure: j.failure ?? failure, endedAt: new Date().toISOString() });
  }
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
    `${journalOrigin(j)} left a journal: ${where}; ` +
      'run `xlp recover` to roll it back, or `xlp recover --complete` to finish it, before anything else changes the hypervisor',
    { payload: j.target, command: j.command, journalPath: path },
  );
}
