import { EventEmitter } from 'node:events';
import type { Backend, PayloadListEntry } from '../backend/backend.js';
import { existsSync } from 'node:fs';
import { checkPrivateDir, ensurePrivateDir } from '../fs/private-dir.js';
import type { PreflightReport } from '../preflight/types.js';
import type { PayloadStatus } from '../xen/domain.js';
import { consoleLines, eventsFor } from './console-events.js';
import { ConsoleWatcher } from './console-watcher.js';
import { interruptedJournal, type Journal, JournalStore } from './journal.js';
import type { SyncStepResult, SyncWork, XlpPayloadFacts } from './kinds/sync.js';
import { apply, planApply, planRevert, planUnload, revert, unload } from './operations/actions.js';
import type { OperationContext } from './operations/context.js';
import { underHostLock } from './operations/host-lock.js';
import { load, planLoad } from './operations/load.js';
import { planRecover, recover } from './operations/recover.js';
import { planReplace, replace } from './operations/replace.js';
import { sync, syncView } from './operations/sync.js';
import { planUpload, upload } from './operations/upload.js';
import type { Plan } from './plan.js';
import type { ProgressEvent } from './progress.js';
import type { StackOptions } from './read-stack.js';
import { PayloadRegistry } from './registry.js';
import type { ActionResult } from './run-action.js';
import { readSource } from './source.js';
import { payloadStatus } from './status.js';
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
const DEFAULT_SETTLE_MS = 10_000;

/**
 * The operations users run, on either backend: each one finishes (waits for the hypervisor),
 * explains itself (typed errors with errno, payload, hook and console lines) and leaves the system
 * consistent (one mutating workflow per host, journaled multi-step plans, undo on failure).
 * This class is the facade: each method delegates to its workflow in operations/ (one file per
 * workflow, with its plan); the journaled ones' recovery is a kind in kinds/; REPLACE's atomic and
 * sequential forms are in replace.ts, rollback in restore.ts, the shared views of the hypervisor in
 * workspace.ts.
 */
export class Livepatcher extends EventEmitter<{ progress: [ProgressEvent] }> {
  readonly backend: Backend;
  readonly stateDir: string;
  private readonly ws: Workspace;
  private readonly ops: OperationContext;

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
    const ws = this.ws;
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.ops = { ws, mutate: (purpose, signal, fn) => underHostLock(ws, lockTimeoutMs, purpose, signal, fn) };
  }

  /** Opens the workflows on a backend; the state directory is created 0700 or refused if unsafe. */
  static async open(options: LivepatcherOptions): Promise<Livepatcher> {
    if (options.createStateDir === false) {
      if (existsSync(options.stateDir)) await checkPrivateDir(options.stateDir);
    } else {
      await ensurePrivateDir(options.stateDir);
    }
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

  // --- plans (--dry-run): each beside its workflow in operations/ ------------------------------

  planLoad(source: PayloadSource, options: LoadOptions = {}): Promise<Plan> {
    return planLoad(this.ops, source, options);
  }

  planUpload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<Plan> {
    return planUpload(this.ops, name, source, options);
  }

  planApply(name: string, options: ApplyOptions = {}): Promise<Plan> {
    return planApply(this.ops, name, options);
  }

  planRevert(name: string): Promise<Plan> {
    return planRevert(this.ops, name);
  }

  planUnload(name: string): Promise<Plan> {
    return planUnload(this.ops, name);
  }

  planReplace(name: string, options: ReplaceOptions = {}): Promise<Plan> {
    return planReplace(this.ops, name, options);
  }

  /**
   * What `recover` (or `recover --complete`) would do now. While an action the interrupted workflow
   * issued is still pending in the hypervisor, recovery first waits for it, and what it does next
   * depends on how that action ends: the plan says so (`pending`), with the steps for each outcome
   * (`steps` if it completes, `ifPendingFails` if it fails).
   */
  planRecover(options: RecoverOptions = {}): Promise<Plan & { journal: Journal | null }> {
    return planRecover(this.ops, options);
  }

  // --- mutating workflows (operations/; the journaled ones' recovery in kinds/) -----------------

  /** Preflight, upload, apply and wait. If the apply fails, what this call uploaded is unloaded. */
  load(source: PayloadSource, options: LoadOptions = {}): Promise<LoadResult> {
    return load(this.ops, source, options);
  }

  /** Preflight and upload (the payload is then CHECKED). */
  upload(name: string, source: PayloadSource, options: UploadOptions = {}): Promise<UploadResult> {
    return upload(this.ops, name, source, options);
  }

  apply(name: string, options: ApplyOptions = {}): Promise<ActionResult> {
    return apply(this.ops, name, options);
  }

  revert(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    return revert(this.ops, name, options);
  }

  /** UNLOAD; refused before the hypercall when the payload is applied. */
  unload(name: string, options: WaitOptions = {}): Promise<ActionResult> {
    return unload(this.ops, name, options);
  }

  /**
   * REPLACE the whole applied stack with `name`. Xen refuses an atomic REPLACE when any payload
   * involved has vetoing hooks; that is checked here first and said plainly. `sequential` instead
   * reverts the stack top-first (running each payload's revert hooks) and applies the new one,
   * journaled, restoring the old stack if a step fails.
   */
  replace(name: string, options: ReplaceOptions = {}): Promise<ReplaceResult> {
    return replace(this.ops, name, options);
  }

  /**
   * What a sync is planned from: the applied stack as the workflows read it, and xlp's facts about
   * the payloads it uploaded (the planner lives in lib/lifecycle).
   * @internal For `xlp sync` (lib/lifecycle); its types are not part of the public API.
   */
  syncView(): Promise<{ view: StackView; warnings: string[]; xlp: (name: string) => XlpPayloadFacts | null }> {
    return syncView(this.ops);
  }

  /**
   * Runs a sync under the host lock: `prepare` decides the steps from the stack found once the
   * lock is held (it may refuse by throwing); no step, no hypercall and no journal. The steps run
   * journaled (kind `sync`), rolled back if one fails.
   * @internal For `xlp sync` (lib/lifecycle); its types are not part of the public API.
   */
  sync<W extends SyncWork>(
    prepare: (found: { view: StackView; warnings: string[]; xlp: (name: string) => XlpPayloadFacts | null }) => Promise<W>,
    options: WaitOptions = {},
  ): Promise<{ work: W; steps: SyncStepResult[] }> {
    return sync(this.ops, prepare, options);
  }

  /** Completes or rolls back what an interrupted workflow left, as its journal describes. */
  recover(options: RecoverOptions = {}): Promise<RecoverResult> {
    return recover(this.ops, options);
  }
}
