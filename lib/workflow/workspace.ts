import type { Backend } from '../backend/backend.js';
import type { PreflightReport, SymbolTable } from '../preflight/types.js';
import type { BuildIdHex, PayloadStatus } from '../xen/domain.js';
import type { ConsoleWatcher } from './console-watcher.js';
import { JournalPendingError, NotLoadedError } from './errors.js';
import { type Journal, type JournalStore, markStep } from './journal.js';
import type { HookInventory } from './plan.js';
import type { ProgressEvent } from './progress.js';
import { hookInventory, type PayloadRegistry, type RegistryRecord } from './registry.js';
import type { ActionContext } from './run-action.js';
import { orderStack, readDebugDump, type StackEntry, type StackView } from './stack.js';
import { statusOf } from './status.js';
import type { WaitOptions } from './types.js';
import { xenVersionFromHypervisor } from '../xen/version.js';

/** What one action is asked: how long to wait, the hypervisor's quiesce timeout, cancellation, NODEPS. */
export type ActionRequest = { waitMs: number; timeoutNs?: number; signal?: AbortSignal; nodeps?: boolean };

export interface WorkspaceParts {
  readonly backend: Backend;
  readonly stateDir: string;
  readonly registry: PayloadRegistry;
  readonly journal: JournalStore;
  readonly console: ConsoleWatcher;
  readonly waitMs: number;
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
  private readonly waitMs: number;
  private readonly xenSymbols: () => Promise<SymbolTable | undefined>;

  constructor(parts: WorkspaceParts) {
    this.backend = parts.backend;
    this.stateDir = parts.stateDir;
    this.registry = parts.registry;
    this.journal = parts.journal;
    this.console = parts.console;
    this.emit = parts.emit;
    this.waitMs = parts.waitMs;
    this.xenSymbols = parts.xenSymbols;
  }

  request(options: WaitOptions & { nodeps?: boolean }): ActionRequest {
    return {
      waitMs: options.timeout ?? this.waitMs,
      ...(options.quiesceTimeoutNs === undefined ? {} : { timeoutNs: options.quiesceTimeoutNs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.nodeps ? { nodeps: true } : {}),
    };
  }

  context(): ActionContext {
    return {
      backend: this.backend,
      console: this.console,
      emit: (e) => this.emit(e),
      facts: (name) => this.facts(name),
      top: () => this.top(),
      xenBuildId: async () => (await this.backend.xenVersion()).buildId,
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

  /** The applied stack, from the hypervisor's `x` dump, with hooks where this tool knows them. */
  async stack(): Promise<StackView> {
    const dump = await readDebugDump(this.backend, this.console);
    const records = new Map((await this.registry.all()).map((r) => [r.name, r]));
    return orderStack(dump, (name) => {
      const r = records.get(name);
      return r ? { buildId: r.buildId, hooks: r.hooks.map((h) => h.kind), ...(r.appliedSeq === undefined ? {} : { appliedSeq: r.appliedSeq }) } : null;
    });
  }

  /**
   * The stack as the workflows need it: from the `x` dump, or, when the console cannot be read
   * (XSM may deny it), from LIST and the order in which xlp applied payloads (then uncertain).
   */
  async stackForWorkflow(): Promise<{ view: StackView; warnings: string[] }> {
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

  async statusOrNull(name: string): Promise<PayloadStatus | null> {
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
  async trustedRecord(name: string, view?: StackView): Promise<RegistryRecord | null> {
    const rec = await this.registry.get(name);
    if (!rec) return null;
    if (view) {
      const dumped = view.loaded.find((p) => p.name === name);
      if (!dumped) return null;
      return dumped.buildId && rec.buildId && dumped.buildId !== rec.buildId ? null : rec;
    }
    return (await this.statusOrNull(name)) ? rec : null;
  }

  async inventory(): Promise<HookInventory> {
    const records = new Map((await this.registry.all()).map((r) => [r.name, hookInventory(r)]));
    return (p) => records.get(p) ?? null;
  }

  async preflightWithContext(bytes: Uint8Array, name: string): Promise<PreflightReport> {
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
      xenVersion: xenVersionFromHypervisor(version),
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

  async journalRefusal(): Promise<JournalPendingError | null> {
    const pending = await this.journal.read();
    return pending ? journalPending(pending, this.journal.path) : null;
  }

  async step(journal: Journal, index: number, state: 'started' | 'done'): Promise<Journal> {
    const next = markStep(journal, index, state);
    await this.journal.write(next);
    return next;
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
    `an interrupted \`${j.command}\` (pid ${j.pid}, started ${j.startedAt}) left a journal: ${where}; ` +
      'run `xlp recover` to roll it back, or `xlp recover --complete` to finish it, before anything else changes the hypervisor',
    { payload: j.target, command: j.command, journalPath: path },
  );
}
