/**
 * `MockHypervisor`: the `Backend` that simulates Xen's livepatch sysctls, in memory or on a state
 * directory shared by several processes, plus the controls a test needs (hook behaviours, the hook
 * call log, warnings, reboot).
 */
import { optionalBoolean, requireDebugKeys, requirePayloadBytes, requirePayloadName, requireU32, textName } from '../backend/arguments.js';
import type { ActionOptions, Backend, ConsoleReadOptions, PayloadListEntry, PayloadName, UploadOptions } from '../backend/backend.js';
import type { ListPage, ListPageRequest, PagedListBackend } from '../backend/paged-list.js';
import {
  type BuildIdHex,
  LIVEPATCH_ACTION_CODE,
  type LivepatchAction,
  type PayloadState,
  type PayloadStatus,
  type XenVersionInfo,
} from '../xen/domain.js';
import { type Clock, systemClock } from './clock.js';
import { defaultPreflight, loadDefaultPreflight } from './default-preflight.js';
import {
  checkHookScript,
  type HookBehaviour,
  type HookCall,
  type HookFunction,
  type HookRule,
  type HookScript,
  type HookSelector,
} from './hooks.js';
import { type MockIdentity, type MockIdentityInput, resolveIdentity } from './identity.js';
import { emptyState, MockMachine, type PreflightFn } from './machine.js';
import type { MachineState, MockWarning, PendingWork } from './state.js';
import { type Loaded, type StateDirectory, type TransactionOutcome } from './store.js';

export interface MockHypervisorOptions {
  /** The simulated hypervisor (in-memory mocks only; a state directory has its own). */
  readonly identity?: MockIdentityInput;
  /** Time for the idle loop; inject a `ManualClock` to step it in tests. */
  readonly clock?: Clock;
  /** The upload verdict; the project's `preflight()` by default. */
  readonly preflight?: PreflightFn;
  /**
   * Also complete due work from a timer, not only when the mock is next called (default: on with
   * the system clock, off with an injected clock). Completion never depends on it.
   */
  readonly timers?: boolean;
}

/** What `inspect()` shows of the simulated hypervisor (mock-only). */
export interface MockSnapshot {
  readonly identity: Omit<MockIdentity, 'symbols'> & { readonly symbolCount: number | null };
  readonly payloads: readonly {
    readonly name: string;
    readonly state: PayloadState;
    readonly rc: number;
    readonly reverted: boolean;
    readonly safeToReapply: boolean;
    readonly buildId: BuildIdHex | null;
    readonly depends: BuildIdHex | null;
    readonly funcsApplied: readonly boolean[];
    readonly sha256: string;
  }[];
  /** Applied stack, bottom first. */
  readonly applied: readonly string[];
  readonly pending: PendingWork | null;
  readonly payloadVersion: number;
  /** Why the hypervisor panicked, or null. */
  readonly panic: string | null;
}

/** How an operation runs: a hypercall; one that still works on a panicked mock; or raw (no idle loop). */
type Mode = 'call' | 'alive-or-dead' | 'raw';

interface Host {
  run<T>(purpose: string, fn: (m: MockMachine) => T, mode?: Mode): Promise<T>;
}

/** Runs one operation on a machine, capturing its outcome and what it changed. */
function exec<T>(m: MockMachine, now: number, fn: (m: MockMachine) => T, mode: Mode = 'call'): TransactionOutcome<T> {
  m.dirty = false;
  m.uploadedBlobs.clear();
  const printed = m.ring.index;
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: mode === 'raw' ? fn(m) : m.call(now, () => fn(m), mode === 'alive-or-dead') };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // A refused call may have changed nothing but the console ("can't unload. Top is X"): keep it too.
  if (m.ring.index !== printed) m.dirty = true;
  if (m.dirty) m.syncConsole();
  return { ...outcome, dirty: m.dirty, blobs: new Map(m.uploadedBlobs) };
}

class MemoryHost implements Host {
  constructor(
    readonly machine: MockMachine,
    private readonly clock: Clock,
  ) {}
  async run<T>(_purpose: string, fn: (m: MockMachine) => T, mode: Mode = 'call'): Promise<T> {
    const out = exec(this.machine, this.clock.now(), fn, mode);
    if (!out.ok) throw out.error;
    return out.value;
  }
}

class DirectoryHost implements Host {
  private machine: { loaded: Loaded; machine: MockMachine } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: StateDirectory,
    private readonly clock: Clock,
    private readonly preflight: PreflightFn,
    private readonly localRules: HookRule<HookFunction>[],
  ) {}

  private machineFor(loaded: Loaded): MockMachine {
    if (this.machine?.loaded !== loaded)
      this.machine = { loaded, machine: new MockMachine(loaded.machine, loaded.identity, this.preflight, this.localRules) };
    return this.machine.machine;
  }

  run<T>(purpose: string, fn: (m: MockMachine) => T, mode: Mode = 'call'): Promise<T> {
    // One operation at a time per handle; the file lock orders them across processes.
    const next = this.queue.then(() => this.store.transact(purpose, (loaded) => exec(this.machineFor(loaded), this.clock.now(), fn, mode)));
    this.queue = next.catch(() => undefined);
    return next;
  }
}

export class MockHypervisor implements Backend, PagedListBackend {
  readonly kind = 'mock' as const;
  private readonly clock: Clock;
  private readonly localRules: HookRule<HookFunction>[] = [];
  private nextLocalId = 1_000_000_000;
  private consoleIndex = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The idle loop the timer started, while it runs: close() waits for it. */
  private idle: Promise<unknown> | null = null;
  private readonly timers: boolean;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly host: Host;
  private readonly usesDefaultPreflight: boolean;
  /** The state directory, for a persisted mock. */
  readonly stateDir: string | null;

  /** An in-memory mock (no state directory). */
  constructor(options?: MockHypervisorOptions);
  /** @internal a mock on a state directory: use `openMockBackend()`. */
  constructor(options: MockHypervisorOptions, store: StateDirectory);
  constructor(options: MockHypervisorOptions = {}, store?: StateDirectory) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? this.clock === systemClock;
    const preflight = options.preflight ?? defaultPreflight;
    this.usesDefaultPreflight = options.preflight === undefined;
    if (store) {
      this.host = new DirectoryHost(store, this.clock, preflight, this.localRules);
      this.stateDir = store.dir;
    } else {
      const identity = resolveIdentity(options.identity);
      this.host = new MemoryHost(new MockMachine(emptyState(identity), identity, preflight, this.localRules), this.clock);
      this.stateDir = null;
    }
  }

  private op<T>(purpose: string, fn: (m: MockMachine) => T, mode: Mode = 'call'): Promise<T> {
    if (this.closed) return Promise.reject(new Error('this mock hypervisor handle is closed'));
    const call = this.run(purpose, fn, mode);
    // close() waits for every call under way: each holds (or waits for) the state's lock.
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return call;
  }

  private async run<T>(purpose: string, fn: (m: MockMachine) => T, mode: Mode): Promise<T> {
    let due: number | null = null;
    try {
      return await this.host.run(
        purpose,
        (m) => {
          try {
            return fn(m);
          } finally {
            due = m.state.pending?.dueAt ?? null;
          }
        },
        mode,
      );
    } finally {
      this.armTimer(due);
    }
  }

  /** With timers on, wake up when pending work is due so its console lines appear on time. */
  private armTimer(due: number | null): void {
    if (!this.timers || this.closed || this.timer || due === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (this.closed) return;
        const idle = this.op('idle loop', () => undefined).catch(() => undefined);
        this.idle = idle;
        void idle.then(() => {
          if (this.idle === idle) this.idle = null;
        });
        // setTimeout takes at most 2^31-1 ms (longer fires at once, and would spin); a wake-up that
        // early only completes nothing and re-arms.
      },
      Math.min(Math.max(0, due - this.clock.now()) + 1, 0x7fff_ffff),
    );
    this.timer.unref();
  }

  // ------------------------------------------------------------------ Backend
  // Arguments are checked first, exactly as the native addon checks them (TypeError/RangeError,
  // no hypercall): see backend/arguments.ts.

  async xenVersion(): Promise<XenVersionInfo> {
    return this.op('xenVersion', (m) => ({
      major: m.identity.version.major,
      minor: m.identity.version.minor,
      extra: m.identity.version.extra,
      buildId: m.identity.buildId,
    }));
  }

  async upload(payloadName: PayloadName, payload: Uint8Array, options: UploadOptions = {}): Promise<void> {
    const name = textName(requirePayloadName(payloadName));
    requirePayloadBytes(payload);
    const force = optionalBoolean(options.force, 'force');
    if (this.usesDefaultPreflight) await loadDefaultPreflight();
    await this.op(`upload ${name}`, (m) => m.upload(name, payload, force));
  }

  async get(payloadName: PayloadName): Promise<PayloadStatus> {
    const name = textName(requirePayloadName(payloadName));
    return this.op(`get ${name}`, (m) => m.get(name));
  }

  async list(): Promise<PayloadListEntry[]> {
    return this.op('list', (m) => m.list());
  }

  async listPage(request: ListPageRequest): Promise<ListPage> {
    return this.op('list', (m) => m.listPage(request));
  }

  async action(payloadName: PayloadName, action: LivepatchAction, options: ActionOptions = {}): Promise<void> {
    if (!Object.hasOwn(LIVEPATCH_ACTION_CODE, action)) {
      throw new TypeError(`action must be one of ${Object.keys(LIVEPATCH_ACTION_CODE).join(', ')}`);
    }
    const name = textName(requirePayloadName(payloadName));
    optionalBoolean(options.nodeps, 'nodeps');
    requireU32(options.timeoutNs ?? 0, 'timeoutNs');
    await this.op(`${action.toLowerCase()} ${name}`, (m) => m.action(name, action, options, this.clock.now()));
  }

  /** The console ring; `incremental` returns what arrived since this handle's previous read. */
  async readConsole(options: ConsoleReadOptions = {}): Promise<string> {
    const incremental = optionalBoolean(options.incremental, 'incremental');
    const { text, index } = await this.op(
      'readConsole',
      (m) => m.readConsole(incremental ? this.consoleIndex : undefined),
      'alive-or-dead',
    );
    this.consoleIndex = index;
    return text;
  }

  async sendDebugKeys(keys: string): Promise<void> {
    requireDebugKeys(keys, 'keys');
    await this.op('sendDebugKeys', (m) => m.debugKeys(keys));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Calls and an idle loop already under way hold (or wait for) the state's lock: let them finish.
    await Promise.all([this.idle, ...this.inFlight]);
  }

  // ------------------------------------------------------------------ mock controls

  /**
   * Scripts the hooks `selector` picks. A `HookScript` is data (persisted with a state directory);
   * a function runs in this process only. Returns the rule's id (for `clearHooks`).
   */
  async setHook(selector: HookSelector, behaviour: HookBehaviour): Promise<number> {
    if (typeof behaviour === 'function') {
      const id = this.nextLocalId++;
      this.localRules.push({ id, selector: { ...selector }, behaviour, calls: 0 });
      return id;
    }
    const script = checkHookScript(behaviour);
    return this.op(
      'set hook',
      (m) => {
        const id = m.state.nextRuleId++;
        m.state.hookRules.push({ id, selector: { ...selector }, behaviour: script, calls: 0 });
        m.dirty = true;
        return id;
      },
      'alive-or-dead',
    );
  }

  /** Removes hook rules: one by id, those with exactly this selector, or all. */
  async clearHooks(which?: number | HookSelector): Promise<number> {
    const match = (r: HookRule) =>
      which === undefined ||
      (typeof which === 'number'
        ? r.id === which
        : r.selector.payload === which.payload && r.selector.kind === which.kind && r.selector.symbol === which.symbol);
    const local = this.localRules.length;
    for (let i = this.localRules.length - 1; i >= 0; i--) if (match(this.localRules[i]!)) this.localRules.splice(i, 1);
    const removedLocal = local - this.localRules.length;
    return this.op(
      'clear hooks',
      (m) => {
        const before = m.state.hookRules.length;
        m.state.hookRules = m.state.hookRules.filter((r) => !match(r));
        if (m.state.hookRules.length !== before) m.dirty = true;
        return before - m.state.hookRules.length + removedLocal;
      },
      'alive-or-dead',
    );
  }

  /** The persisted (data) hook rules. */
  async hookRules(): Promise<HookRule<HookScript>[]> {
    return this.op('hook rules', (m) => m.state.hookRules.map((r) => ({ ...r })), 'alive-or-dead');
  }

  /** Every recorded hook call (after `sinceSeq`, if given), oldest first. */
  async hookCalls(sinceSeq = 0): Promise<HookCall[]> {
    return this.op('hook calls', (m) => m.state.hookCalls.filter((c) => c.seq > sinceSeq), 'alive-or-dead');
  }

  async clearHookCalls(): Promise<void> {
    await this.op(
      'clear hook calls',
      (m) => {
        m.state.hookCalls = [];
        m.dirty = true;
      },
      'alive-or-dead',
    );
  }

  /** What the mock had to assume (no symbol table, unknown memory, unmodelled debug key). */
  async warnings(sinceSeq = 0): Promise<MockWarning[]> {
    return this.op('warnings', (m) => m.state.warnings.filter((w) => w.seq > sinceSeq), 'alive-or-dead');
  }

  /** Completes pending work that is due (what any call does first anyway). */
  async runIdleLoop(): Promise<void> {
    await this.op('idle loop', () => undefined);
  }

  async inspect(): Promise<MockSnapshot> {
    return this.op(
      'inspect',
      (m) => {
        const { symbols, ...identity } = m.identity;
        return {
          identity: { ...identity, symbolCount: symbols ? symbols.size : null },
          payloads: m.state.payloads.map((p) => ({
            name: p.name,
            state: p.state,
            rc: p.rc,
            reverted: p.reverted,
            safeToReapply: p.payload.safeToReapply,
            buildId: p.payload.buildId,
            depends: p.payload.depends,
            funcsApplied: [...p.applied],
            sha256: p.sha256,
          })),
          applied: [...m.state.applied],
          pending: m.state.pending,
          payloadVersion: m.state.payloadVersion,
          panic: m.state.panic,
        };
      },
      'alive-or-dead',
    );
  }

  /**
   * Reboots the simulated machine: no payloads, nothing pending, an empty console, the original
   * memory, no panic. Hook rules and the hook call log survive (they belong to the test, not Xen).
   */
  async reboot(): Promise<void> {
    await this.host.run(
      'reboot',
      (m) => {
        const fresh = emptyState(m.identity);
        const keep: Pick<MachineState, 'hookRules' | 'nextRuleId' | 'hookCalls' | 'hookSeq' | 'warnings' | 'warningSeq'> = m.state;
        Object.assign(m.state, fresh, {
          hookRules: keep.hookRules,
          nextRuleId: keep.nextRuleId,
          hookCalls: keep.hookCalls,
          hookSeq: keep.hookSeq,
          warnings: keep.warnings,
          warningSeq: keep.warningSeq,
        });
        m.reset();
        m.dirty = true;
      },
      'raw',
    );
    this.consoleIndex = 0;
  }
}
