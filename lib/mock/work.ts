/**
 * `livepatch_do_action` and what the idle loop does around it (`check_for_livepatch_work`): the
 * deferred part of APPLY, REVERT and REPLACE, run once the scheduled work is due.
 */
import { modinfoStrings } from '../payload/modinfo.js';
import { ERRNO } from '../xen/errno.js';
import { arrayHooks, hasVetoingHooks, runHook, singleHook } from './hook-calls.js';
import type { MockMachine } from './machine.js';
import { msg } from './messages.js';
import { checkExpectations, patch, unpatch } from './patching.js';
import { str } from './printk.js';
import type { PayloadRecord, WorkCommand } from './state.js';

const EBUSY = -ERRNO.EBUSY;
const EINVAL = -ERRNO.EINVAL;

/** `check_for_livepatch_work`: completes the pending work if it is due. */
export function completeWork(m: MockMachine, now: number): void {
  const work = m.state.pending;
  if (!work || now < work.dueAt) return;
  m.dirty = true;
  const p = m.record(work.name);
  if (!p) {
    m.state.pending = null; // cannot happen: a payload with pending work cannot be unloaded
    return;
  }
  const others = m.identity.cpus - 1;
  let actionDone = false;
  if (others > 0 && m.identity.rendezvousNs > work.timeoutNs) {
    // livepatch_spin: the other CPUs did not all check in before the deadline.
    m.console.printk(msg.timedOut(p.name, 'CPU', 0, others));
    p.rc = EBUSY;
    m.state.pending = null;
  } else {
    doAction(m, p, work.cmd);
    actionDone = true;
    m.state.pending = null;
  }
  if (actionDone) {
    if (work.cmd === 'REVERT') {
      const h = singleHook(p, 'postrevert');
      if (h) {
        m.console.printk(msg.callingPostRevert(p.name, p.rc));
        runHook(m, p, h);
      }
    } else if (work.cmd === 'APPLY') {
      const h = singleHook(p, 'postapply');
      if (h) {
        m.console.printk(msg.callingPostApply(p.name, p.rc));
        runHook(m, p, h);
      }
    } else if (hasVetoingHooks(p)) {
      m.panic(`livepatch: ${p.name}: REPLACE action is not supported on livepatches with vetoing hooks!`);
    }
  }
  m.console.printk(msg.finished(p.name, work.cmd, p.rc));
}

function doAction(m: MockMachine, p: PayloadRecord, cmd: WorkCommand): void {
  let rc = 0;
  switch (cmd) {
    case 'APPLY':
      rc = applyWithHook(m, p);
      break;
    case 'REVERT':
      rc = revertWithHook(m, p);
      if (rc === 0) revertTail(m, p);
      break;
    case 'REPLACE': {
      for (const n of [...m.state.applied].reverse()) {
        const other = m.record(n)!;
        other.rc = revertWithHook(m, other);
        if (other.rc === 0) revertTail(m, other);
        else {
          rc = EINVAL;
          break;
        }
      }
      if (rc === 0) {
        rc = checkExpectations(m, p);
        if (rc) {
          m.console.printk(msg.systemMightBeInsecure(p.name));
          break;
        }
        rc = applyWithHook(m, p);
      }
      break;
    }
  }
  p.rc = rc;
}

/** Apply through the action hook or `apply_payload`, check consistency, push on success. */
function applyWithHook(m: MockMachine, p: PayloadRecord): number {
  const hook = singleHook(p, 'apply');
  let rc: number;
  if (hook) {
    m.console.printk(msg.callingApplyAction(p.name));
    rc = runHook(m, p, hook) ?? 0;
  } else rc = applyPayload(m, p);
  checkConsistent(m, p, rc === 0, 'applied');
  if (rc === 0) {
    m.state.applied.push(p.name);
    p.state = 'APPLIED';
  }
  return rc;
}

function revertWithHook(m: MockMachine, p: PayloadRecord): number {
  const hook = singleHook(p, 'revert');
  let rc: number;
  if (hook) {
    m.console.printk(msg.callingRevertAction(p.name));
    rc = runHook(m, p, hook) ?? 0;
  } else rc = revertPayload(m, p);
  checkConsistent(m, p, rc !== 0, 'reverted');
  return rc;
}

/** `was_action_consistent`, panicking as Xen does when it is not. */
function checkConsistent(m: MockMachine, p: PayloadRecord, expectApplied: boolean, what: 'applied' | 'reverted'): void {
  for (const [i, applied] of p.applied.entries()) {
    if (applied !== expectApplied) {
      m.console.printk(msg.inconsistent(p.name, p.payload.funcs[i]?.name ?? 'noname'));
      m.panic(what === 'applied' ? msg.partiallyApplied(p.name) : msg.partiallyReverted(p.name));
    }
  }
}

function safetyCheck(m: MockMachine): number {
  const d = m.identity.vmEventWaitqueueDomain;
  if (d === null) return 0;
  m.console.printk(msg.activeWaitqueue(d));
  return EBUSY;
}

/** `apply_payload`. */
function applyPayload(m: MockMachine, p: PayloadRecord): number {
  const safety = safetyCheck(m);
  if (safety) {
    m.console.printk(msg.safetyCheckFailed(p.name, safety));
    return safety;
  }
  m.console.printk(msg.applying(p.name, p.payload.funcs.length));
  for (const h of arrayHooks(p, 'load')) runHook(m, p, h);
  for (const [i, f] of p.payload.funcs.entries()) {
    if (p.applied[i]) {
      m.console.printk(msg.alreadyApplied(str(f.name)));
      continue;
    }
    patch(m, p, i);
    p.applied[i] = true;
  }
  displayMetadata(m, p);
  return 0;
}

/** `revert_payload` (also callable by hooks, as the norevert test payload does). */
export function revertPayload(m: MockMachine, p: PayloadRecord): number {
  m.console.printk(msg.reverting(p.name));
  for (const [i, f] of p.payload.funcs.entries()) {
    if (p.funcs[i]!.oldAddr === 0n || !p.applied[i]) {
      m.console.printk(msg.notAppliedBefore(str(f.name)));
      continue;
    }
    unpatch(m, p, i);
    p.applied[i] = false;
  }
  for (const h of arrayHooks(p, 'unload')) runHook(m, p, h);
  m.dirty = true;
  return 0;
}

/** `revert_payload_tail`. */
export function revertTail(m: MockMachine, p: PayloadRecord): void {
  const at = m.state.applied.indexOf(p.name);
  if (at !== -1) m.state.applied.splice(at, 1);
  p.reverted = true;
  p.state = 'CHECKED';
  m.dirty = true;
}

/** `livepatch_display_metadata`: each NUL-terminated string of `.modinfo`. */
export function displayMetadata(m: MockMachine, p: PayloadRecord): void {
  const raw = p.payload.modinfo?.raw;
  if (!raw || raw.length === 0) return;
  m.console.printk(msg.metadataHeader());
  for (const line of modinfoStrings(raw, 'latin1')) m.console.printk(msg.metadataLine(line));
}
