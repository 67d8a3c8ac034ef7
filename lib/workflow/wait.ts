import type { Backend } from '../backend/backend.js';
import { ERRNO } from '../xen/errno.js';
import type { PayloadStatus } from '../xen/domain.js';

/**
 * Waits for the hypervisor to finish an action: polls GET until `rc` leaves -EAGAIN.
 *
 * Xen completes an action from its idle loop, usually within a few milliseconds, and only the
 * payload's status tells when. The C tool sleeps a fixed 60 ms and looks once; we poll from ~1 ms
 * and back off, so a fast action returns within ~2 ms of completing and a slow one costs few
 * hypercalls.
 */
export interface WaitOptions {
  /** Give up after this many milliseconds (the action stays pending in the hypervisor). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /**
   * Awaited once, when the first poll finds the action still pending (before any wait): where a
   * caller reads what the action printed so far, which an action done at once makes needless.
   */
  readonly onFirstPending?: () => Promise<void>;
  /** Called after each poll that found the action still pending. */
  readonly onPending?: (elapsedMs: number) => void;
  /** Injectable for tests: the clock and the sleep. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type WaitOutcome =
  | { readonly kind: 'completed'; readonly status: PayloadStatus; readonly polls: number }
  | { readonly kind: 'deadline'; readonly status: PayloadStatus; readonly polls: number }
  | { readonly kind: 'aborted'; readonly status: PayloadStatus | null; readonly polls: number };

/**
 * Interval before the n-th re-poll: 1 ms, growing by half each time, at most 2 ms for the first
 * second (an action normally completes within Xen's quiesce timeout, 30 ms by default, and GET is
 * a cheap sysctl), at most 10 ms up to 5 s (the longest quiesce timeout Xen takes is ~4.3 s), then
 * 50 ms (a wait that long is for an idle loop that does not get to run).
 */
export function pollInterval(attempt: number, elapsedMs: number): number {
  const grown = Math.pow(1.5, Math.max(0, attempt - 1));
  return Math.min(grown, elapsedMs < 1000 ? 2 : elapsedMs < 5000 ? 10 : 50);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function waitForCompletion(backend: Backend, name: string, options: WaitOptions): Promise<WaitOutcome> {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  const start = now();
  let polls = 0;
  let last: PayloadStatus | null = null;
  for (;;) {
    if (options.signal?.aborted) return { kind: 'aborted', status: last, polls };
    last = await backend.get(name);
    polls++;
    if (last.rc !== -ERRNO.EAGAIN) return { kind: 'completed', status: last, polls };
    const elapsed = now() - start;
    if (elapsed >= options.timeoutMs) return { kind: 'deadline', status: last, polls };
    if (polls === 1) await options.onFirstPending?.();
    options.onPending?.(elapsed);
    await sleep(Math.min(pollInterval(polls, elapsed), Math.max(0, options.timeoutMs - elapsed)), options.signal);
  }
}
