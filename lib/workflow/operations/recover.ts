import { RefusedError, type WorkflowError } from '../errors.js';
import type { InFlightAction } from '../in-flight.js';
import type { Journal } from '../journal.js';
import { type Hypothesis, type RecoverMode, workflowKind } from '../kinds/index.js';
import type { HookInventory, Plan, PlanStep } from '../plan.js';
import type { ActionResult } from '../run-action.js';
import type { RecoverOptions, RecoverResult } from '../types.js';
import type { Workspace } from '../workspace.js';
import type { OperationContext } from './context.js';
import { checkSignal, withRefusal } from './refusals.js';

/**
 * `Livepatcher.planRecover`: what `recover` (or `recover --complete`) would do now. While an
 * action the interrupted workflow issued is still pending, the plan has the steps for each outcome.
 */
export async function planRecover({ ws }: OperationContext, options: RecoverOptions): Promise<Plan & { journal: Journal | null }> {
  const journal = await ws.journal.read();
  const mode = options.complete ? 'complete' : 'rollback';
  if (!journal) return { command: 'recover', steps: [], warnings: ['no interrupted workflow: nothing to recover'], journal };
  const command = `recover${options.complete ? ' --complete' : ''} (${journal.command})`;
  const inventory = await ws.inventory();
  const refusal = mode === 'complete' ? await completeRefusal(ws, journal) : null;
  const pending = await ws.pendingAction(journal);
  const now = await hypothesis(ws, null);
  if (!pending)
    return { ...withRefusal({ command, steps: await recoverSteps(ws, journal, mode, inventory, now), warnings: [] }, refusal), journal };
  const completes = await recoverSteps(ws, journal, mode, inventory, await hypothesis(ws, pending));
  const fails = await recoverSteps(ws, journal, mode, inventory, now);
  const plan: Plan = {
    command,
    steps: completes,
    warnings: [
      `the ${pending.action} of ${pending.payload} (issued by pid ${pending.pid} ` +
        `at ${pending.issuedAt}) is still pending in the hypervisor: ` +
        'recovery first waits for it (up to --timeout), then takes the steps for how it ended',
    ],
    pending: { action: pending.action, payload: pending.payload, issuedAt: pending.issuedAt, pid: pending.pid },
    ifPendingFails: fails,
  };
  return { ...withRefusal(plan, refusal), journal };
}

/** `Livepatcher.recover`: completes or rolls back what an interrupted workflow left, as its journal's kind says. */
export async function recover(ops: OperationContext, options: RecoverOptions): Promise<RecoverResult> {
  const { ws } = ops;
  checkSignal(options.signal, 'recover');
  return ops.mutate('recover', options.signal, async () => {
    const journal = await ws.journal.read();
    if (!journal) return { journal: null, mode: 'none', steps: [] };
    const steps: ActionResult[] = [];
    const mode = options.complete ? 'complete' : 'rollback';
    const req = ws.request(options);
    // What to do depends on how a step still pending in the hypervisor ends: wait for it first.
    const pending = await ws.pendingAction(journal);
    await ws.inFlight.settle({ waitMs: req.waitMs, signal: req.signal, before: 'recovering', ...(pending ? { fallback: pending } : {}) });
    if (mode === 'complete') {
      const refusal = await completeRefusal(ws, journal);
      if (refusal) throw refusal;
    }
    steps.push(...(await workflowKind(journal, ws.journal.path).recover(ws, journal, mode, req)));
    await ws.journal.clear();
    return { journal, mode, steps };
  });
}

/**
 * The hypervisor as a plan sees it: as it is now (`pending` null, or the pending action failing,
 * which changes nothing), or as it will be once `pending` completes.
 */
async function hypothesis(ws: Workspace, pending: InFlightAction | null): Promise<Hypothesis> {
  const { view } = await ws.stackForWorkflow();
  const current = view.applied.map((e) => e.name);
  const status = (name: string) => ws.statusOrNull(name);
  if (!pending) return { stack: current, status };
  const p = pending.payload;
  if (pending.action === 'REVERT') {
    return { stack: current.filter((n) => n !== p), status: async (n) => (n === p ? { state: 'CHECKED', rc: 0 } : status(n)) };
  }
  if (pending.action === 'APPLY') {
    return { stack: [...current.filter((n) => n !== p), p], status: async (n) => (n === p ? { state: 'APPLIED', rc: 0 } : status(n)) };
  }
  return {
    stack: [p],
    status: async (n) => (n === p ? { state: 'APPLIED', rc: 0 } : current.includes(n) ? { state: 'CHECKED', rc: 0 } : status(n)),
  };
}

async function recoverSteps(
  ws: Workspace,
  journal: Journal,
  mode: RecoverMode,
  inventory: HookInventory,
  h: Hypothesis,
): Promise<PlanStep[]> {
  return workflowKind(journal, ws.journal.path).planRecover(ws, journal, mode, inventory, h);
}

/** Why `recover --complete` cannot finish this journal, if it cannot. */
async function completeRefusal(ws: Workspace, journal: Journal): Promise<WorkflowError | null> {
  const kind = workflowKind(journal, ws.journal.path);
  if (journal.phase === 'rollback' && !kind.completesAfterFailure) {
    return new RefusedError(
      `the interrupted \`${journal.command}\` had already ` +
        `failed${journal.failure ? ` (${journal.failure.message})` : ''} and begun rolling back; ` +
        'it can only be rolled back: run `xlp recover`',
      { payload: journal.target },
    );
  }
  return kind.completeRefusal(ws, journal);
}
