/**
 * Running a payload's hooks: which hook of a kind is enabled, and what calling one does (the
 * behaviour scripted for it in hooks.ts, the applied markers it leaves, the call recorded).
 */
import type { PayloadHook } from '../payload/model.js';
import { type HookKind, VETOING_HOOK_KINDS } from '../xen/domain.js';
import { findRule, type HookCall, type HookContext, type HookScript, RC_HOOK_KINDS, scriptRc } from './hooks.js';
import type { MockMachine } from './machine.js';
import { HOOK_CALLS_KEPT, type PayloadRecord } from './state.js';

/** The enabled hook of a single-hook kind (`is_hook_enabled`: present and not NULL). */
export function singleHook(p: PayloadRecord, kind: HookKind): PayloadHook | undefined {
  return p.payload.hooks.find((h) => h.kind === kind && !h.isNull && (h as { loaded?: boolean }).loaded !== false);
}

export function arrayHooks(p: PayloadRecord, kind: 'load' | 'unload'): PayloadHook[] {
  return p.payload.hooks.filter((h) => h.kind === kind).sort((a, b) => a.index - b.index);
}

export function hasVetoingHooks(p: PayloadRecord): boolean {
  return VETOING_HOOK_KINDS.some((k) => singleHook(p, k) !== undefined);
}

/** Runs one hook's behaviour and records the call; returns the rc for hooks that return one. */
export function runHook(m: MockMachine, p: PayloadRecord, hook: PayloadHook): number | null {
  if (hook.isNull) {
    // A NULL entry of a load/unload array is called all the same: a jump to address 0.
    m.panic('FATAL PAGE FAULT\n[error_code=0010]\nFaulting linear address: 0000000000000000');
  }
  const returnsRc = RC_HOOK_KINDS.includes(hook.kind);
  const record: { -readonly [K in keyof HookCall]: HookCall[K] } = {
    seq: ++m.state.hookSeq,
    payload: p.name,
    kind: hook.kind,
    symbol: hook.symbol,
    index: hook.index,
    rc: null,
    payloadRc: p.rc,
  };
  m.state.hookCalls.push(record);
  if (m.state.hookCalls.length > HOOK_CALLS_KEPT) m.state.hookCalls.splice(0, m.state.hookCalls.length - HOOK_CALLS_KEPT);
  m.dirty = true;
  const rule = findRule(m.state.hookRules, m.localRules, p.name, hook.kind, hook.symbol);
  let rc = 0;
  const isAction = hook.kind === 'apply' || hook.kind === 'revert';
  if (rule) rule.calls++;
  if (rule && typeof rule.behaviour === 'function') {
    const ctx = hookContext(m, p, hook, rule.calls);
    const out = rule.behaviour(ctx);
    rc = typeof out === 'number' ? out | 0 : 0;
    // A function that never touched the markers gets the default effect, so `() => 0` is a working
    // action hook; one that set them is taken at its word (and may panic the hypervisor).
    if (isAction && !ctx.touchedFstate) applyFstate(p, hook.kind === 'apply', 'consistent', rc);
  } else {
    const script: HookScript = (rule?.behaviour as HookScript | undefined) ?? {};
    const n = rule?.calls ?? 1;
    for (const line of script.printk ?? []) m.console.printk(`${line.replaceAll('{n}', String(n))}\n`);
    if (returnsRc) rc = scriptRc(script, n);
    if (isAction) applyFstate(p, hook.kind === 'apply', script.fstate ?? 'consistent', rc);
    for (const c of script.calls ?? []) {
      if (c === 'revert_payload') m.revertPayload(p);
      else m.revertTail(p);
    }
    for (const line of script.printkAfter ?? []) m.console.printk(`${line.replaceAll('{n}', String(n))}\n`);
    if (script.bug !== undefined) m.panic(`Xen BUG at ${script.bug === true ? `${p.name}:${hook.symbol ?? hook.kind}` : script.bug}`);
  }
  if (returnsRc) record.rc = rc;
  return returnsRc ? rc : null;
}

function applyFstate(p: PayloadRecord, isApply: boolean, effect: HookScript['fstate'], rc: number): void {
  let target: boolean | null = null;
  if (effect === 'applied') target = true;
  else if (effect === 'not-applied') target = false;
  else if (effect === 'consistent' && rc === 0) target = isApply;
  if (target !== null) p.applied = p.applied.map(() => target);
}

function hookContext(m: MockMachine, p: PayloadRecord, hook: PayloadHook, calls: number): HookContext & { touchedFstate: boolean } {
  const ctx = {
    touchedFstate: false,
    payload: p.name,
    kind: hook.kind,
    symbol: hook.symbol,
    index: hook.index,
    payloadRc: p.rc,
    state: p.state,
    calls,
    fstate: () => [...p.applied],
    setFstate: (applied: boolean, index?: number) => {
      ctx.touchedFstate = true;
      if (index === undefined) p.applied = p.applied.map(() => applied);
      else if (index >= 0 && index < p.applied.length) p.applied[index] = applied;
      else throw new RangeError(`no function ${index} in ${p.name}`);
    },
    printk: (text: string) => m.console.printk(text.endsWith('\n') ? text : `${text}\n`),
    revertPayload: () => m.revertPayload(p),
    revertPayloadTail: () => m.revertTail(p),
    bug: (where?: string): never => m.panic(`Xen BUG at ${where ?? `${p.name}:${hook.symbol ?? hook.kind}`}`),
  };
  return ctx;
}
