import type { Backend } from '../backend/backend.js';
import { ERRNO, errnoCode, errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import type { BuildIdHex, HookKind, LivepatchAction, PayloadState, PayloadStatus } from '../xen/domain.js';
import { type ConsoleEvent, eventsFor, isInfoEvent } from './console-events.js';
import type { ConsoleWatcher } from './console-watcher.js';
import {
  abortedError,
  AbortedError,
  ActionFailedError,
  BusyError,
  DependencyError,
  HookVetoError,
  NotLoadedError,
  NotReapplyableError,
  NotTopOfStackError,
  ReplaceRefusedError,
  TimeoutError,
  WrongStateError,
} from './errors.js';
import type { InFlightStore } from './in-flight.js';
import { type Outcome, PHASE_OF, type ProgressEvent } from './progress.js';
import { statusOf } from './status.js';
import { waitForCompletion } from './wait.js';

export { statusOf };

/** What is known about a payload beyond what GET says (from our registry or the `x` dump). */
export interface PayloadFacts {
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  /** Null when unknown (a payload some other tool uploaded). */
  readonly hooks: readonly HookKind[] | null;
  /** Whether Xen applies it again after a revert; null when unknown. */
  readonly safeToReapply: boolean | null;
}

export interface ActionContext {
  readonly backend: Backend;
  readonly console: ConsoleWatcher;
  readonly emit: (event: ProgressEvent) => void;
  /** Facts about a payload by name, for explanations when the console says little. */
  readonly facts: (name: string) => Promise<PayloadFacts | null>;
  /** The applied stack's top (name and build-id), for dependency explanations; null if unknown or empty. */
  readonly top: () => Promise<{ name: string; buildId: BuildIdHex | null } | null>;
  readonly xenBuildId: () => Promise<BuildIdHex | null>;
  /** Where issued actions are recorded until they complete; nothing is issued while one is pending. */
  readonly inFlight?: InFlightStore;
}

/** What one action is asked: how long to wait, the hypervisor's quiesce timeout, cancellation, NODEPS. */
export interface ActionRequest {
  readonly nodeps?: boolean | undefined;
  /** Hypervisor-side quiesce timeout (ns); 0 means Xen's default. */
  readonly timeoutNs?: number | undefined;
  /** How long to wait for completion. */
  readonly waitMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface ActionResult {
  readonly payload: string;
  readonly action: LivepatchAction;
  readonly outcome: Outcome;
  readonly status: PayloadStatus | null;
  /** The hypervisor's console lines about this payload while the action ran. */
  readonly console: readonly string[];
  /** Hooks the console reported as called, in order. */
  readonly hooks: readonly { readonly hook: HookKind; readonly rc?: number }[];
  readonly elapsedMs: number;
}

/** The state an action leaves a payload in when it succeeds. */
const TARGET_STATE: Readonly<Record<Exclude<LivepatchAction, 'UNLOAD'>, PayloadState>> = {
  APPLY: 'APPLIED',
  REVERT: 'CHECKED',
  REPLACE: 'APPLIED',
};

const EAGAIN = -ERRNO.EAGAIN;
/** How long to keep reading the console after completion for the post-hook and "finished" lines. */
const FINISH_GRACE_MS = 200;

class Transcript {
  readonly lines: string[] = [];
  readonly events: ConsoleEvent[] = [];
  readonly hooks: { hook: HookKind; rc?: number }[] = [];

  constructor(
    private readonly ctx: ActionContext,
    private readonly names: readonly string[],
  ) {}

  async collect(): Promise<void> {
    const text = (await this.ctx.console.read()).join('\n');
    if (!text) return;
    for (const name of this.names) {
      for (const { line, lines, event } of eventsFor(text, name)) {
        this.lines.push(...lines);
        this.events.push(event);
        if (event.kind === 'hook-call' || event.kind === 'hook-veto') {
          const rc = event.rc;
          this.hooks.push(rc === undefined ? { hook: event.hook } : { hook: event.hook, rc });
          this.ctx.emit({
            phase: 'hook',
            payload: event.payload,
            hook: event.hook,
            ...(rc === undefined ? {} : { rc }),
            vetoed: event.kind === 'hook-veto',
            line,
          });
        }
      }
    }
  }

  find<K extends ConsoleEvent['kind']>(kind: K, payload?: string): Extract<ConsoleEvent, { kind: K }> | undefined {
    return this.events.find(
      (e): e is Extract<ConsoleEvent, { kind: K }> => e.kind === kind && (payload === undefined || e.payload === payload),
    );
  }

  /** Whether the console shows Xen's INFO lines (so the "finished" line will come). */
  get infoVisible(): boolean {
    return this.events.some(isInfoEvent);
  }
}

/**
 * Runs one ACTION to its end: checks the payload's state, issues the sysctl, waits for the
 * hypervisor to finish, and turns every failure into a typed error that says why, from the
 * console lines Xen printed when there are any, else from the status and what is known about the
 * payload. `extraNames` are other payloads whose console lines matter (REPLACE reverts the stack).
 *
 * Xen does nothing and returns 0 for APPLY of an APPLIED payload and REVERT of a CHECKED one;
 * those are reported as `nothing-to-do` without a hypercall. The one exception is a status rc of
 * -EAGAIN: it means either that work on this payload is in flight (Xen then says EBUSY) or that an
 * earlier action's scheduling failed after its pre-hook ran, which leaves -EAGAIN behind for good
 * (Xen then does nothing): the hypercall, harmless either way, tells the two apart.
 */
export async function runAction(
  ctx: ActionContext,
  name: string,
  action: LivepatchAction,
  request: ActionRequest,
  extraNames: readonly string[] = [],
): Promise<ActionResult> {
  if (request.signal?.aborted) abortedError(request.signal, `${action} of ${JSON.stringify(name)}`, name);
  // Xen runs one action at a time, and one issued into a pending one runs its pre-hook for nothing.
  await ctx.inFlight?.settle({ waitMs: request.waitMs, signal: request.signal, before: `${action} ${name}` });
  const started = performance.now();
  const before = await statusOf(ctx.backend, name);
  const result = (outcome: Outcome, status: PayloadStatus | null, t: Transcript): ActionResult => {
    const elapsedMs = performance.now() - started;
    ctx.emit({ phase: 'done', payload: name, action, outcome, status, elapsedMs });
    return { payload: name, action, outcome, status, console: t.lines, hooks: t.hooks, elapsedMs };
  };

  if (action === 'UNLOAD' && before.state === 'APPLIED') {
    throw new WrongStateError(
      name,
      `${JSON.stringify(name)} is applied; revert it before unloading it (Xen refuses with EINVAL)`,
      ERRNO.EINVAL,
    );
  }
  if (action === 'REPLACE' && before.state === 'APPLIED') {
    // Xen's REPLACE takes a CHECKED payload and silently does nothing otherwise.
    throw new WrongStateError(
      name,
      `${JSON.stringify(name)} is already applied; Xen's ` + `REPLACE takes a payload that is loaded but not applied`,
      ERRNO.EINVAL,
    );
  }
  const alreadyThere = action !== 'UNLOAD' && action !== 'REPLACE' && before.state === TARGET_STATE[action];
  if (alreadyThere && before.rc !== EAGAIN) return result('nothing-to-do', before, new Transcript(ctx, []));

  const transcript = new Transcript(ctx, [name, ...extraNames]);
  await ctx.console.sync();
  ctx.emit({ phase: PHASE_OF[action], payload: name });
  // Recorded before it is issued, so a process killed while it runs leaves the record behind.
  const scheduled = action !== 'UNLOAD' && !alreadyThere;
  if (scheduled) await ctx.inFlight?.issuing(name, action);
  try {
    await ctx.backend.action(name, action, {
      ...(request.timeoutNs === undefined ? {} : { timeoutNs: request.timeoutNs }),
      ...(request.nodeps ? { nodeps: true } : {}),
    });
  } catch (error) {
    if (scheduled) await ctx.inFlight?.settled(); // refused: nothing is pending
    await transcript.collect();
    if (error instanceof XenError) throw await explainRefusal(ctx, name, action, error, transcript, before);
    throw error;
  }
  if (alreadyThere) {
    // Xen accepted and did nothing: the -EAGAIN was left behind, nothing is in flight.
    await transcript.collect();
    return result('nothing-to-do', await statusOf(ctx.backend, name), transcript);
  }
  if (action === 'UNLOAD') {
    await transcript.collect();
    return result('done', null, transcript);
  }

  // What the action printed so far (its pre-hook's lines) is read before a wait, so the hook's
  // progress comes before the waiting; an action already done at the first poll is read once,
  // after it: one console read less per action (each a hypercall, costly in an emulated dom0).
  const waited = await waitForCompletion(ctx.backend, name, {
    timeoutMs: request.waitMs,
    signal: request.signal,
    onFirstPending: () => transcript.collect(),
    onPending: (elapsedMs) => ctx.emit({ phase: 'waiting', payload: name, action, elapsedMs }),
  });
  await transcript.collect();
  // Still pending after an abort or a deadline: the record stays for whoever issues the next action.
  if (waited.kind === 'completed' && scheduled) await ctx.inFlight?.settled();
  if (waited.kind === 'aborted') {
    throw new AbortedError(`${action} of ${JSON.stringify(name)} was cancelled while waiting; the hypervisor may still complete it`, {
      payload: name,
      consoleLines: transcript.lines,
    });
  }
  if (waited.kind === 'deadline') {
    throw new TimeoutError(name, action, 'wait', `${request.waitMs} ms`, transcript.lines);
  }
  const status = waited.status;
  // Xen prints the post-hook and "finished" lines just after the status changes; wait briefly for
  // them so the result (and any error) carries the whole story. They are INFO lines: at Xen's
  // release default loglvl none of this action's INFO lines show, and then there is nothing to
  // wait for (error lines such as a quiesce timeout do show, but no "finished" follows them).
  const graceEnd = performance.now() + FINISH_GRACE_MS;
  while (transcript.infoVisible && !transcript.find('finished', name) && performance.now() < graceEnd) {
    await new Promise((r) => setTimeout(r, 2));
    await transcript.collect();
  }

  if (status.state === TARGET_STATE[action] && status.rc === 0) return result('done', status, transcript);
  throw await explainFailedStatus(ctx, name, action, status, transcript);
}

const PRE_HOOK: Partial<Record<LivepatchAction, 'preapply' | 'prerevert'>> = { APPLY: 'preapply', REVERT: 'prerevert' };

async function explainRefusal(
  ctx: ActionContext,
  name: string,
  action: LivepatchAction,
  error: XenError,
  t: Transcript,
  before: PayloadStatus,
): Promise<Error> {
  const lines = t.lines;
  const veto = t.find('hook-veto', name);
  if (veto) return new HookVetoError(name, veto.hook, veto.rc, lines);
  const notTop = t.find('not-top', name);
  if (notTop) return new NotTopOfStackError(name, notTop.top, lines);
  const dep = t.find('dependency-failed', name);
  if (dep || ((action === 'APPLY' || action === 'REPLACE') && error.code === 'ENODATA')) {
    return dependencyError(ctx, name, error.errno, dep?.against ?? 'hypervisor', lines);
  }
  if (t.find('replace-vetoing-hooks', name) || (action === 'REPLACE' && error.code === 'EOPNOTSUPP')) {
    return new ReplaceRefusedError(name, [], lines, false);
  }
  const expectation = t.find('expectation-failed', name);
  if (expectation) {
    return new ActionFailedError(
      name,
      action,
      error.errno,
      `the bytes at a patched function are not what the payload expects (${expectation.detail})`,
      lines,
    );
  }
  if (error.code === 'ENOENT') return new NotLoadedError(name);
  const after = await ctx.backend.get(name).catch(() => null);
  if (error.code === 'EBUSY') return busyError(ctx, name, action, before, after, t);

  // Without a console line, a vetoing hook is recognisable by the rc it leaves in the status:
  // only the pre-hook sets it in a refused APPLY/REVERT (the dependency and expectation checks
  // that come before it do not).
  const pre = PRE_HOOK[action];
  if (pre && after?.rc === -error.errno) {
    const facts = await ctx.facts(name);
    if (after.rc !== before.rc) return new HookVetoError(name, pre, after.rc, lines);
    // The same rc as before: an earlier failure's, or the hook vetoed again with the same value.
    if (action === 'APPLY' && error.code === 'EINVAL' && (await dependencyFails(ctx, name))) {
      return dependencyError(ctx, name, error.errno, null, lines);
    }
    if (facts?.hooks?.includes(pre) !== false) return new HookVetoError(name, pre, after.rc, lines);
  }
  if (action === 'APPLY' && error.code === 'EINVAL' && (await dependencyFails(ctx, name))) {
    return dependencyError(ctx, name, error.errno, null, lines);
  }
  return new ActionFailedError(name, action, error.errno, `the hypervisor refused it: ${errnoMessage(error.errno)} (${error.code})`, lines);
}

/** Whether what is known says the APPLY dependency check fails (false when it cannot tell). */
async function dependencyFails(ctx: ActionContext, name: string): Promise<boolean> {
  const facts = await ctx.facts(name);
  if (!facts?.dependsOn) return false;
  const top = await ctx.top();
  const against = top ? top.buildId : await ctx.xenBuildId();
  return against !== null && against !== facts.dependsOn;
}

async function dependencyError(
  ctx: ActionContext,
  name: string,
  errno: number,
  against: string | null,
  lines: readonly string[],
): Promise<DependencyError> {
  const facts = await ctx.facts(name);
  const top = against === 'hypervisor' ? null : await ctx.top();
  const on = against ?? top?.name ?? 'hypervisor';
  const againstBuildId = on === 'hypervisor' ? await ctx.xenBuildId() : (top?.buildId ?? null);
  return new DependencyError(name, { errno, dependsOn: facts?.dependsOn ?? null, against: on, againstBuildId }, lines);
}

async function busyError(
  ctx: ActionContext,
  name: string,
  action: LivepatchAction,
  before: PayloadStatus,
  after: PayloadStatus | null,
  t: Transcript,
): Promise<Error> {
  const lines = t.lines;
  if (action === 'REVERT' && before.state === 'APPLIED') {
    const top = await ctx.top();
    if (top && top.name !== name) return new NotTopOfStackError(name, top.name, lines);
  }
  const quoted = JSON.stringify(name);
  if (before.rc === EAGAIN) {
    return new BusyError(
      `an action on ${quoted} is still in flight (its status ` + `rc is -EAGAIN), or another payload's is; retry shortly`,
      name,
      lines,
    );
  }
  const pre = PRE_HOOK[action];
  if (after?.rc === EAGAIN) {
    // schedule_work found the single work slot taken, after the pre-hook had run.
    const facts = await ctx.facts(name);
    const hookRan = pre !== undefined && (t.hooks.some((h) => h.hook === pre) || facts?.hooks?.includes(pre) === true);
    const label = pre === 'preapply' ? 'pre-apply' : 'pre-revert';
    return new BusyError(
      `${action} of ${quoted} was not scheduled: another livepatch action is pending (Xen runs one at a time); retry once it completes. ` +
        `Xen leaves ${quoted}'s status rc at -EAGAIN although nothing is pending for it` +
        (hookRan ? `, and its ${label} hook already ran` : ''),
      name,
      lines,
    );
  }
  return new BusyError(`the hypervisor is busy: another livepatch action is pending (Xen runs one at a time); retry shortly`, name, lines);
}

async function explainFailedStatus(
  ctx: ActionContext,
  name: string,
  action: LivepatchAction,
  status: PayloadStatus,
  t: Transcript,
): Promise<Error> {
  const lines = t.lines;
  const quoted = JSON.stringify(name);
  if (status.rc === -ERRNO.EBUSY) {
    const safety = lines.find((l) => l.includes(`${name}: Safety checks failed`));
    if (safety) {
      return new BusyError(
        `${action} of ${quoted} failed Xen's safety check: a domain ` + `has an active vm_event wait queue; retry once it is idle`,
        name,
        lines,
      );
    }
    const timeout = t.find('quiesce-timeout', name);
    return new TimeoutError(name, action, 'hypervisor', timeout?.detail ?? 'the CPUs did not rendezvous before the timeout', lines);
  }
  const facts = await ctx.facts(name);
  if (
    t.find('not-reapplyable', name) ||
    (action === 'APPLY' && status.rc === -ERRNO.EINVAL && status.state === 'CHECKED' && facts?.safeToReapply === false)
  ) {
    return new NotReapplyableError(
      name,
      action,
      -status.rc,
      'Xen does not apply a reverted payload that has writable data (.data/.bss) ' +
        'again; unload it and upload it afresh (`xlp unload`, then `xlp load`)',
      lines,
    );
  }
  if (status.rc === 0) {
    return new ActionFailedError(name, action, ERRNO.EINVAL, `the hypervisor reports success but ${quoted} is ${status.state}`, lines);
  }
  const actionHookKind = action === 'REVERT' ? 'revert' : 'apply';
  const actionHook =
    t.hooks.find((h) => h.hook === actionHookKind) ?? (facts?.hooks?.includes(actionHookKind) ? { hook: actionHookKind } : undefined);
  const replacedFailure = action === 'REPLACE';
  const reason = actionHook
    ? `its ${actionHook.hook} action hook failed with ${status.rc} (${errnoCode(status.rc)}); ${quoted} is ${status.state}`
    : replacedFailure
      ? `the hypervisor reported ${status.rc} (${errnoCode(status.rc)}); check ` +
        `the stack (\`xlp stack\`): a failed REPLACE can leave payloads reverted`
      : `the hypervisor reported ${status.rc} (${errnoCode(status.rc)}: ${errnoMessage(status.rc)}); ${quoted} is ${status.state}`;
  return new ActionFailedError(name, action, -status.rc, reason, lines);
}
