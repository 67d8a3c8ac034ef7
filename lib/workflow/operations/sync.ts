import { runSync, type SyncStepResult, type SyncWork, type XlpPayloadFacts, xlpPayloadFacts } from '../kinds/sync.js';
import type { StackView } from '../stack.js';
import type { WaitOptions } from '../types.js';
import type { OperationContext } from './context.js';
import { checkSignal } from './refusals.js';

/** What a sync is planned from. */
export interface SyncFound {
  readonly view: StackView;
  readonly warnings: string[];
  readonly xlp: (name: string) => XlpPayloadFacts | null;
}

/** `Livepatcher.syncView`. */
export async function syncView({ ws }: OperationContext): Promise<SyncFound> {
  const { view, warnings } = await ws.stackForWorkflow();
  return { view, warnings, xlp: await xlpPayloadFacts(ws) };
}

/** `Livepatcher.sync`: the steps `prepare` decides run journaled (kind `sync`, lib/workflow/kinds/sync.ts). */
export async function sync<W extends SyncWork>(
  ops: OperationContext,
  prepare: (found: SyncFound) => Promise<W>,
  options: WaitOptions,
): Promise<{ work: W; steps: SyncStepResult[] }> {
  checkSignal(options.signal, 'sync');
  return ops.mutate('sync', options.signal, async () => {
    const found = await syncView(ops);
    const work = await prepare(found);
    if (work.steps.length === 0) return { work, steps: [] };
    return { work, steps: await runSync(ops.ws, work, found.view, found.xlp, ops.ws.request(options)) };
  });
}
