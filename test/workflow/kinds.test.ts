/** Recovery dispatches on the journal's workflow kind, in one registry (lib/workflow/kinds). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_KIND_NAMES } from '../../lib/workflow/kinds/index.js';
import { harness } from './support/harness.js';

const JOURNAL = {
  version: 1,
  workflow: 'load',
  command: 'load wf_base',
  startedAt: '2026-01-01T00:00:00.000Z',
  pid: 4242,
  target: 'wf_base',
  originalStack: [],
  phase: 'forward',
  steps: [{ action: 'UPLOAD', payload: 'wf_base', state: 'started' }],
  uploadedByWorkflow: true,
};

describe('workflow kinds', () => {
  it('knows load, replace-sequential and sync', () => {
    expect(WORKFLOW_KIND_NAMES).toEqual(['load', 'replace-sequential', 'sync']);
  });

  it('a journal of a kind this xlp does not know blocks recovery with JournalCorruptError naming the kind', async () => {
    const h = await harness();
    await writeFile(join(h.stateDir, 'journal.json'), JSON.stringify({ ...JOURNAL, workflow: 'frobnicate' }), { mode: 0o600 });
    await expect(h.lp.recover()).rejects.toMatchObject({
      name: 'JournalCorruptError',
      problem: 'damaged',
      message: expect.stringContaining('"frobnicate"'),
    });
    await expect(h.lp.planRecover()).rejects.toMatchObject({ name: 'JournalCorruptError' });
    expect(h.actions()).toEqual([]);
  });

  it('a sync journal whose detail is damaged is refused, not half-trusted', async () => {
    const h = await harness();
    const sync = { ...JOURNAL, workflow: 'sync', command: 'sync', detail: { xenBuildId: 'zz', uploads: [], original: [] } };
    await writeFile(join(h.stateDir, 'journal.json'), JSON.stringify(sync), { mode: 0o600 });
    await expect(h.lp.recover()).rejects.toMatchObject({
      name: 'JournalCorruptError',
      message: expect.stringContaining('journal.detail.xenBuildId'),
    });
    await writeFile(
      join(h.stateDir, 'journal.json'),
      JSON.stringify({
        ...sync,
        detail: { xenBuildId: 'aa', uploads: [{ payload: 'wf_base', file: 'relative/x', sha256: 'a'.repeat(64), size: 1 }], original: [] },
      }),
      { mode: 0o600 },
    );
    await expect(h.lp.recover({ complete: true })).rejects.toMatchObject({ name: 'JournalCorruptError' });
  });
});
