import type { PayloadStatus } from '../xen/domain.js';
import { errnoMessage } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import { NotReapplyableError, RefusedError, UploadFailedError } from './errors.js';
import { type ActionRequest, type ActionResult, runAction } from './run-action.js';
import type { Workspace } from './workspace.js';

/**
 * Putting payloads back: the rollback of a sequential REPLACE or of an interrupted workflow, and
 * the re-upload from the registry's copy of a payload Xen will not apply twice.
 */

/** What a rollback to `original` (bottom first) has to revert (top first) and apply (bottom first). */
export async function restoreDiff(ws: Workspace, original: readonly string[], stack?: readonly string[]): Promise<{ revert: string[]; apply: string[] }> {
  const current = stack ?? (await ws.stackForWorkflow()).view.applied.map((e) => e.name);
  let k = 0;
  while (k < current.length && k < original.length && current[k] === original[k]) k++;
  return { revert: current.slice(k).reverse(), apply: original.slice(k) };
}

/**
 * Brings the applied stack back to `original` (bottom first): reverts what differs from it,
 * top first, then applies the rest of it in order, reloading from the registry what Xen will not
 * apply twice.
 */
export async function restoreStack(ws: Workspace, original: readonly string[], nodeps: ReadonlySet<string>, req: ActionRequest): Promise<ActionResult[]> {
  const steps: ActionResult[] = [];
  // The stack is read once nothing is pending: a pending REVERT or APPLY changes what has to be done.
  await ws.inFlight.settle({ waitMs: req.waitMs, signal: req.signal, before: `restoring the stack (${original.join(', ') || 'empty'})` });
  const { revert, apply } = await restoreDiff(ws, original);
  for (const p of revert) steps.push(await runAction(ws.context(), p, 'REVERT', req));
  for (const p of apply) steps.push(...(await applyRestoring(ws, p, { ...req, ...(nodeps.has(p) ? { nodeps: true } : {}) })));
  return steps;
}

/** Payloads among `names` that a RELOAD must bring back before they can be applied. */
export async function reloadsFor(ws: Workspace, names: readonly string[], status: (name: string) => Promise<PayloadStatus | null> = (n) => ws.statusOrNull(n)): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of names) {
    const st = await status(p);
    const rec = await ws.registry.get(p);
    if (!st || (st.state === 'CHECKED' && rec && !rec.safeToReapply && rec.appliedSeq !== undefined)) out.add(p);
  }
  return out;
}

/**
 * APPLY `name`, first uploading it again from the registry when Xen would not apply it (a
 * reverted payload with writable data) or when it is gone (a reload interrupted mid-way).
 */
export async function applyRestoring(ws: Workspace, name: string, req: ActionRequest): Promise<ActionResult[]> {
  const steps: ActionResult[] = [];
  const st = await ws.statusOrNull(name);
  const rec = await ws.registry.get(name);
  if (!st) {
    await reupload(ws, name, false);
  } else if (st.state === 'CHECKED' && rec && !rec.safeToReapply && rec.appliedSeq !== undefined) {
    steps.push(...(await reload(ws, name, req)));
  }
  let applied: ActionResult;
  try {
    applied = await runAction(ws.context(), name, 'APPLY', req);
  } catch (error) {
    if (!(error instanceof NotReapplyableError) || !(await ws.registry.bytes(name))) throw error;
    steps.push(...(await reload(ws, name, req)));
    applied = await runAction(ws.context(), name, 'APPLY', req);
  }
  steps.push(applied);
  if (applied.outcome === 'done') await ws.registry.markApplied(name, { nodeps: req.nodeps === true });
  return steps;
}

/** UNLOAD, then UPLOAD again from the registry's copy: a fresh payload Xen will apply. */
export async function reload(ws: Workspace, name: string, req: ActionRequest): Promise<ActionResult[]> {
  const bytes = await ws.registry.bytes(name);
  if (!bytes) throw new RefusedError(`cannot restore ${JSON.stringify(name)}: Xen will not apply it again and its bytes are not in xlp's registry`, { payload: name });
  const unload = await runAction(ws.context(), name, 'UNLOAD', req);
  await reupload(ws, name, true, bytes);
  return [unload];
}

export async function reupload(ws: Workspace, name: string, known: boolean, given?: Uint8Array): Promise<void> {
  const bytes = given ?? (await ws.registry.bytes(name));
  if (!bytes) {
    throw new RefusedError(`cannot restore ${JSON.stringify(name)}: it is not loaded any more and its bytes are not in xlp's registry`, { payload: name });
  }
  ws.emit({ phase: 'uploading', payload: name, bytes: bytes.length });
  try {
    await ws.backend.upload(name, bytes);
  } catch (error) {
    if (!(error instanceof XenError)) throw error;
    throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}) while restoring it from xlp's copy${known ? '' : ' (it had been unloaded)'}`, []);
  }
  await ws.registry.markUploaded(name);
  ws.emit({ phase: 'done', payload: name, action: 'UPLOAD', outcome: 'done', status: { state: 'CHECKED', rc: 0 } });
}
