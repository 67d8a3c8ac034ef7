/**
 * The action xlp issued and has not seen complete, kept in `<stateDir>/in-flight.json`.
 *
 * Xen runs one livepatch action at a time, and an action issued while another is pending is not
 * simply refused: its vetoing pre-hook runs first, then scheduling fails (EBUSY), its post-hook
 * never runs, and its status rc is left at -EAGAIN for good. So nothing may be issued while an
 * action is pending. The hypervisor does not say whether one is (only the payload it is about
 * shows rc -EAGAIN, which a refused action also leaves behind), so xlp records each action before
 * issuing it and clears the record once the action completed or was refused. Whoever issues the
 * next action, in this process (a rollback after Ctrl-C or a timeout) or a later one (after
 * `--timeout`, or a process killed while waiting), first waits for a recorded action to settle.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { type Decoder, integer, literal, object, string } from '../fs/decode.js';
import { ERRNO } from '../xen/errno.js';
import type { Backend } from '../backend/backend.js';
import { abortedError, BusyError, NotLoadedError } from './errors.js';
import type { ProgressEvent } from './progress.js';
import { readStateFile, workflowName } from './state-file.js';
import { statusOf } from './status.js';
import { waitForCompletion } from './wait.js';

export type AsyncAction = 'APPLY' | 'REVERT' | 'REPLACE';

export interface InFlightAction {
  readonly version: 1;
  readonly payload: string;
  readonly action: AsyncAction;
  readonly issuedAt: string;
  readonly pid: number;
}

export const IN_FLIGHT_FILE = 'in-flight.json';

const decoder: Decoder<InFlightAction> = object({
  version: literal(1),
  payload: workflowName,
  action: literal('APPLY', 'REVERT', 'REPLACE'),
  issuedAt: string(64),
  pid: integer(1, 0x7fff_ffff),
}) as Decoder<InFlightAction>;

/** What `settle` found: nothing pending, or the recorded action (now complete). */
export type SettleOutcome =
  { readonly waited: false } | { readonly waited: true; readonly action: InFlightAction; readonly elapsedMs: number };

export class InFlightStore {
  readonly path: string;

  constructor(
    stateDir: string,
    private readonly backend: Backend,
    private readonly emit: (event: ProgressEvent) => void = () => undefined,
  ) {
    this.path = join(stateDir, IN_FLIGHT_FILE);
  }

  read(): Promise<InFlightAction | null> {
    return readStateFile(this.path, decoder, {
      what: 'the in-flight action record',
      maxBytes: 64 * 1024,
      advice: 'once nothing is pending in the hypervisor (`xlp list` shows no rc -11 EAGAIN that is still changing), delete it',
    });
  }

  /** Recorded before the hypercall is made. */
  async issuing(payload: string, action: AsyncAction): Promise<void> {
    const record: InFlightAction = { version: 1, payload, action, issuedAt: new Date().toISOString(), pid: process.pid };
    await writeFileAtomic(this.path, `${JSON.stringify(record, null, 2)}\n`, { durable: false });
  }

  /** The action completed, or the hypervisor refused it (nothing is pending). */
  async settled(): Promise<void> {
    // One unlink, here rather than on the thread pool (see lib/fs/atomic-write.ts); rm would stat twice first.
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /**
   * The recorded action, if it is still pending in the hypervisor (its payload's rc is -EAGAIN);
   * a record whose action has completed is cleared. Does not wait.
   */
  async pending(): Promise<InFlightAction | null> {
    const record = await this.read();
    if (!record) return null;
    if (await this.stillPending(record)) return record;
    await this.settled();
    return null;
  }

  private async stillPending(record: InFlightAction): Promise<boolean> {
    try {
      return (await statusOf(this.backend, record.payload)).rc === -ERRNO.EAGAIN;
    } catch (e) {
      if (e instanceof NotLoadedError) return false;
      throw e;
    }
  }

  /**
   * Waits (up to `waitMs`) for a recorded action to complete, so that nothing is issued into it.
   * Throws BusyError if it is still pending then (nothing was issued), AbortedError if `signal` fires.
   */
  async settle(options: {
    waitMs: number;
    signal?: AbortSignal | undefined;
    before: string;
    fallback?: InFlightAction;
  }): Promise<SettleOutcome> {
    // Without a record, a journal's step can still name what is pending (see Workspace.pendingAction).
    const record = (await this.pending()) ?? (options.fallback && (await this.stillPending(options.fallback)) ? options.fallback : null);
    if (!record) return { waited: false };
    const started = performance.now();
    this.emit({
      phase: 'settling',
      payload: record.payload,
      action: record.action,
      waitMs: options.waitMs,
      before: options.before,
      issuedBy: record.pid,
    });
    const waited = await waitForCompletion(this.backend, record.payload, {
      timeoutMs: options.waitMs,
      signal: options.signal,
      onPending: (elapsedMs) => this.emit({ phase: 'waiting', payload: record.payload, action: record.action, elapsedMs }),
    });
    if (waited.kind === 'aborted')
      abortedError(options.signal!, `waiting for the pending ${record.action} of ${JSON.stringify(record.payload)}`, record.payload);
    if (waited.kind === 'deadline') {
      throw new BusyError(
        `the ${record.action} of ${JSON.stringify(record.payload)} that xlp issued ` +
          `(pid ${record.pid}, at ${record.issuedAt}) is still pending in the hypervisor ` +
          `after ${Math.round(performance.now() - started)} ms more; nothing else was issued, because Xen runs one action at a time ` +
          `(an action issued now would run its pre-hook for nothing): retry once it completes (\`xlp status ${record.payload}\`)`,
        record.payload,
      );
    }
    await this.settled();
    return { waited: true, action: record, elapsedMs: performance.now() - started };
  }
}
