import type { PayloadListEntry } from '../backend/backend.js';
import type { Plan } from '../workflow/plan.js';
import { formatPlan } from '../workflow/plan.js';
import type { ActionResult } from '../workflow/run-action.js';
import { ERRNO, errnoCode } from '../xen/errno.js';
import type { LivepatchAction, PayloadStatus } from '../xen/domain.js';

/** JSON for one action's result (part of the documented schema). */
export function actionJson(r: ActionResult): Record<string, unknown> {
  return {
    name: r.payload,
    action: r.action,
    outcome: r.outcome,
    state: r.status?.state ?? null,
    rc: r.status?.rc ?? null,
    hooks: r.hooks,
    console: r.console,
    elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
  };
}

const PAST: Readonly<Record<LivepatchAction, string>> = { APPLY: 'applied', REVERT: 'reverted', REPLACE: 'replaced the stack with', UNLOAD: 'unloaded' };
const ALREADY: Readonly<Record<LivepatchAction, string>> = {
  APPLY: 'is already applied',
  REVERT: 'is not applied',
  REPLACE: 'is already the only applied payload',
  UNLOAD: 'is not loaded',
};

export function actionText(r: ActionResult): string {
  if (r.outcome === 'nothing-to-do') return `${r.payload} ${ALREADY[r.action]}: nothing to do`;
  return `${PAST[r.action]} ${r.payload} (${r.elapsedMs.toFixed(1)} ms)`;
}

/** `rc` as people read it: 0, or the errno name, or "pending" for -EAGAIN. */
export function rcText(status: PayloadStatus): string {
  if (status.rc === 0) return '0';
  if (status.rc === -ERRNO.EAGAIN) return 'pending';
  return `${status.rc} (${errnoCode(status.rc)})`;
}

/** `.modinfo` as the strings it holds (NUL-separated in the section). */
export function metadataStrings(metadata: Uint8Array): string[] {
  const text = Buffer.from(metadata).toString('utf8');
  return text.split('\0').filter((s, i, all) => s.length > 0 || i < all.length - 1);
}

export function listEntryJson(p: PayloadListEntry): Record<string, unknown> {
  return { name: p.name, state: p.state, rc: p.rc, metadata: metadataStrings(p.metadata) };
}

export function planJson(plan: Plan): Record<string, unknown> {
  return { plan };
}

export function planText(plan: Plan): string {
  return formatPlan(plan);
}
