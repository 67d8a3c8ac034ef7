/**
 * Hook behaviours. The mock cannot run a payload's machine code, so each hook it finds in a payload
 * runs what the user scripted for it: chosen per payload and kind, per hook symbol, or both; the
 * default is the successful hook (rc 0, action hooks leave the functions consistently applied or
 * reverted, post/load/unload hooks do nothing). Every call is recorded.
 *
 * Behaviours come in two forms: data (`HookScript`, persisted in a state directory and settable
 * with `xlp mock hook`) and, in-process only, a function given a `HookContext`.
 */
import type { HookKind, PayloadState } from '../xen/domain.js';

/** Xen functions a hook may call that the mock models (4.17 exports them "for testing purposes"). */
export type XenHelperCall = 'revert_payload' | 'revert_payload_tail';

/** What an action hook leaves in its functions' applied markers (`fstate[i].applied`). */
export type FstateEffect =
  /** Applied if rc == 0 for an apply hook (not applied for a revert hook), otherwise unchanged. */
  'consistent' | 'applied' | 'not-applied' | 'unchanged';

export interface HookScript {
  /**
   * The rc a vetoing (pre-) or action hook returns. A list is a sequence, one per call, whose last
   * value repeats: `[-1, 0]` fails the first call and succeeds afterwards. Default 0.
   */
  readonly rc?: number | readonly number[];
  /** Lines the hook prints (printk text; `<3>` etc. set the level; `{n}` is this behaviour's call count). */
  readonly printk?: readonly string[];
  /** Action hooks only: the applied markers the hook leaves. Default `consistent`. */
  readonly fstate?: FstateEffect;
  /** Xen functions the hook calls, in order, after printing (e.g. a post-revert hook reverting itself). */
  readonly calls?: readonly XenHelperCall[];
  /** Lines the hook prints after those calls. */
  readonly printkAfter?: readonly string[];
  /** The hook hits `BUG()`: the hypervisor panics ("Xen BUG at <where>"). */
  readonly bug?: string | true;
}

/** What an in-process hook function sees and may do. */
export interface HookContext {
  readonly payload: string;
  readonly kind: HookKind;
  readonly symbol: string | null;
  readonly index: number;
  /** The payload's `rc` when the hook is called (what a post hook reads as the action's result). */
  readonly payloadRc: number;
  readonly state: PayloadState;
  /** How many times this behaviour has run, this call included. */
  readonly calls: number;
  /** The functions' applied markers, in `.livepatch.funcs` order. */
  fstate(): readonly boolean[];
  /** Sets one function's marker (index) or all of them (no index). */
  setFstate(applied: boolean, index?: number): void;
  printk(text: string): void;
  /** Xen's `revert_payload(payload)`: unpatches the functions, runs the unload hooks; returns its rc. */
  revertPayload(): number;
  /** Xen's `revert_payload_tail(payload)`: pops it off the applied stack, state CHECKED, reverted. */
  revertPayloadTail(): void;
  /** `BUG()`: panics the hypervisor. */
  bug(where?: string): never;
}

/** An in-process hook: returns the rc for vetoing and action hooks (undefined means 0). */
export type HookFunction = (context: HookContext) => number | void;

export type HookBehaviour = HookScript | HookFunction;

/** Which hooks a behaviour applies to; every given field must match. */
export interface HookSelector {
  readonly payload?: string;
  readonly kind?: HookKind;
  readonly symbol?: string;
}

export interface HookRule<B extends HookBehaviour = HookBehaviour> {
  readonly id: number;
  readonly selector: HookSelector;
  readonly behaviour: B;
  /** Calls so far (drives `rc` sequences and `{n}`). */
  calls: number;
}

/** One hook call, as recorded for tests. */
export interface HookCall {
  /** Increasing across the mock's life (and across processes sharing a state directory). */
  readonly seq: number;
  readonly payload: string;
  readonly kind: HookKind;
  readonly symbol: string | null;
  readonly index: number;
  /** What a vetoing or action hook returned; null for hooks that return nothing. */
  readonly rc: number | null;
  /** The payload's rc the hook saw (for a post hook: the action's result). */
  readonly payloadRc: number;
}

/** Hooks that receive the payload pointer and return an int. */
export const RC_HOOK_KINDS: readonly HookKind[] = ['preapply', 'prerevert', 'apply', 'revert'];

function specificity(s: HookSelector): number {
  return (s.payload === undefined ? 0 : 1) + (s.kind === undefined ? 0 : 1) + (s.symbol === undefined ? 0 : 3);
}

export function selectorMatches(s: HookSelector, payload: string, kind: HookKind, symbol: string | null): boolean {
  return (
    (s.payload === undefined || s.payload === payload) &&
    (s.kind === undefined || s.kind === kind) &&
    (s.symbol === undefined || s.symbol === symbol)
  );
}

/**
 * The rule for a hook: the most specific match (a symbol counts more than payload and kind together), the
 * latest one among equals; `preferred` rules (in-process functions) win ties with the others.
 */
export function findRule<B extends HookBehaviour>(
  rules: readonly HookRule<B>[],
  preferred: readonly HookRule[],
  payload: string,
  kind: HookKind,
  symbol: string | null,
): HookRule | undefined {
  let best: HookRule | undefined;
  let bestScore = -1;
  const consider = (r: HookRule, bonus: number) => {
    if (!selectorMatches(r.selector, payload, kind, symbol)) return;
    const score = specificity(r.selector) * 4 + bonus;
    if (score > bestScore || (score === bestScore && best !== undefined && r.id > best.id)) {
      best = r;
      bestScore = score;
    }
  };
  for (const r of rules) consider(r, 0);
  for (const r of preferred) consider(r, 1);
  return best;
}

/** The rc a script returns on its `n`th call (1-based). */
export function scriptRc(script: HookScript, n: number): number {
  const rc = script.rc;
  if (rc === undefined) return 0;
  if (typeof rc === 'number') return rc;
  if (rc.length === 0) return 0;
  return rc[Math.min(n, rc.length) - 1]!;
}

/** Parses the CLI's rc syntax: `-22`, or a sequence `-1,0` / `-1 then 0`. */
export function parseRcSequence(text: string): number | number[] {
  const parts = text
    .split(/\s*(?:,|\bthen\b)\s*/)
    .map((s) => s.trim())
    .filter(Boolean);
  const values = parts.map((p) => {
    if (!/^[-+]?\d+$/.test(p)) throw new RangeError(`not an rc: ${JSON.stringify(p)} (expected an integer such as -22)`);
    const n = Number(p);
    if (n < -0x8000_0000 || n > 0x7fff_ffff) throw new RangeError(`rc ${p} does not fit in an int`);
    return n;
  });
  if (values.length === 0) throw new RangeError('no rc given');
  return values.length === 1 ? values[0]! : values;
}

/** Validates a data-form behaviour (from JSON or the CLI). */
export function checkHookScript(s: unknown): HookScript {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new TypeError('a hook script must be an object');
  const o = s as Record<string, unknown>;
  const allowed = new Set(['rc', 'printk', 'printkAfter', 'fstate', 'calls', 'bug']);
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new TypeError(`unknown hook script field ${JSON.stringify(k)}`);
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff;
  if (o.rc !== undefined && !int(o.rc) && !(Array.isArray(o.rc) && o.rc.every(int)))
    throw new TypeError('rc must be an int or a list of ints');
  for (const k of ['printk', 'printkAfter']) {
    if (o[k] !== undefined && !(Array.isArray(o[k]) && (o[k] as unknown[]).every((l) => typeof l === 'string')))
      throw new TypeError(`${k} must be a list of strings`);
  }
  if (o.fstate !== undefined && !['consistent', 'applied', 'not-applied', 'unchanged'].includes(o.fstate as string))
    throw new TypeError('bad fstate effect');
  if (o.calls !== undefined && !(Array.isArray(o.calls) && o.calls.every((c) => c === 'revert_payload' || c === 'revert_payload_tail'))) {
    throw new TypeError('calls may only name revert_payload and revert_payload_tail');
  }
  if (o.bug !== undefined && o.bug !== true && typeof o.bug !== 'string') throw new TypeError('bug must be true or a location string');
  return o as HookScript;
}
