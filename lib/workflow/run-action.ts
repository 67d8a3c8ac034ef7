import type { Backend } from '../backend/backend.js';
import { ERRNO, errnoCode, errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import type { BuildIdHex, HookKind, LivepatchAction, PayloadState, PayloadStatus } from '../xen/domain.js';
import { type ConsoleEvent, eventsFor } from './console-events.js';
import type { ConsoleWatcher } from './console-watcher.js';
import {
  AbortedError,
  ActionFailedError,
  BusyError,
  DependencyError,
  HookVetoError,
  NotTopOfStackError,
  ReplaceRefusedError,
  TimeoutError,
  WrongStateError,
} from './errors.js';
import { type Outcome, PHASE_OF, type ProgressEvent } from './progress.js';
import { waitForCompletion } from './wait.js';

/** What is known about a payload beyond what GET says (from our registry or the `x` dump). */
export interface PayloadFacts {
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  /** Null when unknown (a payload some other tool uploaded). */
  readonly hooks: readonly HookKind[] | null;
}

export interface ActionContext {
  readonly backend: Backend;
  readonly console: ConsoleWatcher;
  readonly emit: (event: ProgressEvent) => void;
  /** Facts about a payload by name, for explanations when the console says little. */
  readonly facts: (name: string) => Promise<PayloadFacts | null>;
  /** The applied stack's top (name and build-id), for dependency explanations. */
  readonly top: () => Promise<{ name: string; buildId: BuildIdHex | null } | null>;
  readonly xenBuildId: () => Promise<BuildIdHex | null>;
}

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
      for (const { line, event } of eventsFor(text, name)) {
        this.lines.push(line);
        this.events.push(event);
        if (event.kind === 'hook-call' || event.kind === 'hook-veto') {
          const rc = event.kind === 'hook-veto' ? event.rc : event.rc;
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
    return this.events.find((e): e is Extract<ConsoleEvent, { kind: K }> => e.kind === kind && (payload === undefined || e.payload === payload));
  }
}

/**
 * Runs one ACTION to its end: checks the payload's state, issues the sysctl, waits for the
 * hypervisor to finish, and turns every failure into a typed error that says why, using the
 * console lines Xen printed. `extraNames` are other payloads whose console lines matter (REPLACE
 * reverts the whole stack).
 */
export async function runAction(
  ctx: ActionContext,
  name: string,
  action: LivepatchAction,
  request: ActionRequest,
  extraNames: readonly string[] = [],
): Promise<ActionResult> {
  const started = performance.now();
  const before = await ctx.backend.get(name);
  const result = (outcome: Outcome, status: PayloadStatus | null, t: Transcript): ActionResult => {
    ctx.emit({ phase: 'done', payload: name, action, outcome, status });
    return { payload: name, action, outcome, status, console: t.lines, hooks: t.hooks, elapsedMs: performance.now() - started };
  };

  if (action !== 'UNLOAD' && before.state === TARGET_STATE[action] && before.rc !== EAGAIN && action !== 'REPLACE') {
    // Xen would return 0 and do nothing; say so rather than claim success.
    return result('nothing-to-do', before, new Transcript(ctx, []));
  }
  if (action === 'UNLOAD' && before.state === 'APPLIED') {
    throw new WrongStateError(name, `${JSON.stringify(name)} is applied; revert it before unloading it (Xen refuses with EINVAL)`, ERRNO.EINVAL);
  }
  if (action === 'REPLACE' && before.state === 'APPLIED') {
    return result('nothing-to-do', before, new Transcript(ctx, []));
  }

  const transcript = new Transcript(ctx, [name, ...extraNames]);
  await ctx.console.sync();
  ctx.emit({ phase: PHASE_OF[action], payload: name });
  try {
    await ctx.backend.action(name, action, {
      ...(request.timeoutNs === undefined ? {} : { timeoutNs: request.timeoutNs }),
      ...(request.nodeps ? { nodeps: true } : {}),
    });
  } catch (error) {
    await transcript.collect();
    if (error instanceof XenError) throw await explainRefusal(ctx, name, action, error, transcript);
    throw error;
  }
  await transcript.collect();
  if (action === 'UNLOAD') return result('done', null, transcript);

  const waited = await waitForCompletion(ctx.backend, name, {
    timeoutMs: request.waitMs,
    signal: request.signal,
    onPending: (elapsedMs) => ctx.emit({ phase: 'waiting', payload: name, action, elapsedMs }),
  });
  await transcript.collect();
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
  // wait for. A refused re-apply runs no work and prints no "finished".
  const infoLogged = transcript.events.some((e) => e.kind !== 'not-reapplyable' && e.kind !== 'hook-veto');
  const graceEnd = performance.now() + FINISH_GRACE_MS;
  while (infoLogged && !transcript.find('finished', name) && performance.now() < graceEnd) {
    await new Promise((r) => setTimeout(r, 2));
    await transcript.collect();
  }

  if (status.state === TARGET_STATE[action] && status.rc === 0) return result('done', status, transcript);
  throw explainFailedStatus(name, action, status, transcript);
}

async function explainRefusal(ctx: ActionContext, name: string, action: LivepatchAction, error: XenError, t: Transcript): Promise<Error> {
  const lines = t.lines;
  const veto = t.find('hook-veto', name);
  if (veto) return new HookVetoError(name, veto.hook, veto.rc, lines);
  const notTop = t.find('not-top', name);
  if (notTop) return new NotTopOfStackError(name, notTop.top, lines);
  const dep = t.find('dependency-failed', name);
  if (dep || ((action === 'APPLY' || action === 'REPLACE') && error.code === 'ENODATA')) {
    const facts = await ctx.facts(name);
    const top = dep && dep.against !== 'hypervisor' ? await ctx.top() : null;
    const againstBuildId = !dep || dep.against === 'hypervisor' ? await ctx.xenBuildId() : (top?.buildId ?? null);
    return new DependencyError(name, { errno: error.errno, dependsOn: facts?.dependsOn ?? null, against: dep?.against ?? 'hypervisor', againstBuildId }, lines);
  }
  if (t.find('replace-vetoing-hooks', name) || (action === 'REPLACE' && error.code === 'EOPNOTSUPP')) {
    return new ReplaceRefusedError(name, [], lines);
  }
  const expectation = t.find('expectation-failed', name);
  if (expectation) {
    return new ActionFailedError(name, action, error.errno, `the bytes at a patched function are not what the payload expects (${expectation.detail})`, lines);
  }
  if (error.code === 'EBUSY') {
    if (action === 'REVERT') {
      const top = await ctx.top();
      if (top && top.name !== name) return new NotTopOfStackError(name, top.name, lines);
    }
    return new BusyError(
      `the hypervisor is busy: another livepatch action is pending (Xen runs one at a time), or ${JSON.stringify(name)} has one in flight; retry shortly`,
      name,
      lines,
    );
  }
  if (error.code === 'ENOENT') {
    return new XenError(error.call, error.errno, name, `payload ${JSON.stringify(name)} is not loaded (ENOENT)`);
  }
  // Without a console line, a vetoing hook is recognisable by the rc it left in the status.
  if ((action === 'APPLY' || action === 'REVERT') && error.errno !== 0) {
    const facts = await ctx.facts(name);
    const hook = action === 'APPLY' ? 'preapply' : 'prerevert';
    if (facts?.hooks?.includes(hook)) {
      const after = await ctx.backend.get(name).catch(() => null);
      if (after?.rc === -error.errno) return new HookVetoError(name, hook, -error.errno, lines);
    }
  }
  return new ActionFailedError(name, action, error.errno, `the hypervisor refused it: ${errnoMessage(error.errno)} (${error.code})`, lines);
}

function explainFailedStatus(name: string, action: LivepatchAction, status: PayloadStatus, t: Transcript): Error {
  const lines = t.lines;
  if (status.rc === -ERRNO.EBUSY) {
    const timeout = t.find('quiesce-timeout', name);
    return new TimeoutError(name, action, 'hypervisor', timeout?.detail ?? 'the CPUs did not rendezvous before the timeout', lines);
  }
  if (t.find('not-reapplyable', name)) {
    return new ActionFailedError(
      name,
      action,
      -status.rc,
      'Xen does not apply a reverted payload that has writable data (.data/.bss) again; unload it and upload it afresh (`xlp unload`, then `xlp load`)',
      lines,
    );
  }
  if (status.rc === 0) {
    return new ActionFailedError(name, action, ERRNO.EINVAL, `the hypervisor reports success but ${JSON.stringify(name)} is ${status.state}`, lines);
  }
  const actionHook = t.hooks.find((h) => h.hook === (action === 'REVERT' ? 'revert' : 'apply'));
  const replacedFailure = action === 'REPLACE' && status.state === 'CHECKED';
  const reason = actionHook
    ? `its ${actionHook.hook} action hook failed with ${status.rc} (${errnoCode(status.rc)}); ${JSON.stringify(name)} is ${status.state}`
    : replacedFailure
      ? `the hypervisor reported ${status.rc} (${errnoCode(status.rc)}); check the stack: a failed REPLACE can leave payloads reverted`
      : `the hypervisor reported ${status.rc} (${errnoCode(status.rc)}: ${errnoMessage(status.rc)}); ${JSON.stringify(name)} is ${status.state}`;
  return new ActionFailedError(name, action, -status.rc, reason, lines);
}
