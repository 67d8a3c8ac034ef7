/**
 * The livepatch state machine of xen/common/livepatch.c (4.17.7; later versions where noted),
 * synchronous and deterministic: every method runs to completion on the `MachineState` it is
 * given. Asynchrony is modelled with the single pending-work slot and a due time; `idle(now)` plays
 * the idle loop (`check_for_livepatch_work`) and is run before every call.
 *
 * This class is the machine's state and its entry points only. Where the semantics live:
 * - one file per sysctl op in `sysctl/` (upload, get and list, action, debug keys): a new hypercall
 *   is a new file there and one method here;
 * - `work.ts`: the deferred part of an action (`livepatch_do_action`, run from the idle loop);
 * - `hook-calls.ts`: what running a payload's hook does; `patching.ts`: what applying a function
 *   does to the known memory;
 * - what differs between Xen versions is a feature of `lib/xen/version.ts`, read through
 *   `features` by the file whose op it changes.
 */
import type { ActionOptions, PayloadListEntry } from '../backend/backend.js';
import type { ListPage, ListPageRequest } from '../backend/paged-list.js';
import type { PreflightOptions, PreflightReport } from '../preflight/types.js';
import type { LivepatchAction, PayloadStatus } from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import { type XenCall, XenError } from '../xen/errors.js';
import { type XenFeatures } from '../xen/version.js';
import { ConsoleRing } from './console-ring.js';
import { MockPanicError } from './errors.js';
import type { HookFunction, HookRule } from './hooks.js';
import { identityFeatures, type MockIdentity } from './identity.js';
import { MemoryModel } from './memory.js';
import { panicText } from './messages.js';
import { parseLoglvl, XenConsole } from './printk.js';
import { type MachineState, type MockWarningKind, type PayloadRecord, WARNINGS_KEPT } from './state.js';
import { action } from './sysctl/action.js';
import { debugKeys } from './sysctl/debug-keys.js';
import { getStatus, list, listPage } from './sysctl/list.js';
import { upload } from './sysctl/upload.js';
import { completeWork, revertPayload, revertTail } from './work.js';
import { checkPayloadName } from './xen-names.js';

/** The preflight verdict function the mock delegates every upload-time check to. */
export type PreflightFn = (bytes: Uint8Array, options: PreflightOptions) => PreflightReport;

/** Thrown inside the machine when the hypervisor panics; turned into `MockPanicError` at the edge. */
class Panic {
  constructor(readonly reason: string) {}
}

export function emptyState(identity: MockIdentity): MachineState {
  return {
    payloads: [],
    applied: [],
    pending: null,
    payloadVersion: 1,
    nextVa: 0xffff_82d0_4080_0000n,
    memory: Object.fromEntries(Object.entries(identity.memory).map(([k, hex]) => [k, Uint8Array.from(Buffer.from(hex, 'hex'))])),
    console: new ConsoleRing(identity.conringSize).snapshot(),
    panic: null,
    hookRules: [],
    nextRuleId: 1,
    hookCalls: [],
    hookSeq: 0,
    warnings: [],
    warningSeq: 0,
  };
}

export class MockMachine {
  ring!: ConsoleRing;
  console!: XenConsole;
  memory!: MemoryModel;
  private byName = new Map<string, PayloadRecord>();
  /** Set by anything that changes the state (so a store knows whether to write it back). */
  dirty = false;
  /** Bytes of payloads uploaded through this machine, by SHA-256, for a store to persist. */
  readonly uploadedBlobs = new Map<string, Uint8Array>();

  constructor(
    readonly state: MachineState,
    readonly identity: MockIdentity,
    readonly preflight: PreflightFn,
    /** In-process hook functions (not persisted), preferred over scripts of equal specificity. */
    readonly localRules: readonly HookRule<HookFunction>[] = [],
  ) {
    this.reset();
  }

  /** Rebuilds the derived objects from `state` (after it was replaced wholesale, e.g. a reboot). */
  reset(): void {
    this.ring = ConsoleRing.restore(this.state.console);
    this.console = new XenConsole(this.ring, parseLoglvl(this.identity.loglvl));
    this.memory = new MemoryModel(this.identity.symbols, this.state.memory);
    this.byName = new Map(this.state.payloads.map((p) => [p.name, p]));
  }

  /** Copies the live console ring back into the state (before persisting it). */
  syncConsole(): void {
    this.state.console = this.ring.snapshot();
  }

  /** What this hypervisor's version does differently (lib/xen/version.ts). */
  get features(): XenFeatures {
    return (this.featuresMemo ??= identityFeatures(this.identity.version));
  }
  private featuresMemo: XenFeatures | undefined;

  // ---------------------------------------------------------------- entry and the idle loop

  /** Runs `fn` as one hypercall: fails if the machine is dead, turns a panic into the error. */
  call<T>(now: number, fn: () => T, allowDead = false): T {
    if (this.state.panic !== null) {
      // A dead machine answers no hypercall; what it printed and the mock's own records stay readable.
      if (allowDead) return fn();
      throw new MockPanicError(this.state.panic);
    }
    try {
      this.idle(now);
      return fn();
    } catch (e) {
      if (e instanceof Panic) throw this.doPanic(e.reason);
      throw e;
    }
  }

  private doPanic(reason: string): MockPanicError {
    this.console.printk(panicText(reason));
    this.state.panic = reason;
    this.state.pending = null;
    this.dirty = true;
    return new MockPanicError(reason);
  }

  /** The hypervisor panics: unwinds to `call`, which records it and answers with MockPanicError. */
  panic(reason: string): never {
    throw new Panic(reason);
  }

  /** `check_for_livepatch_work`: completes the pending work if it is due. */
  idle(now: number): void {
    completeWork(this, now);
  }

  // ---------------------------------------------------------------- the sysctl ops (sysctl/)

  upload(name: string, bytes: Uint8Array, force: boolean): void {
    upload(this, name, bytes, force);
  }

  get(name: string): PayloadStatus {
    return getStatus(this, name);
  }

  list(): PayloadListEntry[] {
    return list(this);
  }

  /** One LIST sysctl (`livepatch_list`). */
  listPage(req: ListPageRequest): ListPage {
    return listPage(this, req);
  }

  action(name: string, cmd: LivepatchAction, req: ActionOptions, now: number): void {
    action(this, name, cmd, req, now);
  }

  /** `XEN_SYSCTL_debug_keys`: only `x` (livepatch_printall) is modelled; other keys print nothing. */
  debugKeys(keys: string): void {
    debugKeys(this, keys);
  }

  readConsole(fromIndex?: number): { text: string; index: number } {
    return this.ring.read(fromIndex);
  }

  // ---------------------------------------------------------------- the payload list

  /** The payload a sysctl names, or its ENOENT (after the name checks every op makes). */
  find(name: string, call: XenCall): PayloadRecord {
    const n = checkPayloadName(name, call);
    const p = this.byName.get(n);
    if (!p) throw new XenError(call, ERRNO.ENOENT, n);
    return p;
  }

  record(name: string): PayloadRecord | undefined {
    return this.byName.get(name);
  }

  /** The top of the applied stack. */
  top(): PayloadRecord | undefined {
    const n = this.state.applied[this.state.applied.length - 1];
    return n === undefined ? undefined : this.byName.get(n);
  }

  add(p: PayloadRecord): void {
    this.state.payloads.push(p);
    this.byName.set(p.name, p);
    this.state.payloadVersion++;
    this.dirty = true;
  }

  free(p: PayloadRecord): void {
    this.state.payloads.splice(this.state.payloads.indexOf(p), 1);
    this.byName.delete(p.name);
    this.state.payloadVersion++;
    this.dirty = true;
  }

  /** `revert_payload` (also callable by hooks, as the norevert test payload does). */
  revertPayload(p: PayloadRecord): number {
    return revertPayload(this, p);
  }

  /** `revert_payload_tail`. */
  revertTail(p: PayloadRecord): void {
    revertTail(this, p);
  }

  // ---------------------------------------------------------------- mock-only

  warn(kind: MockWarningKind, payload: string | null, message: string): void {
    this.state.warnings.push({ seq: ++this.state.warningSeq, kind, payload, message });
    if (this.state.warnings.length > WARNINGS_KEPT) this.state.warnings.splice(0, this.state.warnings.length - WARNINGS_KEPT);
    this.dirty = true;
  }
}
