/**
 * The livepatch state machine of xen/common/livepatch.c (4.17.7; later versions where noted),
 * synchronous and deterministic: every method runs to completion on the `MachineState` it is
 * given. Asynchrony is modelled with the single pending-work slot and a due time; `idle(now)` plays
 * the idle loop (`check_for_livepatch_work`) and is run before every call.
 */
import { createHash } from 'node:crypto';
import type { ActionOptions, PayloadListEntry } from '../backend/backend.js';
import { checkPayloadName, checkUploadSize } from './xen-names.js';
import type { ListPage, ListPageRequest } from '../backend/paged-list.js';
import { loadedPayloadInfo } from '../payload/loaded-info.js';
import { modinfoStrings } from '../payload/modinfo.js';
import type { PayloadHook } from '../payload/model.js';
import type { PreflightContext, PreflightOptions, PreflightReport } from '../preflight/types.js';
import {
  CONSOLE_ADDR,
  DEFAULT_ACTION_TIMEOUT_NS,
  type HookKind,
  LIST_PAGE_MAX,
  type LivepatchAction,
  MAX_ACTION_TIMEOUT_NS,
  PAYLOAD_STATE_CODE,
  type PayloadStatus,
  VETOING_HOOK_KINDS,
} from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import { type XenCall, XenError } from '../xen/errors.js';
import { ConsoleRing } from './console-ring.js';
import { MockPanicError } from './errors.js';
import { findRule, type HookCall, type HookContext, type HookFunction, type HookRule, type HookScript, RC_HOOK_KINDS, scriptRc } from './hooks.js';
import { identityFeatures, identityVersionName, type MockIdentity } from './identity.js';
import { sysctlInterfaceVersion, type XenFeatures, xenVersionFromHypervisor } from '../xen/version.js';
import { allocateRegions } from './layout.js';
import { ENDBR64_LEN, jmpRel32, MemoryModel, nops, PATCH_INSN_SIZE } from './memory.js';
import { msg, panicText } from './messages.js';
import { hexN, parseLoglvl, ptr, str, XenConsole } from './printk.js';
import { HOOK_CALLS_KEPT, type MachineState, type MockWarningKind, type PayloadRecord, type PendingWork, type WorkCommand, WARNINGS_KEPT } from './state.js';

/** The preflight verdict function the mock delegates every upload-time check to. */
export type PreflightFn = (bytes: Uint8Array, options: PreflightOptions) => PreflightReport;

const EAGAIN = -ERRNO.EAGAIN;
const EBUSY = -ERRNO.EBUSY;
const EINVAL = -ERRNO.EINVAL;

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
    private readonly preflight: PreflightFn,
    /** In-process hook functions (not persisted), preferred over scripts of equal specificity. */
    private readonly localRules: readonly HookRule<HookFunction>[] = [],
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

  private panic(reason: string): never {
    throw new Panic(reason);
  }

  /** `check_for_livepatch_work`: completes the pending work if it is due. */
  idle(now: number): void {
    const work = this.state.pending;
    if (!work || now < work.dueAt) return;
    this.dirty = true;
    const p = this.byName.get(work.name);
    if (!p) {
      this.state.pending = null; // cannot happen: a payload with pending work cannot be unloaded
      return;
    }
    const others = this.identity.cpus - 1;
    let actionDone = false;
    if (others > 0 && this.identity.rendezvousNs > work.timeoutNs) {
      // livepatch_spin: the other CPUs did not all check in before the deadline.
      this.console.printk(msg.timedOut(p.name, 'CPU', 0, others));
      p.rc = EBUSY;
      this.state.pending = null;
    } else {
      this.doAction(p, work.cmd);
      actionDone = true;
      this.state.pending = null;
    }
    if (actionDone) {
      if (work.cmd === 'REVERT') {
        const h = this.singleHook(p, 'postrevert');
        if (h) {
          this.console.printk(msg.callingPostRevert(p.name, p.rc));
          this.runHook(p, h);
        }
      } else if (work.cmd === 'APPLY') {
        const h = this.singleHook(p, 'postapply');
        if (h) {
          this.console.printk(msg.callingPostApply(p.name, p.rc));
          this.runHook(p, h);
        }
      } else if (this.hasVetoingHooks(p)) {
        this.panic(`livepatch: ${p.name}: REPLACE action is not supported on livepatches with vetoing hooks!`);
      }
    }
    this.console.printk(msg.finished(p.name, work.cmd, p.rc));
  }

  // ---------------------------------------------------------------- UPLOAD, GET, LIST

  /** What this hypervisor's version does differently (lib/xen/version.ts). */
  get features(): XenFeatures {
    return (this.featuresMemo ??= identityFeatures(this.identity.version));
  }
  private featuresMemo: XenFeatures | undefined;

  upload(name: string, bytes: Uint8Array, force: boolean): void {
    if (force && !this.features['upload-force-flag']) {
      // Before 4.19 the field is `pad`, which must be zero. From 4.19 FORCE is accepted and changes nothing.
      throw new XenError('upload', ERRNO.EINVAL, name, `upload: LIVEPATCH_FLAG_FORCE needs Xen 4.19 or later; this mock is Xen ${identityVersionName(this.identity.version)} (EINVAL)`);
    }
    const n = checkPayloadName(name, 'upload');
    checkUploadSize(bytes.length, n);
    if (this.byName.has(n)) throw new XenError('upload', ERRNO.EEXIST, n);

    const report = this.preflight(bytes, {
      name: n,
      xenVersion: xenVersionFromHypervisor(this.identity.version),
      context: this.preflightContext(),
    });
    if (report.fatal) {
      // The real hypervisor does not refuse these payloads: it crashes on them.
      const d = report.diagnostics.find((x) => x.severity === 'fatal');
      this.panic(`FATAL PAGE FAULT while loading payload ${n}${d ? `: ${d.message}` : ''}`);
    }
    if (report.uploadError) {
      const e = report.uploadError;
      // Addresses Xen prints are where the payload was being loaded: the next free one here.
      if (e.console) this.console.printk(`<0>${e.console.replaceAll(CONSOLE_ADDR, ptr(this.state.nextVa))}\n`);
      this.dirty = true;
      throw new XenError('upload', e.errno ?? ERRNO.EINVAL, n, `upload ${JSON.stringify(n)} refused: ${e.message} (${e.code})`);
    }
    const payload = report.payload;
    if (!payload) throw new Error(`preflight accepted ${n} but returned no payload model`);

    // arch_livepatch_verify_func's ENDBR64 rule needs the old code's first bytes: only the mock has them.
    const funcs = payload.funcs.map((f) => this.resolveFunc(f));
    for (const [i, f] of payload.funcs.entries()) {
      const loc = funcs[i]!.location;
      if (!f.isNop && loc && this.memory.startsWithEndbr(loc) && f.oldSize < PATCH_INSN_SIZE + ENDBR64_LEN) {
        throw new XenError('upload', ERRNO.EINVAL, n, `upload ${JSON.stringify(n)} refused: ${f.name ?? 'function'} starts with ENDBR64, so old_size must be at least 9 (EINVAL)`);
      }
    }
    if (!this.identity.symbols && payload.undefinedSymbols.length) {
      this.warn('unresolved-symbols', n, `no hypervisor symbol table: assumed ${payload.undefinedSymbols.join(', ')} resolve`);
    }

    const regions = allocateRegions(this.state, payload);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.uploadedBlobs.set(sha256, Uint8Array.from(bytes));
    const rec: PayloadRecord = {
      name: n,
      sha256,
      payload,
      funcs: payload.funcs.map((f, i) => ({ ...funcs[i]!, newAddr: f.newSymbol ? regions.symbolAddress(f.newSymbol) : f.newAddr })),
      textAddr: regions.text,
      rwAddr: regions.rw,
      roAddr: regions.ro,
      pages: regions.pages,
      newSymbols: loadedPayloadInfo(n, payload).symbols,
      state: 'CHECKED',
      rc: 0,
      reverted: false,
      applied: payload.funcs.map(() => false),
      patchOffset: payload.funcs.map(() => 0),
      saved: payload.funcs.map(() => null),
    };
    this.state.payloads.push(rec);
    this.byName.set(n, rec);
    this.state.payloadVersion++;
    this.dirty = true;
  }

  private resolveFunc(f: PayloadRecord['payload']['funcs'][number]): { oldAddr: bigint; newAddr: bigint; location: PayloadRecord['funcs'][number]['location'] } {
    // resolve_old_address: old_addr 0 means "look the name up", in Xen's table then in payloads'.
    if (f.oldAddr === 0n || f.oldSymbol) {
      const sym = f.oldAddr === 0n ? f.name : f.oldSymbol;
      if (sym === null) return { oldAddr: 0n, newAddr: 0n, location: null };
      const owner = this.identity.symbols?.has(sym) ? undefined : this.state.payloads.find((p) => p.newSymbols.includes(sym));
      const base = owner ? owner.textAddr : this.memory.addressOf(sym);
      const offset = f.oldAddr === 0n ? 0n : f.oldAddr;
      const known = !owner && Object.hasOwn(this.state.memory, sym);
      return { oldAddr: base + offset, newAddr: 0n, location: known ? { symbol: sym, offset: Number(offset) } : null };
    }
    return { oldAddr: f.oldAddr, newAddr: 0n, location: this.memory.locate(f.oldAddr) };
  }

  private preflightContext(): PreflightContext {
    return {
      xenBuildId: this.identity.buildId,
      loaded: this.state.payloads.map((p) => ({ name: p.name, buildId: p.payload.buildId, symbols: p.newSymbols })),
      appliedBuildIds: this.state.applied.map((n) => this.byName.get(n)?.payload.buildId ?? null),
      ...(this.identity.symbols ? { xenSymbols: this.identity.symbols } : {}),
    };
  }

  private find(name: string, call: XenCall): PayloadRecord {
    const n = checkPayloadName(name, call);
    const p = this.byName.get(n);
    if (!p) throw new XenError(call, ERRNO.ENOENT, n);
    return p;
  }

  get(name: string): PayloadStatus {
    const p = this.find(name, 'get');
    return { state: p.state, rc: p.rc };
  }

  private entry(p: PayloadRecord): PayloadListEntry {
    return { name: p.name, state: p.state, rc: p.rc, metadata: p.payload.modinfo?.raw ?? new Uint8Array(0) };
  }

  list(): PayloadListEntry[] {
    return this.state.payloads.map((p) => this.entry(p));
  }

  /** One LIST sysctl (`livepatch_list`). */
  listPage(req: ListPageRequest): ListPage {
    const { idx, nr } = req;
    if (!Number.isInteger(idx) || idx < 0 || !Number.isInteger(nr) || nr < 0 || idx > 0xffff_ffff || nr > 0xffff_ffff) {
      throw new RangeError('listPage: idx and nr are u32');
    }
    // The mock's identity is always a version the model covers (4.14 on), so the table knows it.
    const iface = sysctlInterfaceVersion(xenVersionFromHypervisor(this.identity.version))!;
    if (req.interfaceVersion !== undefined && req.interfaceVersion !== iface) {
      // do_sysctl refuses tools built for another sysctl interface before looking at the op.
      throw new XenError('list', ERRNO.EACCES, undefined, `list: sysctl interface 0x${req.interfaceVersion.toString(16)}, this hypervisor speaks 0x${iface.toString(16)} (EACCES)`);
    }
    if (nr > LIST_PAGE_MAX) throw new XenError('list', ERRNO.E2BIG);
    const cnt = this.state.payloads.length;
    if (idx >= cnt && cnt) throw new XenError('list', ERRNO.EINVAL, undefined, `list: idx ${idx} is past the ${cnt} payloads (EINVAL)`);
    const nameLen = (p: PayloadRecord) => Buffer.byteLength(p.name) + 1;
    const metaLen = (p: PayloadRecord) => p.payload.modinfo?.raw.length ?? 0;
    if (nr === 0) {
      let names = 0;
      let meta = 0;
      for (const p of this.state.payloads) {
        names += nameLen(p);
        meta += metaLen(p);
      }
      return { version: this.state.payloadVersion, entries: [], remaining: cnt, nameTotalSize: names, metadataTotalSize: meta };
    }
    const enforce = this.features['list-buffer-sizes'];
    const entries: PayloadListEntry[] = [];
    let i = 0;
    let names = 0;
    let meta = 0;
    for (const p of this.state.payloads) {
      if (idx > i++) continue;
      if (enforce && (names + nameLen(p) > (req.nameBufferSize ?? 0) || meta + metaLen(p) > (req.metadataBufferSize ?? 0))) {
        throw new XenError('list', ERRNO.ENOBUFS);
      }
      entries.push(this.entry(p));
      names += nameLen(p);
      meta += metaLen(p);
      if (entries.length >= nr) break;
    }
    return { version: this.state.payloadVersion, entries, remaining: cnt - i, nameTotalSize: names, metadataTotalSize: meta };
  }

  // ---------------------------------------------------------------- ACTION (livepatch_action)

  action(name: string, cmd: LivepatchAction, req: ActionOptions, now: number): void {
    const call = cmd.toLowerCase() as XenCall;
    const timeout = req.timeoutNs ?? 0;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_ACTION_TIMEOUT_NS) {
      throw new RangeError(`${call}: timeoutNs must be a u32 number of nanoseconds, not ${timeout}`);
    }
    const p = this.find(name, call);
    if (this.state.pending?.name === p.name) throw new XenError(call, ERRNO.EBUSY, p.name, `${call} ${JSON.stringify(p.name)}: an action on it is still pending (EBUSY)`);
    const rc = this.dispatch(p, cmd, req.nodeps === true, timeout || DEFAULT_ACTION_TIMEOUT_NS, now);
    // Only a negative return is an error to libxenctrl; a hook returning a positive value "succeeds".
    if (rc < 0) throw this.actionError(call, p, cmd, rc);
  }

  /** The error for a refused action; the message says which rule refused it where the errno cannot. */
  private actionError(call: XenCall, p: PayloadRecord, cmd: LivepatchAction, rc: number): XenError {
    const errno = Math.abs(rc);
    let reason: string | undefined;
    if (errno === ERRNO.EBUSY) reason = cmd === 'REVERT' && this.top() !== p ? `not on top of the applied stack (top is ${this.top()?.name})` : 'another action is pending';
    else if (errno === ERRNO.EOPNOTSUPP && cmd === 'REPLACE') reason = 'REPLACE is refused while the target or an applied payload has pre/post hooks';
    else if (errno === ERRNO.EINVAL && cmd === 'UNLOAD') reason = 'it is APPLIED';
    return new XenError(call, errno, p.name, reason ? `${XenError.describe(call, errno, p.name)}: ${reason}` : undefined);
  }

  private top(): PayloadRecord | undefined {
    const n = this.state.applied[this.state.applied.length - 1];
    return n === undefined ? undefined : this.byName.get(n);
  }

  /** The synchronous part of each command; returns the hypercall's rc. */
  private dispatch(p: PayloadRecord, cmd: LivepatchAction, nodeps: boolean, timeoutNs: number, now: number): number {
    switch (cmd) {
      case 'UNLOAD':
        if (p.state !== 'CHECKED') return EINVAL;
        this.free(p);
        return 0;

      case 'REVERT': {
        if (p.state !== 'APPLIED') return 0; // Xen silently does nothing
        const top = this.top();
        if (top !== p) {
          this.console.printk(msg.cantUnloadTop(p.name, top?.name ?? '?'));
          return EBUSY;
        }
        const pre = this.singleHook(p, 'prerevert');
        if (pre) {
          this.console.printk(msg.callingPreRevert(p.name));
          const rc = this.runHook(p, pre) ?? 0;
          if (rc) {
            this.console.printk(msg.preRevertFailed(p.name, rc));
            this.setRc(p, rc);
            return rc;
          }
        }
        this.setRc(p, EAGAIN);
        return this.scheduleWork(p, 'REVERT', timeoutNs, now);
      }

      case 'APPLY': {
        if (p.state !== 'CHECKED') return 0;
        if (p.reverted && !p.payload.safeToReapply) {
          // The hypercall succeeds; only the status says it did not happen.
          this.console.printk(msg.cantReapply(p.name));
          this.setRc(p, EINVAL);
          return 0;
        }
        if (!nodeps) {
          const rc = this.buildIdDep(p, this.state.applied.length === 0);
          if (rc) return rc;
        }
        const erc = this.checkExpectations(p);
        if (erc) return erc;
        const pre = this.singleHook(p, 'preapply');
        if (pre) {
          this.console.printk(msg.callingPreApply(p.name));
          const rc = this.runHook(p, pre) ?? 0;
          if (rc) {
            this.console.printk(msg.preApplyFailed(p.name, rc));
            this.setRc(p, rc);
            return rc;
          }
        }
        this.setRc(p, EAGAIN);
        return this.scheduleWork(p, 'APPLY', timeoutNs, now);
      }

      case 'REPLACE': {
        if (p.state !== 'CHECKED') return 0;
        const rc = this.buildIdDep(p, true); // always against the hypervisor; NODEPS is ignored
        if (rc) return rc;
        if (this.hasVetoingHooks(p) || this.state.applied.some((n) => this.hasVetoingHooks(this.byName.get(n)!))) {
          this.console.printk(msg.replaceVetoing(p.name));
          return -ERRNO.EOPNOTSUPP;
        }
        this.setRc(p, EAGAIN);
        return this.scheduleWork(p, 'REPLACE', timeoutNs, now);
      }
    }
  }

  private setRc(p: PayloadRecord, rc: number): void {
    p.rc = rc;
    this.dirty = true;
  }

  /** `schedule_work`: the one slot. Its EBUSY leaves `rc` at -EAGAIN (and a pre-hook already ran). */
  private scheduleWork(p: PayloadRecord, cmd: WorkCommand, timeoutNs: number, now: number): number {
    if (this.state.pending) return EBUSY;
    const wait = Math.min(this.identity.rendezvousNs, timeoutNs) / 1e6;
    const work: PendingWork = { name: p.name, cmd, timeoutNs, scheduledAt: now, dueAt: now + this.identity.quiesceMs + wait };
    this.state.pending = work;
    this.dirty = true;
    return 0;
  }

  private free(p: PayloadRecord): void {
    this.state.payloads.splice(this.state.payloads.indexOf(p), 1);
    this.byName.delete(p.name);
    this.state.payloadVersion++;
    this.dirty = true;
  }

  /** `build_id_dep`: `internal` compares with the hypervisor, otherwise with the top of the stack. */
  private buildIdDep(p: PayloadRecord, internal: boolean): number {
    let id: string | null;
    let against = 'hypervisor';
    if (internal) {
      id = this.identity.buildId;
      if (id === null) return -ERRNO.ENODATA; // xen_build_id() fails silently
    } else {
      const top = this.top()!;
      id = top.payload.buildId;
      against = top.name;
    }
    if (p.payload.depends !== id) {
      this.console.printk(msg.buildIdDepFailed(p.name, against));
      return EINVAL;
    }
    return 0;
  }

  /** `livepatch_check_expectations`. */
  private checkExpectations(p: PayloadRecord): number {
    this.console.printk(msg.verifyingExpectations(p.name));
    for (const [i, f] of p.payload.funcs.entries()) {
      const rt = p.funcs[i]!;
      const rc = this.verifyExpectation(p, f, rt);
      if (rc) {
        this.console.printk(msg.expectationsOfFailed(p.name, f.name ?? 'unknown', rc));
        return rc;
      }
    }
    return 0;
  }

  private verifyExpectation(p: PayloadRecord, f: PayloadRecord['payload']['funcs'][number], rt: PayloadRecord['funcs'][number]): number {
    const e = f.expect;
    if (!e?.enabled) return 0;
    if (rt.oldAddr === 0n) return -ERRNO.EFAULT;
    if (e.len > 31) return -ERRNO.EOVERFLOW;
    if (e.rsv) return EINVAL;
    if (f.oldSize < e.len) return -ERRNO.ERANGE;
    const actual = rt.location ? this.memory.read(rt.location, e.len) : null;
    if (!actual) {
      this.warn('expectation-unverifiable', p.name, `contents of ${f.name ?? 'the old function'} unknown: its expectation was taken as met`);
      return 0;
    }
    const expected = e.data.subarray(0, e.len);
    if (!Buffer.from(actual).equals(Buffer.from(expected))) {
      this.console.printk(msg.expectationFailed(str(f.name), hexN(expected), hexN(actual)));
      return EINVAL;
    }
    return 0;
  }

  // ---------------------------------------------------------------- the work (livepatch_do_action)

  private doAction(p: PayloadRecord, cmd: WorkCommand): void {
    let rc = 0;
    switch (cmd) {
      case 'APPLY':
        rc = this.applyWithHook(p);
        break;
      case 'REVERT':
        rc = this.revertWithHook(p);
        if (rc === 0) this.revertTail(p);
        break;
      case 'REPLACE': {
        for (const n of [...this.state.applied].reverse()) {
          const other = this.byName.get(n)!;
          other.rc = this.revertWithHook(other);
          if (other.rc === 0) this.revertTail(other);
          else {
            rc = EINVAL;
            break;
          }
        }
        if (rc === 0) {
          rc = this.checkExpectations(p);
          if (rc) {
            this.console.printk(msg.systemMightBeInsecure(p.name));
            break;
          }
          rc = this.applyWithHook(p);
        }
        break;
      }
    }
    p.rc = rc;
  }

  /** Apply through the action hook or `apply_payload`, check consistency, push on success. */
  private applyWithHook(p: PayloadRecord): number {
    const hook = this.singleHook(p, 'apply');
    let rc: number;
    if (hook) {
      this.console.printk(msg.callingApplyAction(p.name));
      rc = this.runHook(p, hook) ?? 0;
    } else rc = this.applyPayload(p);
    this.checkConsistent(p, rc === 0, 'applied');
    if (rc === 0) {
      this.state.applied.push(p.name);
      p.state = 'APPLIED';
    }
    return rc;
  }

  private revertWithHook(p: PayloadRecord): number {
    const hook = this.singleHook(p, 'revert');
    let rc: number;
    if (hook) {
      this.console.printk(msg.callingRevertAction(p.name));
      rc = this.runHook(p, hook) ?? 0;
    } else rc = this.revertPayload(p);
    this.checkConsistent(p, rc !== 0, 'reverted');
    return rc;
  }

  /** `was_action_consistent`, panicking as Xen does when it is not. */
  private checkConsistent(p: PayloadRecord, expectApplied: boolean, what: 'applied' | 'reverted'): void {
    for (const [i, applied] of p.applied.entries()) {
      if (applied !== expectApplied) {
        this.console.printk(msg.inconsistent(p.name, p.payload.funcs[i]?.name ?? 'noname'));
        this.panic(what === 'applied' ? msg.partiallyApplied(p.name) : msg.partiallyReverted(p.name));
      }
    }
  }

  private safetyCheck(): number {
    const d = this.identity.vmEventWaitqueueDomain;
    if (d === null) return 0;
    this.console.printk(msg.activeWaitqueue(d));
    return EBUSY;
  }

  /** `apply_payload`. */
  private applyPayload(p: PayloadRecord): number {
    const safety = this.safetyCheck();
    if (safety) {
      this.console.printk(msg.safetyCheckFailed(p.name, safety));
      return safety;
    }
    this.console.printk(msg.applying(p.name, p.payload.funcs.length));
    for (const h of this.arrayHooks(p, 'load')) this.runHook(p, h);
    for (const [i, f] of p.payload.funcs.entries()) {
      if (p.applied[i]) {
        this.console.printk(msg.alreadyApplied(str(f.name)));
        continue;
      }
      this.patch(p, i);
      p.applied[i] = true;
    }
    this.displayMetadata(p);
    return 0;
  }

  /** `revert_payload` (also callable by hooks, as the norevert test payload does). */
  revertPayload(p: PayloadRecord): number {
    this.console.printk(msg.reverting(p.name));
    for (const [i, f] of p.payload.funcs.entries()) {
      if (p.funcs[i]!.oldAddr === 0n || !p.applied[i]) {
        this.console.printk(msg.notAppliedBefore(str(f.name)));
        continue;
      }
      this.unpatch(p, i);
      p.applied[i] = false;
    }
    for (const h of this.arrayHooks(p, 'unload')) this.runHook(p, h);
    this.dirty = true;
    return 0;
  }

  /** `revert_payload_tail`. */
  revertTail(p: PayloadRecord): void {
    const at = this.state.applied.indexOf(p.name);
    if (at !== -1) this.state.applied.splice(at, 1);
    p.reverted = true;
    p.state = 'CHECKED';
    this.dirty = true;
  }

  /** `arch_livepatch_apply` on the known memory. */
  private patch(p: PayloadRecord, i: number): void {
    const f = p.payload.funcs[i]!;
    const rt = p.funcs[i]!;
    const loc = rt.location;
    const offset = loc && this.memory.startsWithEndbr(loc) ? ENDBR64_LEN : 0;
    p.patchOffset[i] = offset;
    if (!loc) return;
    const at = { symbol: loc.symbol, offset: loc.offset + offset };
    const len = f.isNop ? f.newSize - offset : PATCH_INSN_SIZE;
    if (len <= 0) return;
    p.saved[i] = this.memory.read(at, len);
    this.memory.write(at, f.isNop ? nops(len) : jmpRel32(rt.oldAddr + BigInt(offset), rt.newAddr));
  }

  private unpatch(p: PayloadRecord, i: number): void {
    const loc = p.funcs[i]!.location;
    const saved = p.saved[i];
    if (loc && saved) this.memory.write({ symbol: loc.symbol, offset: loc.offset + p.patchOffset[i]! }, saved);
    p.saved[i] = null;
  }

  /** `livepatch_display_metadata`: each NUL-terminated string of `.modinfo`. */
  private displayMetadata(p: PayloadRecord): void {
    const raw = p.payload.modinfo?.raw;
    if (!raw || raw.length === 0) return;
    this.console.printk(msg.metadataHeader());
    for (const line of modinfoStrings(raw, 'latin1')) this.console.printk(msg.metadataLine(line));
  }

  // ---------------------------------------------------------------- hooks

  /** The enabled hook of a single-hook kind (`is_hook_enabled`: present and not NULL). */
  private singleHook(p: PayloadRecord, kind: HookKind): PayloadHook | undefined {
    return p.payload.hooks.find((h) => h.kind === kind && !h.isNull && (h as { loaded?: boolean }).loaded !== false);
  }

  private arrayHooks(p: PayloadRecord, kind: 'load' | 'unload'): PayloadHook[] {
    return p.payload.hooks.filter((h) => h.kind === kind).sort((a, b) => a.index - b.index);
  }

  private hasVetoingHooks(p: PayloadRecord): boolean {
    return VETOING_HOOK_KINDS.some((k) => this.singleHook(p, k) !== undefined);
  }

  /** Runs one hook's behaviour and records the call; returns the rc for hooks that return one. */
  private runHook(p: PayloadRecord, hook: PayloadHook): number | null {
    if (hook.isNull) {
      // A NULL entry of a load/unload array is called all the same: a jump to address 0.
      this.panic('FATAL PAGE FAULT\n[error_code=0010]\nFaulting linear address: 0000000000000000');
    }
    const returnsRc = RC_HOOK_KINDS.includes(hook.kind);
    const record: { -readonly [K in keyof HookCall]: HookCall[K] } = {
      seq: ++this.state.hookSeq,
      payload: p.name,
      kind: hook.kind,
      symbol: hook.symbol,
      index: hook.index,
      rc: null,
      payloadRc: p.rc,
    };
    this.state.hookCalls.push(record);
    if (this.state.hookCalls.length > HOOK_CALLS_KEPT) this.state.hookCalls.splice(0, this.state.hookCalls.length - HOOK_CALLS_KEPT);
    this.dirty = true;
    const rule = findRule(this.state.hookRules, this.localRules, p.name, hook.kind, hook.symbol);
    let rc = 0;
    const isAction = hook.kind === 'apply' || hook.kind === 'revert';
    if (rule) rule.calls++;
    if (rule && typeof rule.behaviour === 'function') {
      const ctx = this.hookContext(p, hook, rule.calls);
      const out = rule.behaviour(ctx);
      rc = typeof out === 'number' ? out | 0 : 0;
      // A function that never touched the markers gets the default effect, so `() => 0` is a working
      // action hook; one that set them is taken at its word (and may panic the hypervisor).
      if (isAction && !ctx.touchedFstate) this.applyFstate(p, hook.kind === 'apply', 'consistent', rc);
    } else {
      const script: HookScript = (rule?.behaviour as HookScript | undefined) ?? {};
      const n = rule?.calls ?? 1;
      for (const line of script.printk ?? []) this.console.printk(`${line.replaceAll('{n}', String(n))}\n`);
      if (returnsRc) rc = scriptRc(script, n);
      if (isAction) this.applyFstate(p, hook.kind === 'apply', script.fstate ?? 'consistent', rc);
      for (const c of script.calls ?? []) {
        if (c === 'revert_payload') this.revertPayload(p);
        else this.revertTail(p);
      }
      for (const line of script.printkAfter ?? []) this.console.printk(`${line.replaceAll('{n}', String(n))}\n`);
      if (script.bug !== undefined) this.panic(`Xen BUG at ${script.bug === true ? `${p.name}:${hook.symbol ?? hook.kind}` : script.bug}`);
    }
    if (returnsRc) record.rc = rc;
    return returnsRc ? rc : null;
  }

  private applyFstate(p: PayloadRecord, isApply: boolean, effect: HookScript['fstate'], rc: number): void {
    let target: boolean | null = null;
    if (effect === 'applied') target = true;
    else if (effect === 'not-applied') target = false;
    else if (effect === 'consistent' && rc === 0) target = isApply;
    if (target !== null) p.applied = p.applied.map(() => target);
  }

  private hookContext(p: PayloadRecord, hook: PayloadHook, calls: number): HookContext & { touchedFstate: boolean } {
    const ctx = {
      touchedFstate: false,
      payload: p.name,
      kind: hook.kind,
      symbol: hook.symbol,
      index: hook.index,
      payloadRc: p.rc,
      state: p.state,
      calls,
      fstate: () => [...p.applied],
      setFstate: (applied: boolean, index?: number) => {
        ctx.touchedFstate = true;
        if (index === undefined) p.applied = p.applied.map(() => applied);
        else if (index >= 0 && index < p.applied.length) p.applied[index] = applied;
        else throw new RangeError(`no function ${index} in ${p.name}`);
      },
      printk: (text: string) => this.console.printk(text.endsWith('\n') ? text : `${text}\n`),
      revertPayload: () => this.revertPayload(p),
      revertPayloadTail: () => this.revertTail(p),
      bug: (where?: string): never => this.panic(`Xen BUG at ${where ?? `${p.name}:${hook.symbol ?? hook.kind}`}`),
    };
    return ctx;
  }

  // ---------------------------------------------------------------- debug keys and the console

  /** `XEN_SYSCTL_debug_keys`: only `x` (livepatch_printall) is modelled; other keys print nothing. */
  debugKeys(keys: string): void {
    for (const key of keys) {
      if (key === 'x') this.console.logEverything(() => this.printAll());
      else this.warn('unsupported-debug-key', null, `debug key ${JSON.stringify(key)} is not modelled; nothing printed`);
    }
    this.dirty = true;
  }

  /** `livepatch_printall`. */
  private printAll(): void {
    const c = this.console;
    c.printk(`'x' pressed - Dumping all livepatch patches\n`);
    if (this.identity.buildId !== null) c.printk(`build-id: ${hexN(this.identity.buildId)}\n`);
    for (const p of this.state.payloads) {
      const code = PAYLOAD_STATE_CODE[p.state];
      c.printk(` name=${p.name} state=${p.state}(${code}) ${ptr(p.textAddr)} (.data=${ptr(p.rwAddr)}, .rodata=${ptr(p.roAddr)}) using ${p.pages} pages.\n`);
      this.displayMetadata(p);
      for (const [i, f] of p.payload.funcs.entries()) {
        const rt = p.funcs[i]!;
        c.printk(`    ${str(f.name)} patch ${ptr(rt.oldAddr)}(${f.oldSize}) with ${ptr(rt.newAddr)} (${f.newSize})\n`);
      }
      if (p.payload.buildId) c.printk(`build-id=${hexN(p.payload.buildId)}\n`);
      if (p.payload.depends) c.printk(`depend-on=${hexN(p.payload.depends)}\n`);
      // Dropped with the early build-id check (fa49f4be41): the payload no longer keeps xen_depends.
      if (p.payload.xenDepends && !this.features['xen-build-id-first']) c.printk(`depend-on-xen=${hexN(p.payload.xenDepends)}\n`);
    }
  }

  readConsole(fromIndex?: number): { text: string; index: number } {
    return this.ring.read(fromIndex);
  }

  // ---------------------------------------------------------------- mock-only

  warn(kind: MockWarningKind, payload: string | null, message: string): void {
    this.state.warnings.push({ seq: ++this.state.warningSeq, kind, payload, message });
    if (this.state.warnings.length > WARNINGS_KEPT) this.state.warnings.splice(0, this.state.warnings.length - WARNINGS_KEPT);
    this.dirty = true;
  }

  record(name: string): PayloadRecord | undefined {
    return this.byName.get(name);
  }
}
