import { validatePayloadName } from '../names.js';
import { journalPlanSteps, type Plan, replaceStep } from '../plan.js';
import { decideReplace, replaceAtomic, replaceSequential } from '../replace.js';
import type { ActionResult } from '../run-action.js';
import { statusOf } from '../status.js';
import type { ReplaceOptions, ReplaceResult } from '../types.js';
import type { OperationContext } from './context.js';
import { checkSignal, withRefusal } from './refusals.js';

/** `Livepatcher.planReplace`. */
export async function planReplace({ ws }: OperationContext, name: string, options: ReplaceOptions): Promise<Plan> {
  validatePayloadName(name);
  const d = await decideReplace(ws, name, options);
  const inventory = await ws.inventory();
  const command = `replace ${options.sequential ? '--sequential ' : ''}${name}`;
  const refusal = (await ws.journalRefusal()) ?? d.refusal;
  if (d.nothingToDo) {
    return withRefusal(
      { command, steps: [], warnings: [`${name} already is the only applied payload: nothing to do`, ...d.warnings] },
      refusal,
    );
  }
  if (!options.sequential) {
    const others = d.current.filter((n) => n !== name);
    return withRefusal({ command, steps: [replaceStep(name, [...others].reverse(), inventory)], warnings: d.warnings }, refusal);
  }
  return withRefusal({ command, steps: journalPlanSteps(d.steps, d.reloads, inventory), warnings: d.warnings }, refusal);
}

/** `Livepatcher.replace`: the decision here, the atomic and the sequential workflow in ../replace.ts. */
export async function replace(ops: OperationContext, name: string, options: ReplaceOptions): Promise<ReplaceResult> {
  const { ws } = ops;
  validatePayloadName(name);
  checkSignal(options.signal, `replace ${name}`);
  return ops.mutate(`replace ${options.sequential ? '--sequential ' : ''}${name}`, options.signal, async () => {
    const d = await decideReplace(ws, name, options);
    if (d.nothingToDo) {
      const status = await statusOf(ws.backend, name);
      const nothing: ActionResult = {
        payload: name,
        action: 'REPLACE',
        outcome: 'nothing-to-do',
        status,
        console: [],
        hooks: [],
        elapsedMs: 0,
      };
      ws.emit({ phase: 'done', payload: name, action: 'REPLACE', outcome: 'nothing-to-do', status });
      return { payload: name, sequential: options.sequential === true, steps: [nothing] };
    }
    if (d.refusal) throw d.refusal;
    return options.sequential ? replaceSequential(ws, name, d, options) : replaceAtomic(ws, name, d, options);
  });
}
