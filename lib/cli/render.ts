import type { PayloadListEntry } from '../backend/index.js';
import { modinfoStrings } from '../payload/index.js';
import type { Diagnostic } from '../preflight/index.js';
import type { ActionResult } from '../workflow/index.js';
import { errnoCode } from '../xen/index.js';
import type { LivepatchAction, PayloadStatus } from '../xen/index.js';
import type { Output } from './output.js';

/** JSON for one action's result (part of the documented schema, docs/cli.md). */
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

/** A preflight finding in JSON: the fields of the `xlp check` schema that matter here. */
export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    severity: d.severity,
    errno: d.errno,
    message: d.message,
    ...(d.section === undefined ? {} : { section: d.section }),
    ...(d.symbol === undefined ? {} : { symbol: d.symbol }),
  };
}

const PAST: Readonly<Record<LivepatchAction, string>> = { APPLY: 'applied', REVERT: 'reverted', REPLACE: 'replaced the stack with', UNLOAD: 'unloaded' };
const ALREADY: Readonly<Record<LivepatchAction, string>> = {
  APPLY: 'is already applied',
  REVERT: 'is not applied',
  REPLACE: 'already is the only applied payload',
  UNLOAD: 'is not loaded',
};

export function actionText(r: Pick<ActionResult, 'payload' | 'action' | 'outcome' | 'elapsedMs'>, out?: Output): string {
  if (r.outcome === 'nothing-to-do') return `${r.payload} ${ALREADY[r.action]}: nothing to do`;
  const text = `${PAST[r.action]} ${r.payload} (${r.elapsedMs.toFixed(1)} ms)`;
  return out ? out.color.green(text) : text;
}

/** `uploaded NAME (N bytes)`, with the findings the upload went ahead despite. */
export function uploadText(name: string, bytes: number, findings: readonly Pick<Diagnostic, 'severity' | 'code' | 'message'>[]): string {
  return [`uploaded ${name} (${bytes} bytes)`, ...findings.map((w) => `  ${w.severity} ${w.code}: ${w.message}`)].join('\n');
}

/** The state, coloured on a terminal. */
export function stateText(state: string, out: Output): string {
  return state === 'APPLIED' ? out.color.green(state) : state === 'CHECKED' ? out.color.cyan(state) : state;
}

/**
 * `rc` as people read it: 0, or the number with its errno name. -11 (EAGAIN) means an action is
 * in flight, or was refused after its pre-hook ran (Xen then leaves it behind).
 */
export function rcText(status: PayloadStatus): string {
  return status.rc === 0 ? '0' : `${status.rc} (${errnoCode(status.rc)})`;
}

export function listEntryJson(p: PayloadListEntry): Record<string, unknown> {
  return { name: p.name, state: p.state, rc: p.rc, metadata: modinfoStrings(p.metadata) };
}
