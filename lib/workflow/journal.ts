import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { isHolderAlive, readLockHolder } from '../fs/lock.js';

/**
 * The journal of a multi-step workflow (`load`, `replace --sequential`). Each step is written
 * before it is issued and again once it is done, atomically, so a process killed at any point
 * leaves a journal that says what was intended and how far it got. The hypervisor's own state
 * then settles what a step marked `started` actually did; `xlp recover` completes the plan or
 * rolls it back from there.
 */
export type JournalAction = 'UPLOAD' | 'APPLY' | 'REVERT' | 'UNLOAD';
export type StepState = 'pending' | 'started' | 'done';

export interface JournalStep {
  readonly action: JournalAction;
  readonly payload: string;
  readonly state: StepState;
  /** APPLY with --nodeps. */
  readonly nodeps?: boolean;
}

export interface Journal {
  readonly version: 1;
  readonly workflow: 'load' | 'replace-sequential';
  /** The command line, for people reading `xlp recover`'s report. */
  readonly command: string;
  readonly startedAt: string;
  readonly pid: number;
  /** The payload the workflow is about (loaded, or replacing the stack). */
  readonly target: string;
  /** The applied stack before the workflow, bottom first: what a rollback restores. */
  readonly originalStack: readonly string[];
  /**
   * Payloads of `originalStack` whose place does not follow from the build-id chain (applied with
   * --nodeps): a rollback re-applies them with NODEPS so the old order comes back as it was.
   */
  readonly originalNodeps?: readonly string[];
  /** `forward` while carrying out the plan; `rollback` once a step failed and the undo began. */
  readonly phase: 'forward' | 'rollback';
  readonly steps: readonly JournalStep[];
  /** Why the forward plan stopped, if it did. */
  readonly failure?: { readonly code: string; readonly message: string };
  /** Upload the target was made by this workflow (a rollback unloads it again). */
  readonly uploadedByWorkflow: boolean;
}

export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly code = 'EJOURNAL';
}

export const JOURNAL_FILE = 'journal.json';

export class JournalStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, JOURNAL_FILE);
  }

  async read(): Promise<Journal | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let j: Partial<Journal>;
    try {
      j = JSON.parse(text) as Partial<Journal>;
    } catch {
      throw new JournalCorruptError(`the journal ${this.path} is not valid JSON; inspect it, fix the hypervisor state by hand, then delete it`);
    }
    if (j.version !== 1 || !Array.isArray(j.steps) || typeof j.target !== 'string' || !Array.isArray(j.originalStack)) {
      throw new JournalCorruptError(`the journal ${this.path} is not one this version of xlp wrote; inspect it, then delete it`);
    }
    return j as Journal;
  }

  async write(journal: Journal): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(journal, null, 2)}\n`);
    faultPoint();
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/**
 * The journal an interrupted workflow left in `stateDir`: a pending journal whose writer does not
 * hold the host lock (`<stateDir>/lock`) any more. A workflow running right now is not reported.
 */
export async function interruptedJournal(stateDir: string): Promise<Journal | null> {
  const journal = await new JournalStore(stateDir).read();
  if (!journal) return null;
  const holder = await readLockHolder(join(stateDir, 'lock')).catch(() => null);
  return holder && holder.pid === journal.pid && isHolderAlive(holder) ? null : journal;
}

/** Marks step `index` with `state`, returning the new journal. */
export function markStep(journal: Journal, index: number, state: StepState): Journal {
  return { ...journal, steps: journal.steps.map((s, i) => (i === index ? { ...s, state } : s)) };
}

let journalWrites = 0;
/**
 * Fault injection for the crash-recovery tests: `XLP_FAULT_KILL_AFTER_JOURNAL_WRITES=N` makes the
 * process kill itself (SIGKILL, no cleanup) right after its N-th journal write, which is exactly
 * the state a power cut or `kill -9` leaves.
 */
function faultPoint(): void {
  const n = Number(process.env.XLP_FAULT_KILL_AFTER_JOURNAL_WRITES);
  if (Number.isInteger(n) && n > 0 && ++journalWrites === n) process.kill(process.pid, 'SIGKILL');
}
