import type { JournalStep } from '../journal.js';
import { applyStep, journalPlanSteps, revertStep, simpleStep } from '../plan.js';
import { applyRestoring, reloadsFor, restoreDiff, restoreStack } from '../restore.js';
import { type ActionResult, runAction } from '../run-action.js';
import type { WorkflowKind } from './types.js';

/**
 * `xlp replace --sequential`: REVERTs top first, then one APPLY. Rolled back by restoring the
 * original stack; completed by the steps not yet in effect.
 */
export const replaceSequentialKind: WorkflowKind = {
  name: 'replace-sequential',

  async completeRefusal() {
    return null;
  },

  async planRecover(ws, journal, mode, inventory, h) {
    if (mode === 'complete') {
      const remaining: JournalStep[] = [];
      for (const s of journal.steps) {
        const st = await h.status(s.payload);
        if (s.action === 'REVERT' && st?.state === 'APPLIED') remaining.push(s);
        if (s.action === 'APPLY' && st?.state !== 'APPLIED') remaining.push(s);
      }
      return journalPlanSteps(
        remaining,
        await reloadsFor(
          ws,
          remaining.filter((s) => s.action === 'APPLY').map((s) => s.payload),
          h.status,
        ),
        inventory,
      );
    }
    const { revert, apply } = await restoreDiff(ws, journal.originalStack, h.stack);
    const reloads = await reloadsFor(ws, apply, h.status);
    const nodeps = new Set(journal.originalNodeps ?? []);
    const steps = revert.map((p) => revertStep(p, inventory));
    for (const p of apply) {
      if (reloads.has(p)) steps.push(simpleStep('RELOAD', p, "unloaded and uploaded again from xlp's copy: Xen does not apply it twice"));
      steps.push(applyStep(p, inventory, nodeps.has(p) ? 'NODEPS' : undefined));
    }
    return steps;
  },

  async recover(ws, journal, mode, req) {
    if (mode === 'rollback') return restoreStack(ws, journal.originalStack, new Set(journal.originalNodeps ?? []), req);
    const steps: ActionResult[] = [];
    for (const s of journal.steps) {
      if (s.action === 'REVERT') steps.push(await runAction(ws.context(), s.payload, 'REVERT', req));
      else if (s.action === 'APPLY')
        steps.push(...(await applyRestoring(ws, s.payload, { ...req, ...(s.nodeps ? { nodeps: true } : {}) })));
    }
    return steps;
  },
};
