import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import {
  array,
  boolean,
  type Decoder,
  DecodeError,
  integer,
  isPlainObject,
  literal,
  matching,
  object,
  optional,
  string,
} from '../fs/decode.js';
import { isHolderAlive, readLockHolder } from '../fs/lock.js';
import { readStateFile, StateFileError, type StateFileProblem, workflowName } from './state-file.js';

/**
 * The journal of a multi-step workflow (`load`, `replace --sequential`, `sync`: the kinds in
 * kinds/, where recovery dispatches on `workflow`). Each step is written
 * before it is issued and again once it is done, atomically, so a process killed at any point
 * leaves a journal that says what was intended and how far it got. The hypervisor's own state
 * then settles what a step marked `started` actually did; `xlp recover` completes the plan or
 * rolls it back from there.
 */
export type JournalAction = 'UPLOAD' | 'APPLY' | 'REVERT' | 'UNLOAD' | 'REPLACE';
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
  /** The workflow's kind (kinds/index.ts): `load`, `replace-sequential`, `sync`. */
  readonly workflow: string;
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
  /**
   * Set when the workflow ended (it failed and could not undo everything) but kept its journal
   * for `xlp recover`: the process finished, it was not interrupted.
   */
  readonly endedAt?: string;
  /** What the kind records for its recovery beyond the steps (decoded and checked by the kind). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The journal cannot be used as it is (unsafe file, damaged, or not one this version wrote). */
export class JournalCorruptError extends StateFileError {
  override readonly name = 'JournalCorruptError';
  override readonly code = 'EJOURNAL';
  constructor(file: string, problem: StateFileProblem, message: string, options?: { cause?: unknown }) {
    super(file, problem, message, options);
  }
}

const plainObject: Decoder<Record<string, unknown>> = (v, at) => {
  if (!isPlainObject(v)) throw new DecodeError(at, 'an object');
  return v;
};

const journalDecoder: Decoder<Journal> = object({
  version: literal(1),
  // Checked against the known kinds where recovery dispatches (kinds/index.ts).
  workflow: matching(/^[a-z][a-z0-9-]{0,63}$/, 'a workflow kind'),
  command: string(4096),
  startedAt: string(64),
  pid: integer(1, 0x7fff_ffff),
  target: workflowName,
  originalStack: array(workflowName, 4096),
  originalNodeps: optional(array(workflowName, 4096)),
  phase: literal('forward', 'rollback'),
  steps: array(
    object({
      action: literal('UPLOAD', 'APPLY', 'REVERT', 'UNLOAD', 'REPLACE'),
      payload: workflowName,
      state: literal('pending', 'started', 'done'),
      nodeps: optional(boolean),
    }),
    8192,
  ),
  failure: optional(object({ code: string(256), message: string(1 << 16) })),
  uploadedByWorkflow: boolean,
  endedAt: optional(string(64)),
  detail: optional(plainObject),
}) as Decoder<Journal>;

export const JOURNAL_FILE = 'journal.json';

export class JournalStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, JOURNAL_FILE);
  }

  /** The journal, decoded and checked (JournalCorruptError naming the file otherwise); null if there is none. */
  async read(): Promise<Journal | null> {
    return readStateFile(this.path, journalDecoder, {
      what: 'the journal',
      maxBytes: 4 * 1024 * 1024,
      advice: 'inspect it, bring the hypervisor to the state you want by hand (`xlp list`, `xlp stack`), then delete it',
      error: JournalCorruptError,
    });
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
 * The journal a workflow left in `stateDir` for `xlp recover`: one whose writer was interrupted, or
 * ended leaving it (`endedAt`), and does not hold the host lock (`<stateDir>/lock`) any more. A
 * workflow running right now is not reported.
 */
export async function interruptedJournal(stateDir: string): Promise<Journal | null> {
  const journal = await new JournalStore(stateDir).read();
  if (!journal) return null;
  const holder = await readLockHolder(join(stateDir, 'lock')).catch(() => null);
  return holder && holder.pid === journal.pid && isHolderAlive(holder) ? null : journal;
}

/** How a pending journal came to be, for messages: an interrupted process, or one that failed and kept it. */
export function journalOrigin(j: Journal): string {
  return j.endedAt
    ? `\`${j.command}\` (pid ${j.pid}, started ${j.startedAt}) failed ` +
        `at ${j.endedAt}${j.failure ? ` (${j.failure.message})` : ''} and could not undo everything, so it`
    : `an interrupted \`${j.command}\` (pid ${j.pid}, started ${j.startedAt})`;
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
