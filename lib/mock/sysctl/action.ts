/**
 * `XEN_SYSCTL_LIVEPATCH_ACTION` (`livepatch_action`): the synchronous part of each command, up to
 * scheduling the work the idle loop completes (../work.ts).
 */
import type { ActionOptions } from '../../backend/backend.js';
import { DEFAULT_ACTION_TIMEOUT_NS, type LivepatchAction, MAX_ACTION_TIMEOUT_NS } from '../../xen/domain.js';
import { ERRNO } from '../../xen/errno.js';
import { type XenCall, XenError } from '../../xen/errors.js';
import { hasVetoingHooks, runHook, singleHook } from '../hook-calls.js';
import type { MockMachine } from '../machine.js';
import { msg } from '../messages.js';
import { checkExpectations } from '../patching.js';
import type { PayloadRecord, PendingWork, WorkCommand } from '../state.js';

const EAGAIN = -ERRNO.EAGAIN;
const EBUSY = -ERRNO.EBUSY;
const EINVAL = -ERRNO.EINVAL;

export function action(m: MockMachine, name: string, cmd: LivepatchAction, req: ActionOptions, now: number): void {
  const call = cmd.toLowerCase() as XenCall;
  const timeout = req.timeoutNs ?? 0;
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_ACTION_TIMEOUT_NS) {
    throw new RangeError(`${call}: timeoutNs must be a u32 number of nanoseconds, not ${timeout}`);
  }
  const p = m.find(name, call);
  if (m.state.pending?.name === p.name) {
    throw new XenError(call, ERRNO.EBUSY, p.name, `${call} ${JSON.stringify(p.name)}: an action on it is still pending (EBUSY)`);
  }
  const rc = dispatch(m, p, cmd, req.nodeps === true, timeout || DEFAULT_ACTION_TIMEOUT_NS, now);
  // Only a negative return is an error to libxenctrl; a hook returning a positive value "succeeds".
  if (rc < 0) throw actionError(m, call, p, cmd, rc);
}

/** The error for a refused action; the message says which rule refused it where the errno cannot. */
function actionError(m: MockMachine, call: XenCall, p: PayloadRecord, cmd: LivepatchAction, rc: number): XenError {
  const errno = Math.abs(rc);
  let reason: string | undefined;
  if (errno === ERRNO.EBUSY) {
    reason = cmd === 'REVERT' && m.top() !== p ? `not on top of the applied stack (top is ${m.top()?.name})` : 'another action is pending';
  } else if (errno === ERRNO.EOPNOTSUPP && cmd === 'REPLACE')
    reason = 'REPLACE is refused while the target or an applied payload has pre/post hooks';
  else if (errno === ERRNO.EINVAL && cmd === 'UNLOAD') reason = 'it is APPLIED';
  return new XenError(call, errno, p.name, reason ? `${XenError.describe(call, errno, p.name)}: ${reason}` : undefined);
}

/** The synchronous part of each command; returns the hypercall's rc. */
function dispatch(m: MockMachine, p: PayloadRecord, cmd: LivepatchAction, nodeps: boolean, timeoutNs: number, now: number): number {
  switch (cmd) {
    case 'UNLOAD':
      if (p.state !== 'CHECKED') return EINVAL;
      m.free(p);
      return 0;

    case 'REVERT': {
      if (p.state !== 'APPLIED') return 0; // Xen silently does nothing
      const top = m.top();
      if (top !== p) {
        m.console.printk(msg.cantUnloadTop(p.name, top?.name ?? '?'));
        return EBUSY;
      }
      const vetoed = runPreHook(m, p, 'prerevert');
      if (vetoed) return vetoed;
      setRc(m, p, EAGAIN);
      return scheduleWork(m, p, 'REVERT', timeoutNs, now);
    }

    case 'APPLY': {
      if (p.state !== 'CHECKED') return 0;
      if (p.reverted && !p.payload.safeToReapply) {
        // The hypercall succeeds; only the status says it did not happen.
        m.console.printk(msg.cantReapply(p.name));
        setRc(m, p, EINVAL);
        return 0;
      }
      if (!nodeps) {
        const rc = buildIdDep(m, p, m.state.applied.length === 0);
        if (rc) return rc;
      }
      const erc = checkExpectations(m, p);
      if (erc) return erc;
      const vetoed = runPreHook(m, p, 'preapply');
      if (vetoed) return vetoed;
      setRc(m, p, EAGAIN);
      return scheduleWork(m, p, 'APPLY', timeoutNs, now);
    }

    case 'REPLACE': {
      if (p.state !== 'CHECKED') return 0;
      const rc = buildIdDep(m, p, true); // always against the hypervisor; NODEPS is ignored
      if (rc) return rc;
      if (hasVetoingHooks(p) || m.state.applied.some((n) => hasVetoingHooks(m.record(n)!))) {
        m.console.printk(msg.replaceVetoing(p.name));
        return -ERRNO.EOPNOTSUPP;
      }
      setRc(m, p, EAGAIN);
      return scheduleWork(m, p, 'REPLACE', timeoutNs, now);
    }
  }
}

/**
 * A vetoing hook, run as Xen runs it before scheduling the action: its call and a veto are printed,
 * and a veto (non-zero rc) becomes the payload's rc and the hypercall's answer.
 */
function runPreHook(m: MockMachine, p: PayloadRecord, kind: 'preapply' | 'prerevert'): number {
  const hook = singleHook(p, kind);
  if (!hook) return 0;
  m.console.printk(kind === 'preapply' ? msg.callingPreApply(p.name) : msg.callingPreRevert(p.name));
  const rc = runHook(m, p, hook) ?? 0;
  if (rc) {
    m.console.printk(kind === 'preapply' ? msg.preApplyFailed(p.name, rc) : msg.preRevertFailed(p.name, rc));
    setRc(m, p, rc);
  }
  return rc;
}

function setRc(m: MockMachine, p: PayloadRecord, rc: number): void {
  p.rc = rc;
  m.dirty = true;
}

/** `schedule_work`: the one slot. Its EBUSY leaves `rc` at -EAGAIN (and a pre-hook already ran). */
function scheduleWork(m: MockMachine, p: PayloadRecord, cmd: WorkCommand, timeoutNs: number, now: number): number {
  if (m.state.pending) return EBUSY;
  const wait = Math.min(m.identity.rendezvousNs, timeoutNs) / 1e6;
  const work: PendingWork = { name: p.name, cmd, timeoutNs, scheduledAt: now, dueAt: now + m.identity.quiesceMs + wait };
  m.state.pending = work;
  m.dirty = true;
  return 0;
}

/** `build_id_dep`: `internal` compares with the hypervisor, otherwise with the top of the stack. */
function buildIdDep(m: MockMachine, p: PayloadRecord, internal: boolean): number {
  let id: string | null;
  let against = 'hypervisor';
  if (internal) {
    id = m.identity.buildId;
    if (id === null) return -ERRNO.ENODATA; // xen_build_id() fails silently
  } else {
    const top = m.top()!;
    id = top.payload.buildId;
    against = top.name;
  }
  if (p.payload.depends !== id) {
    m.console.printk(msg.buildIdDepFailed(p.name, against));
    return EINVAL;
  }
  return 0;
}
