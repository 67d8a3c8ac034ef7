import { RefusedError } from '../errors.js';
import { applyStep, revertStep, simpleStep } from '../plan.js';
import { type ActionResult, runAction } from '../run-action.js';
import type { WorkflowKind } from './types.js';

/**
 * `xlp load`: UPLOAD then APPLY of one payload. Rolled back by reverting and unloading what it
 * uploaded; completed by applying it.
 */
export const loadKind: WorkflowKind = {
  name: 'load',

  async completeRefusal(ws, journal) {
    if (await ws.statusOrNull(journal.target)) return null;
    return new RefusedError(
      `the interrupted \`${journal.command}\` never uploaded ${JSON.stringify(journal.target)}, so there is nothing to complete: ` +
        'run `xlp recover` (nothing to undo), then `xlp load` again',
      { payload: journal.target },
    );
  },

  async planRecover(_ws, journal, mode, inventory, h) {
    const st = await h.status(journal.target);
    if (mode === 'complete')
      return st && st.state !== 'APPLIED' ? [applyStep(journal.target, inventory, journal.steps[1]?.nodeps ? 'NODEPS' : undefined)] : [];
    if (!st) return [];
    return [
      ...(st.state === 'APPLIED' ? [revertStep(journal.target, inventory)] : []),
      simpleStep('UNLOAD', journal.target, 'the interrupted load uploaded it'),
    ];
  },

  async recover(ws, journal, mode, req) {
    const steps: ActionResult[] = [];
    const nodeps = journal.steps[1]?.nodeps === true;
    if (mode === 'complete') {
      steps.push(await runAction(ws.context(), journal.target, 'APPLY', { ...req, nodeps }));
      if (steps.at(-1)?.outcome === 'done') await ws.registry.markApplied(journal.target, { nodeps });
      return steps;
    }
    const st = await ws.statusOrNull(journal.target);
    if (st) {
      if (st.state === 'APPLIED') steps.push(await runAction(ws.context(), journal.target, 'REVERT', req));
      steps.push(await runAction(ws.context(), journal.target, 'UNLOAD', req));
      await ws.registry.forget(journal.target);
    }
    return steps;
  },
};
