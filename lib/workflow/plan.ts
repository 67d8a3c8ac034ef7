import type { HookKind } from '../xen/domain.js';
import type { JournalStep } from './journal.js';

/**
 * What a mutating command will do, step by step, with the hooks Xen will run and in which order
 * (`--dry-run` prints it). Hook order follows xen/common/livepatch.c: a vetoing pre-hook runs in
 * the hypercall; load/unload hooks (or an action hook instead of Xen's own patching) run inside the
 * quiesced action; the post-hook runs after it, whether it succeeded or not.
 */
/** RELOAD: UNLOAD then UPLOAD again from xlp's copy (a payload Xen will not apply twice). */
export type PlanAction = 'UPLOAD' | 'APPLY' | 'REVERT' | 'REPLACE' | 'UNLOAD' | 'RELOAD';

export interface PlannedHook {
  readonly payload: string;
  readonly hook: HookKind;
  /** Load/unload sections hold arrays: how many functions run. */
  readonly count: number;
  readonly vetoing: boolean;
}

export interface PlanStep {
  readonly action: PlanAction;
  readonly payload: string;
  /** Hooks in the order they run; null when the payload's hooks are not known to this tool. */
  readonly hooks: readonly PlannedHook[] | null;
  readonly note?: string;
}

export interface Plan {
  readonly command: string;
  readonly steps: readonly PlanStep[];
  readonly warnings: readonly string[];
  /**
   * Set when xlp itself would refuse the command before any hypercall (preflight errors, REPLACE
   * with vetoing hooks, unload of an applied payload, a pending journal...): the error it would
   * raise. `steps` is then empty.
   */
  readonly refused?: { readonly code: string; readonly category: string; readonly message: string };
  /**
   * `recover` only: an action the interrupted workflow issued is still pending in the hypervisor.
   * Recovery waits for it first; `steps` are then what it does if the action completes, and
   * `ifPendingFails` what it does if it fails.
   */
  readonly pending?: {
    readonly action: 'APPLY' | 'REVERT' | 'REPLACE';
    readonly payload: string;
    readonly issuedAt: string;
    readonly pid: number;
  };
  readonly ifPendingFails?: readonly PlanStep[];
}

/** A payload's enabled hooks with their multiplicity, or null when unknown. */
export type HookInventory = (payload: string) => ReadonlyMap<HookKind, number> | null;

function hook(payload: string, inventory: ReadonlyMap<HookKind, number>, kind: HookKind, vetoing = false): PlannedHook[] {
  const count = inventory.get(kind) ?? 0;
  return count > 0 ? [{ payload, hook: kind, count, vetoing }] : [];
}

/** The quiesced part of applying a payload: its apply action hook, or Xen's patching with load hooks. */
function applyCore(payload: string, inv: ReadonlyMap<HookKind, number>): PlannedHook[] {
  return inv.has('apply') ? hook(payload, inv, 'apply') : hook(payload, inv, 'load');
}

function revertCore(payload: string, inv: ReadonlyMap<HookKind, number>): PlannedHook[] {
  return inv.has('revert') ? hook(payload, inv, 'revert') : hook(payload, inv, 'unload');
}

export function applyStep(payload: string, inventory: HookInventory, note?: string): PlanStep {
  const inv = inventory(payload);
  const hooks = inv && [...hook(payload, inv, 'preapply', true), ...applyCore(payload, inv), ...hook(payload, inv, 'postapply')];
  return { action: 'APPLY', payload, hooks, ...(note ? { note } : {}) };
}

export function revertStep(payload: string, inventory: HookInventory, note?: string): PlanStep {
  const inv = inventory(payload);
  const hooks = inv && [...hook(payload, inv, 'prerevert', true), ...revertCore(payload, inv), ...hook(payload, inv, 'postrevert')];
  return { action: 'REVERT', payload, hooks, ...(note ? { note } : {}) };
}

/** Xen's atomic REPLACE: every applied payload's revert core, top first, then the target's apply core. */
export function replaceStep(payload: string, appliedTopFirst: readonly string[], inventory: HookInventory): PlanStep {
  const parts: PlannedHook[] = [];
  let known = true;
  for (const other of appliedTopFirst) {
    const inv = inventory(other);
    if (!inv) known = false;
    else parts.push(...revertCore(other, inv));
  }
  const inv = inventory(payload);
  if (!inv) known = false;
  else parts.push(...applyCore(payload, inv));
  const note = appliedTopFirst.length
    ? `reverts ${appliedTopFirst.join(', ')} (top first), then applies ${payload}, atomically`
    : undefined;
  return { action: 'REPLACE', payload, hooks: known ? parts : null, ...(note ? { note } : {}) };
}

export function simpleStep(action: 'UPLOAD' | 'UNLOAD' | 'RELOAD', payload: string, note?: string): PlanStep {
  return { action, payload, hooks: [], ...(note ? { note } : {}) };
}

const HOOK_LABEL: Readonly<Record<HookKind, string>> = {
  preapply: 'pre-apply hook',
  postapply: 'post-apply hook',
  prerevert: 'pre-revert hook',
  postrevert: 'post-revert hook',
  apply: 'apply action hook',
  revert: 'revert action hook',
  load: 'load hook',
  unload: 'unload hook',
};

export function describeHook(h: PlannedHook): string {
  const label = h.count > 1 ? `${h.count} ${HOOK_LABEL[h.hook]}s` : HOOK_LABEL[h.hook];
  return `${label} of ${h.payload}${h.vetoing ? ' (may veto)' : ''}`;
}

function formatSteps(steps: readonly PlanStep[], indent: string): string[] {
  const out: string[] = [];
  steps.forEach((s, i) => {
    out.push(`${indent}${i + 1}. ${s.action} ${s.payload}${s.note ? `  (${s.note})` : ''}`);
    if (s.hooks === null) out.push(`${indent}     hooks: unknown (payload not uploaded by xlp)`);
    else if (s.hooks.length === 0) out.push(`${indent}     hooks: none`);
    else s.hooks.forEach((h) => out.push(`${indent}     -> ${describeHook(h)}`));
  });
  if (steps.length === 0) out.push(`${indent}nothing to do`);
  return out;
}

/** The plan as lines of text for people. */
export function formatPlan(plan: Plan): string {
  const out = [`plan for ${plan.command}:`];
  if (plan.pending && !plan.refused) {
    out.push(
      `  first: wait for the ${plan.pending.action} of ${plan.pending.payload}, ` +
        `still pending in the hypervisor (issued by pid ${plan.pending.pid})`,
    );
    out.push(`  if it completes:`, ...formatSteps(plan.steps, '    '));
    out.push(`  if it fails:`, ...formatSteps(plan.ifPendingFails ?? [], '    '));
  } else if (plan.steps.length || !plan.refused) {
    out.push(...formatSteps(plan.steps, '  '));
  }
  for (const w of plan.warnings) out.push(`  warning: ${w}`);
  if (plan.refused) out.push(`  refused: ${plan.refused.message}`);
  return out.join('\n');
}

/** The plan of a journal's steps; `reloads` are payloads uploaded again before their APPLY. */
export function journalPlanSteps(steps: readonly JournalStep[], reloads: ReadonlySet<string>, inventory: HookInventory): PlanStep[] {
  const out: PlanStep[] = [];
  for (const s of steps) {
    if (s.action === 'REVERT') out.push(revertStep(s.payload, inventory));
    else if (s.action === 'APPLY') {
      if (reloads.has(s.payload))
        out.push(simpleStep('RELOAD', s.payload, "unloaded and uploaded again from xlp's copy: Xen does not apply it twice"));
      out.push(applyStep(s.payload, inventory, s.nodeps ? 'NODEPS' : undefined));
    } else out.push(simpleStep(s.action === 'UPLOAD' ? 'UPLOAD' : 'UNLOAD', s.payload));
  }
  return out;
}
