/**
 * What the boot sync leaves in the state directory for the next boot and for monitoring:
 *
 * - `boot-sync.pending`, the crash-loop guard: written (durably) before the boot sync makes its
 *   first hypercall and removed when it ends, whether it succeeded or failed cleanly. Found at the
 *   next boot, it means the host died during the boot sync (a patch may be what crashed it), so
 *   that boot sync does nothing and `xlp status` reports it until `xlp boot clear-guard`.
 * - `last-sync.json`: when the last sync ran (boot or not), how it ended and whether it changed
 *   anything, for `xlp status` and its Prometheus metrics.
 *
 * Both are read back as untrusted input (private regular files, decoded field by field).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../fs/atomic-write.js';
import { boolean, type Decoder, integer, literal, nullable, object, optional, string } from '../fs/decode.js';
import { readStateFile } from '../workflow/state-file.js';
import { LifecycleError } from './errors.js';

export const BOOT_GUARD_FILE = 'boot-sync.pending';
export const LAST_SYNC_FILE = 'last-sync.json';

/** The crash-loop guard's marker. */
export interface BootGuard {
  readonly startedAt: string;
  readonly pid: number;
}

/** How a sync ended. */
export type SyncOutcome =
  /** It converged (changed or not). */
  | 'ok'
  /** It was refused before any hypercall, or a step failed. */
  | 'failed'
  /** A kill switch or the crash-loop guard stopped the boot sync. */
  | 'skipped';

/** The last sync. */
export interface LastSync {
  readonly at: string;
  readonly result: SyncOutcome;
  readonly changed: boolean;
  readonly boot: boolean;
  /** Why it failed or was skipped. */
  readonly reason?: string;
  readonly xenBuildId: string | null;
}

const guardDecoder: Decoder<BootGuard> = object({ startedAt: string(64), pid: integer(1, 0x7fff_ffff) }) as Decoder<BootGuard>;
const lastSyncDecoder: Decoder<LastSync> = object({
  at: string(64),
  result: literal('ok', 'failed', 'skipped'),
  changed: boolean,
  boot: boolean,
  reason: optional(string(1 << 16)),
  xenBuildId: nullable(string(256)),
}) as Decoder<LastSync>;

const ADVICE = 'delete it (it is only a record)';

/** The marker, or null. */
export function readBootGuard(stateDir: string): Promise<BootGuard | null> {
  return readStateFile(join(stateDir, BOOT_GUARD_FILE), guardDecoder, {
    what: 'the boot sync guard',
    maxBytes: 4096,
    advice: 'run `xlp boot clear-guard` once you know why the last boot sync never finished',
  });
}

/** Sets the marker, durably: it must survive the crash it guards against. */
export async function setBootGuard(stateDir: string, now: Date = new Date()): Promise<void> {
  const guard: BootGuard = { startedAt: now.toISOString(), pid: process.pid };
  await writeFileAtomic(join(stateDir, BOOT_GUARD_FILE), `${JSON.stringify(guard)}\n`, { durable: true });
}

/** Removes the marker; true when there was one. */
export async function clearBootGuard(stateDir: string): Promise<boolean> {
  const file = join(stateDir, BOOT_GUARD_FILE);
  const had = (await readBootGuard(stateDir).catch(() => true)) !== null;
  await rm(file, { force: true });
  await syncDirectory(stateDir).catch(() => undefined);
  return had;
}

export function readLastSync(stateDir: string): Promise<LastSync | null> {
  return readStateFile(join(stateDir, LAST_SYNC_FILE), lastSyncDecoder, {
    what: 'the record of the last sync',
    maxBytes: 1 << 20,
    advice: ADVICE,
  });
}

export async function writeLastSync(stateDir: string, last: LastSync): Promise<void> {
  await writeFileAtomic(join(stateDir, LAST_SYNC_FILE), `${JSON.stringify(last, null, 2)}\n`, { durable: false });
}

/** The crash-loop guard is set: the last boot sync never finished, so this one does nothing. */
export class BootGuardTrippedError extends LifecycleError {
  override readonly name = 'BootGuardTrippedError';
  readonly code = 'EBOOTGUARD';
  readonly category = 'failed' as const;

  constructor(
    readonly guardFile: string,
    readonly since: string,
  ) {
    super(
      `the boot sync started at ${since} never finished (the host went down during ` +
        `it: a patch may be what crashed it), so this boot sync does nothing; ` +
        (`find out why (\`xlp status\`, the previous boot's logs), then run ` +
          `\`xlp boot clear-guard\` (and \`xlp sync\` to apply the patches now)`),
      { file: guardFile },
    );
  }

  protected override extra(): Record<string, unknown> {
    return { since: this.since };
  }
}
