import type { PreflightReport } from '../../preflight/types.js';
import { ERRNO } from '../../xen/errno.js';
import { DependencyError, failureOf, note, type WorkflowError } from '../errors.js';
import type { Journal } from '../journal.js';
import { applyStep, type HookInventory, type Plan, simpleStep } from '../plan.js';
import { type ActionRequest, runAction } from '../run-action.js';
import { readSource } from '../source.js';
import type { LoadOptions, LoadResult, PayloadSource, UploadResult } from '../types.js';
import type { Workspace } from '../workspace.js';
import type { OperationContext } from './context.js';
import { checkSignal, diagnosticWarnings, inventoryOf, preflightRefusal, withRefusal } from './refusals.js';
import { uploadChecked } from './upload.js';

/** `Livepatcher.planLoad`. */
export async function planLoad({ ws }: OperationContext, source: PayloadSource, options: LoadOptions): Promise<Plan> {
  const { bytes, name } = await readSource(source, options.name);
  const report = await ws.preflightWithContext(bytes, name, { stack: !options.nodeps });
  const refusal = (await ws.journalRefusal()) ?? (await loadRefusal(ws, name, report, options));
  const inv = report.payload ? inventoryOf(report.payload.hooks.filter((h) => !h.isNull).map((h) => h.kind)) : null;
  const inventory: HookInventory = (p) => (p === name ? inv : null);
  return withRefusal(
    {
      command: `load ${name}`,
      steps: [
        simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`),
        applyStep(name, inventory, options.nodeps ? 'NODEPS' : undefined),
      ],
      warnings: diagnosticWarnings(report, refusal !== null),
    },
    refusal,
  );
}

/** `Livepatcher.load`: preflight, upload, apply and wait, journaled (kind `load`, lib/workflow/kinds/load.ts). */
export async function load(ops: OperationContext, source: PayloadSource, options: LoadOptions): Promise<LoadResult> {
  const { ws } = ops;
  checkSignal(options.signal, 'load');
  const { bytes, name } = await readSource(source, options.name);
  ws.emit({ phase: 'preflight', payload: name });
  const report = await ws.preflightWithContext(bytes, name, { stack: !options.nodeps });
  const refusal = await loadRefusal(ws, name, report, options);
  if (refusal) throw refusal;
  return ops.mutate(`load ${name}`, options.signal, async () => {
    let journal: Journal = {
      version: 1,
      workflow: 'load',
      command: `load ${name}`,
      startedAt: new Date().toISOString(),
      pid: process.pid,
      target: name,
      originalStack: [],
      phase: 'forward',
      steps: [
        { action: 'UPLOAD', payload: name, state: 'pending' },
        { action: 'APPLY', payload: name, state: 'pending', ...(options.nodeps ? { nodeps: true } : {}) },
      ],
      uploadedByWorkflow: true,
    };
    journal = await ws.step(journal, 0, 'started');
    let upload: UploadResult;
    try {
      upload = await uploadChecked(ws, name, bytes, report);
    } catch (error) {
      // Refused by the hypervisor: nothing to undo. Uploaded but not recorded: unloaded again.
      await undoLoad(ws, name, journal, error, false, ws.request(options));
      throw error;
    }
    journal = await ws.step(journal, 0, 'done');
    journal = await ws.step(journal, 1, 'started');
    try {
      const apply = await runAction(ws.context(), name, 'APPLY', ws.request(options));
      if (apply.outcome === 'done') await ws.registry.markApplied(name, { nodeps: options.nodeps === true });
      await ws.journal.clear();
      return { payload: name, upload, apply };
    } catch (error) {
      await undoLoad(ws, name, journal, error, options.keep === true, ws.request(options));
      throw error;
    }
  });
}

/**
 * Why `load` will not go ahead, before anything is uploaded: preflight errors, or an APPLY that
 * Xen will refuse on the dependency check (preflight was given the applied stack), which would
 * only upload, fail and unload again.
 */
async function loadRefusal(ws: Workspace, name: string, report: PreflightReport, options: LoadOptions): Promise<WorkflowError | null> {
  const refusal = preflightRefusal(name, report, options.force === true);
  if (refusal || options.nodeps || !report.payload) return refusal;
  const dep = report.diagnostics.find((d) => d.code === 'depends-mismatch' || d.code === 'depends-xen-build-id-unavailable');
  if (!dep) return null;
  const top = await ws.top();
  return new DependencyError(
    name,
    {
      errno: dep.errno ?? ERRNO.EINVAL,
      dependsOn: report.payload.depends,
      against: top ? top.name : 'hypervisor',
      againstBuildId: top ? top.buildId : (await ws.backend.xenVersion()).buildId,
    },
    [],
    'nothing was uploaded, since Xen would refuse the APPLY: apply what it depends on first, or use --nodeps',
  );
}

/**
 * After a failed upload or apply in `load`: undo what the load did, unless asked to keep it. An
 * apply still pending in the hypervisor (the wait timed out, or Ctrl-C) is waited for first (a
 * bounded wait, said on stderr): unloading or reverting into it would fail or run hooks for
 * nothing. The journal is closed once the hypervisor is as it was; it stays (marked as ended,
 * for `xlp recover`) only when that could not be done.
 */
async function undoLoad(ws: Workspace, name: string, journal: Journal, error: unknown, keep: boolean, req: ActionRequest): Promise<void> {
  if (keep) {
    await ws.journal.clear();
    note(error, `${name} stays uploaded (--keep)`);
    return;
  }
  await ws.journal.write({ ...journal, phase: 'rollback', failure: failureOf(error) });
  // The undo runs to its end: the caller's signal has fired or the wait has expired already.
  const undo = ws.undoRequest(req);
  try {
    await ws.inFlight.settle({ waitMs: undo.waitMs, before: `undoing the load of ${name}` });
    const st = await ws.statusOrNull(name);
    if (st?.state === 'APPLIED') {
      // The apply completed after all (after the wait expired or was interrupted): undo it too.
      await runAction(ws.context(), name, 'REVERT', undo);
      note(error, `${name} was applied after all; it was reverted`);
    }
    if (st) {
      await runAction(ws.context(), name, 'UNLOAD', undo);
      await ws.registry.forget(name);
      note(error, `${name} was unloaded again, leaving the hypervisor as it was`);
    }
    await ws.journal.clear();
  } catch (undoError) {
    note(
      error,
      `undoing the load of ${name} failed ` +
        `(${undoError instanceof Error ? undoError.message : String(undoError)}); its journal is kept: run \`xlp recover\``,
    );
    await ws.endJournal(failureOf(error));
  }
}
