import { ERRNO } from '../xen/errno.js';
import { DependencyError, failureOf, note, RefusedError, type ReplaceOffender, ReplaceRefusedError, type WorkflowError } from './errors.js';
import type { Journal, JournalStep } from './journal.js';
import { applyRestoring, restoreStack } from './restore.js';
import { type ActionResult, runAction } from './run-action.js';
import type { StackView } from './stack.js';
import { statusOf } from './status.js';
import type { ReplaceOptions, ReplaceResult } from './types.js';
import type { Workspace } from './workspace.js';

/** What a REPLACE (atomic or sequential) will do, decided once for the plan and the run alike. */
export interface ReplaceDecision {
  readonly view: StackView;
  /** The applied stack, bottom first. */
  readonly current: readonly string[];
  /** The target already is the whole stack. */
  readonly nothingToDo: boolean;
  /** Sequential: the steps in order (reverts top-first, then the APPLY). */
  readonly steps: readonly JournalStep[];
  /** Payloads a RELOAD must bring back (Xen will not apply them twice). */
  readonly reloads: ReadonlySet<string>;
  readonly warnings: readonly string[];
  readonly refusal: WorkflowError | null;
}

/** Everything a REPLACE decides before its first hypercall, for the plan and the run alike. */
export async function decideReplace(ws: Workspace, name: string, options: ReplaceOptions): Promise<ReplaceDecision> {
  const target = await statusOf(ws.backend, name);
  const { view, warnings: viewWarnings } = await ws.stackForWorkflow();
  const current = view.applied.map((e) => e.name);
  const warnings = [...viewWarnings];
  const base = { view, current, steps: [] as JournalStep[], reloads: new Set<string>() };
  if (target.state === 'APPLIED' && current.length === 1 && current[0] === name) {
    return { ...base, nothingToDo: true, warnings, refusal: null };
  }
  const rec = await ws.trustedRecord(name, view);
  if (!rec)
    warnings.push(
      `${name} was not uploaded by xlp (or has changed since): its ` + `hooks and dependencies are not known, so Xen will be the judge`,
    );
  const xenId = view.xenBuildId ?? (await ws.backend.xenVersion()).buildId;
  // What the target depends on: from the registry, else from the x dump (which shows it for any payload).
  const depends = rec?.depends ?? view.loaded.find((p) => p.name === name)?.dependsOn ?? null;

  if (!options.sequential) {
    let refusal: WorkflowError | null = null;
    if (target.state === 'APPLIED') {
      refusal = new RefusedError(
        `${JSON.stringify(name)} is already applied (with ${current.filter((n) => n !== name).join(', ')} on the stack); ` +
          ("Xen's REPLACE takes a payload that is loaded but not applied: " +
            'use `xlp replace --sequential` to make it the only applied payload'),
        { payload: name },
      );
    }
    const offenders: ReplaceOffender[] = [];
    if (rec?.vetoingHooks.length) offenders.push({ payload: name, hooks: [...rec.vetoingHooks] });
    for (const e of view.applied) {
      if (e.name !== name && e.vetoingHooks?.length) offenders.push({ payload: e.name, hooks: [...e.vetoingHooks] });
    }
    if (!refusal && offenders.length) refusal = new ReplaceRefusedError(name, offenders);
    if (!refusal && depends && xenId && depends !== xenId) {
      refusal = new DependencyError(
        name,
        { errno: ERRNO.EINVAL, dependsOn: depends, against: 'hypervisor', againstBuildId: xenId },
        [],
        "Xen's REPLACE requires a payload built directly on the hypervisor (NODEPS does not apply to it)",
      );
    }
    for (const e of view.applied) {
      if (e.name !== name && e.hooks === null)
        warnings.push(
          `${e.name} was not uploaded by xlp: if it has vetoing ` + `hooks, Xen will refuse the REPLACE (nothing changes then)`,
        );
    }
    return { ...base, nothingToDo: false, warnings, refusal };
  }

  // Sequential: revert top-first (down to the target when it is the bottom), then apply it.
  const at = current.indexOf(name);
  const toRevert = at === 0 ? current.slice(1) : [...current];
  const steps: JournalStep[] = [...toRevert].reverse().map((p) => ({ action: 'REVERT', payload: p, state: 'pending' }) as const);
  steps.push({ action: 'APPLY', payload: name, state: 'pending', ...(options.nodeps ? { nodeps: true } : {}) });
  const reloads = new Set<string>();
  const blocking: string[] = [];
  for (const p of toRevert) {
    const r = await ws.trustedRecord(p, view);
    if (!r) {
      blocking.push(`cannot restore ${p} for certain if a later step fails: it was not uploaded by xlp`);
    } else if (!r.safeToReapply) {
      if (await ws.registry.bytes(p)) {
        if (p === name) reloads.add(p);
        warnings.push(`${p} cannot be applied twice by Xen (writable data): it is restored from xlp's copy if needed`);
      } else {
        blocking.push(`cannot restore ${p} if a later step fails: Xen will not re-apply it and its bytes are not in xlp's registry`);
      }
    }
  }
  let refusal: WorkflowError | null = null;
  if (blocking.length && !options.force) {
    refusal = new RefusedError(`replace --sequential ${name} refused: ${blocking.join('; ')}; pass --force to accept that risk`, {
      payload: name,
    });
  } else {
    warnings.push(...blocking);
  }
  if (!refusal && at !== 0 && !options.nodeps && depends && xenId && depends !== xenId) {
    refusal = new DependencyError(
      name,
      { errno: ERRNO.EINVAL, dependsOn: depends, against: 'hypervisor', againstBuildId: xenId },
      [],
      'once the stack is reverted it must depend on the hypervisor; pass --nodeps to apply it anyway',
    );
  }
  return { view, current, steps, reloads, nothingToDo: false, warnings, refusal };
}

export async function replaceAtomic(ws: Workspace, name: string, d: ReplaceDecision, options: ReplaceOptions): Promise<ReplaceResult> {
  const others = d.current.filter((n) => n !== name);
  try {
    const result = await runAction(ws.context(), name, 'REPLACE', ws.request(options), others);
    if (result.outcome === 'done') await ws.registry.markApplied(name);
    return { payload: name, sequential: false, steps: [result] };
  } catch (error) {
    if (error instanceof ReplaceRefusedError && !error.beforeHypercall) {
      // Xen refused on hooks this tool did not know about (payloads uploaded by other tools).
      const unknown: ReplaceOffender[] = d.view.applied
        .filter((e) => e.name !== name && e.hooks === null)
        .map((e) => ({ payload: e.name, hooks: null }));
      if (!(await ws.trustedRecord(name, d.view))) unknown.unshift({ payload: name, hooks: null });
      throw new ReplaceRefusedError(name, unknown, error.consoleLines, false);
    }
    throw error;
  }
}

export async function replaceSequential(ws: Workspace, name: string, d: ReplaceDecision, options: ReplaceOptions): Promise<ReplaceResult> {
  const req = ws.request(options);
  const originalNodeps = d.view.applied.filter((e) => !e.chained).map((e) => e.name);
  let journal: Journal = {
    version: 1,
    workflow: 'replace-sequential',
    command: `replace --sequential ${name}`,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    target: name,
    originalStack: d.current,
    ...(originalNodeps.length ? { originalNodeps } : {}),
    phase: 'forward',
    steps: d.steps,
    uploadedByWorkflow: false,
  };
  await ws.journal.write(journal);
  const done: ActionResult[] = [];
  for (const [i, s] of d.steps.entries()) {
    ws.emit({ phase: 'step', index: i + 1, total: d.steps.length, description: `${s.action} ${s.payload}` });
    journal = await ws.step(journal, i, 'started');
    try {
      if (s.action === 'REVERT') done.push(await runAction(ws.context(), s.payload, 'REVERT', req));
      else done.push(...(await applyRestoring(ws, s.payload, { ...req, ...(s.nodeps ? { nodeps: true } : {}) })));
    } catch (error) {
      journal = { ...journal, phase: 'rollback', failure: failureOf(error) };
      await ws.journal.write(journal);
      try {
        // To its end: the caller's signal may be what stopped the step. A step still pending (Ctrl-C
        // or --timeout while waiting) is waited for first, within a bound, and said on stderr.
        await restoreStack(ws, d.current, new Set(originalNodeps), ws.undoRequest(req));
        await ws.journal.clear();
        note(error, `rolled back: the previous stack (${d.current.join(', ') || 'empty'}) is applied again`);
      } catch (rollbackError) {
        note(
          error,
          `the rollback failed too (${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}); ` +
            'the journal is kept: fix the cause, then run `xlp recover`',
        );
      }
      throw error;
    }
    journal = await ws.step(journal, i, 'done');
  }
  await ws.journal.clear();
  return { payload: name, sequential: true, steps: done };
}
