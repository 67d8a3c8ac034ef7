/** The single-action operations: APPLY, REVERT and UNLOAD of one payload, and their plans. */
import { ERRNO } from '../../xen/errno.js';
import { DependencyError, NotTopOfStackError, type WorkflowError, WrongStateError } from '../errors.js';
import { validatePayloadName } from '../names.js';
import { applyStep, type Plan, revertStep, simpleStep } from '../plan.js';
import { type ActionResult, runAction } from '../run-action.js';
import { statusOf } from '../status.js';
import type { ApplyOptions, WaitOptions } from '../types.js';
import type { OperationContext } from './context.js';
import { checkSignal, withRefusal } from './refusals.js';

/** `Livepatcher.planApply`: what Xen will refuse, as far as xlp can tell (the dry run exits as the apply would). */
export async function planApply({ ws }: OperationContext, name: string, options: ApplyOptions): Promise<Plan> {
  validatePayloadName(name);
  const command = `apply ${name}`;
  const status = await statusOf(ws.backend, name);
  let refusal: WorkflowError | null = await ws.journalRefusal();
  if (status.state === 'APPLIED' && status.rc !== -ERRNO.EAGAIN) {
    return withRefusal({ command, steps: [], warnings: [`${name} is already applied: nothing to do`] }, refusal);
  }
  const rec = await ws.trustedRecord(name);
  if (!refusal && !options.nodeps && rec?.depends) {
    const top = await ws.top();
    const against = top ? top.buildId : (await ws.backend.xenVersion()).buildId;
    if (against && against !== rec.depends) {
      refusal = new DependencyError(
        name,
        { errno: ERRNO.EINVAL, dependsOn: rec.depends, against: top ? top.name : 'hypervisor', againstBuildId: against },
        [],
        'Xen will refuse it (EINVAL): apply what it depends on first, or use --nodeps',
      );
    }
  }
  return withRefusal(
    { command, steps: [applyStep(name, await ws.inventory(), options.nodeps ? 'NODEPS' : undefined)], warnings: [] },
    refusal,
  );
}

/** `Livepatcher.planRevert`. */
export async function planRevert({ ws }: OperationContext, name: string): Promise<Plan> {
  validatePayloadName(name);
  const command = `revert ${name}`;
  const status = await statusOf(ws.backend, name);
  let refusal: WorkflowError | null = await ws.journalRefusal();
  if (status.state === 'CHECKED' && status.rc !== -ERRNO.EAGAIN) {
    return withRefusal({ command, steps: [], warnings: [`${name} is not applied: nothing to do`] }, refusal);
  }
  // Only the top of the stack can be reverted: Xen refuses the rest (EBUSY), and so would `xlp revert` (exit 1).
  const top = await ws.top();
  if (!refusal && top && top.name !== name) refusal = new NotTopOfStackError(name, top.name, []);
  return withRefusal({ command, steps: [revertStep(name, await ws.inventory())], warnings: [] }, refusal);
}

/** `Livepatcher.planUnload`. */
export async function planUnload({ ws }: OperationContext, name: string): Promise<Plan> {
  validatePayloadName(name);
  const status = await statusOf(ws.backend, name);
  const refusal =
    (await ws.journalRefusal()) ??
    (status.state === 'APPLIED'
      ? new WrongStateError(
          name,
          `${JSON.stringify(name)} is applied; revert it before unloading it (Xen refuses with EINVAL)`,
          ERRNO.EINVAL,
        )
      : null);
  return withRefusal({ command: `unload ${name}`, steps: [simpleStep('UNLOAD', name, 'no hooks run at unload')], warnings: [] }, refusal);
}

/** `Livepatcher.apply`. */
export async function apply(ops: OperationContext, name: string, options: ApplyOptions): Promise<ActionResult> {
  const { ws } = ops;
  validatePayloadName(name);
  checkSignal(options.signal, `apply ${name}`);
  return ops.mutate(`apply ${name}`, options.signal, async () => {
    const result = await runAction(ws.context(), name, 'APPLY', ws.request(options));
    if (result.outcome === 'done') await ws.registry.markApplied(name, { nodeps: options.nodeps === true });
    return result;
  });
}

/** `Livepatcher.revert`. */
export async function revert(ops: OperationContext, name: string, options: WaitOptions): Promise<ActionResult> {
  const { ws } = ops;
  validatePayloadName(name);
  checkSignal(options.signal, `revert ${name}`);
  return ops.mutate(`revert ${name}`, options.signal, () => runAction(ws.context(), name, 'REVERT', ws.request(options)));
}

/** `Livepatcher.unload`: refused before the hypercall when the payload is applied. */
export async function unload(ops: OperationContext, name: string, options: WaitOptions): Promise<ActionResult> {
  const { ws } = ops;
  validatePayloadName(name);
  checkSignal(options.signal, `unload ${name}`);
  return ops.mutate(`unload ${name}`, options.signal, async () => {
    const result = await runAction(ws.context(), name, 'UNLOAD', ws.request(options));
    await ws.registry.forget(name);
    return result;
  });
}
