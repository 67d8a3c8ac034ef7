import { JournalCorruptError, type Journal } from '../journal.js';
import { loadKind } from './load.js';
import { replaceSequentialKind } from './replace-sequential.js';
import { syncKind } from './sync.js';
import type { WorkflowKind } from './types.js';

export type { Hypothesis, RecoverMode, WorkflowKind } from './types.js';

/** Every journaled workflow, by the name its journal carries. A new workflow is one file here and one line below. */
const KINDS: ReadonlyMap<string, WorkflowKind> = new Map([loadKind, replaceSequentialKind, syncKind].map((k) => [k.name, k]));

/** The names of the journaled workflows. */
export const WORKFLOW_KIND_NAMES: readonly string[] = [...KINDS.keys()];

/** The kind of a journal's workflow; a kind this xlp does not know makes the journal unusable (JournalCorruptError). */
export function workflowKind(journal: Journal, journalPath: string): WorkflowKind {
  const kind = KINDS.get(journal.workflow);
  if (kind) return kind;
  throw new JournalCorruptError(
    journalPath,
    'damaged',
    `the journal at ${journalPath} was written by a workflow this xlp does not know ` +
      `(${JSON.stringify(journal.workflow)}; it knows ${WORKFLOW_KIND_NAMES.join(', ')}): ` +
      'recover it with the xlp that wrote it, or bring the hypervisor to the state you want by hand and delete it',
  );
}
