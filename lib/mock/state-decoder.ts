/**
 * `state.json` as untrusted input: every field of the stored identity and machine checked for type,
 * range and consistency (names, hashes, stack, pending work, the console ring, hook rules), so a
 * damaged or hand-edited state is refused with the place it is wrong, never run.
 */
import {
  array,
  bigint,
  boolean,
  bytes,
  type Decoder,
  DecodeError,
  dictionary,
  either,
  integer,
  literal,
  matching,
  nullable,
  number,
  object,
  optional,
  refine,
  string,
  tagged,
} from '../fs/decode.js';
import type { AddressRef } from '../payload/addresses.js';
import type { Payload } from '../payload/model.js';
import { HOOK_KINDS, PAYLOAD_NAME_MAX } from '../xen/domain.js';
import type { HookRule, HookScript } from './hooks.js';
import { type MockIdentity, MAX_QUIESCE_MS, MAX_RENDEZVOUS_NS, resolveIdentity } from './identity.js';
import { MockConfigError } from './errors.js';
import type { MachineState, PayloadRecord } from './state.js';
import { HOOK_CALLS_KEPT, WARNINGS_KEPT } from './state.js';

const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const INT32: [number, number] = [-0x8000_0000, 0x7fff_ffff];
const encoder = new TextEncoder();

/** A payload name as Xen keeps one: no NUL, at most 127 bytes of UTF-8. */
export const payloadName: Decoder<string> = (v, at) => {
  if (typeof v !== 'string' || v.includes('\0') || encoder.encode(v).length > PAYLOAD_NAME_MAX) {
    throw new DecodeError(at, `a payload name (a string of at most ${PAYLOAD_NAME_MAX} bytes without NUL)`);
  }
  return v;
};
export const sha256Hex = matching(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex (64 digits)');
const buildIdHex = nullable(matching(/^(?:[0-9a-f]{2}){1,128}$/, 'a build-id in lowercase hex'));
const symbolName = string(4096);
const u64 = bigint(0n, U64_MAX);
const s64 = bigint(S64_MIN, U64_MAX);
const count = integer(0, 0x7fff_ffff);
const hookKind = literal(...HOOK_KINDS);
const strings = (max = 1 << 20) => array(string(1 << 16), max);

const addressRef: Decoder<AddressRef> = tagged<AddressRef>('kind', {
  null: () => ({ kind: 'null' }),
  absolute: object({ kind: literal('absolute'), value: s64 }),
  payload: object({
    kind: literal('payload'),
    section: count,
    sectionName: nullable(symbolName),
    offset: s64,
    symbol: nullable(symbolName),
    symbolOffset: s64,
  }),
  external: object({ kind: literal('external'), symbol: symbolName, addend: s64 }),
  unresolved: object({ kind: literal('unresolved'), reason: string(4096) }),
});

const payloadModel: Decoder<Payload> = object({
  size: count,
  buildId: buildIdHex,
  depends: buildIdHex,
  xenDepends: buildIdHex,
  funcEntrySize: literal(72, 104),
  funcs: array(
    object({
      index: count,
      offset: count,
      name: nullable(symbolName),
      newSymbol: nullable(symbolName),
      newAddr: s64,
      oldSymbol: nullable(symbolName),
      oldAddr: s64,
      newSize: integer(0, 0xffff_ffff),
      oldSize: integer(0, 0xffff_ffff),
      version: integer(0, 0xffff_ffff),
      isNop: boolean,
      expect: nullable(object({ enabled: boolean, len: integer(0, 0xffff_ffff), rsv: integer(0, 0xffff_ffff), data: bytes(1 << 16) })),
      nameTarget: addressRef,
      newTarget: addressRef,
      oldTarget: addressRef,
    }),
    1 << 16,
  ),
  hooks: array(
    object({
      kind: hookKind,
      index: count,
      symbol: nullable(symbolName),
      isNull: boolean,
      target: addressRef,
      section: count,
      loaded: optional(boolean),
    }),
    1 << 16,
  ),
  modinfo: nullable(
    object({ raw: bytes(1 << 21), strings: strings(), entries: array(object({ key: string(1 << 16), value: string(1 << 16) })) }),
  ),
  safeToReapply: boolean,
  rwSections: strings(),
  vetoingHooks: array(hookKind, 8),
  undefinedSymbols: strings(),
  symbols: array(
    object({
      name: symbolName,
      section: string(4096),
      value: s64,
      size: u64,
      isFunction: boolean,
      isGlobal: boolean,
      sectionIndex: count,
      replacesFunction: boolean,
    }),
  ),
}) as Decoder<Payload>;

const payloadRecord: Decoder<PayloadRecord> = (v, at) => {
  const r = object({
    name: payloadName,
    sha256: sha256Hex,
    payload: payloadModel,
    funcs: array(object({ oldAddr: s64, newAddr: s64, location: nullable(object({ symbol: symbolName, offset: count })) })),
    textAddr: u64,
    rwAddr: u64,
    roAddr: u64,
    pages: count,
    newSymbols: strings(),
    state: literal('CHECKED', 'APPLIED'),
    rc: integer(...INT32),
    reverted: boolean,
    applied: array(boolean),
    patchOffset: array(integer(0, 64)),
    saved: array(nullable(bytes(1 << 16))),
  })(v, at);
  const n = r.payload.funcs.length;
  for (const k of ['funcs', 'applied', 'patchOffset', 'saved'] as const) {
    if (r[k].length !== n) throw new DecodeError(`${at}.${k}`, `one entry per function of the payload (${n}), not ${r[k].length}`);
  }
  return r as PayloadRecord;
};

const hookScript: Decoder<HookScript> = object({
  rc: optional(
    either(
      integer(...INT32),
      refine(array(integer(...INT32), 1 << 16), (a) => a.length > 0, 'a non-empty list'),
      'an int or a non-empty list of ints',
    ),
  ),
  printk: optional(strings(1 << 16)),
  printkAfter: optional(strings(1 << 16)),
  fstate: optional(literal('consistent', 'applied', 'not-applied', 'unchanged')),
  calls: optional(array(literal('revert_payload', 'revert_payload_tail'), 1 << 16)),
  bug: optional(either(literal(true), string(4096), 'true or a location')),
}) as Decoder<HookScript>;

const hookRule: Decoder<HookRule<HookScript>> = object({
  id: integer(0),
  selector: object({ payload: optional(payloadName), kind: optional(hookKind), symbol: optional(symbolName) }),
  behaviour: hookScript,
  calls: integer(0),
}) as Decoder<HookRule<HookScript>>;

const consoleRing = (at: string, v: unknown) => {
  const c = object({
    size: integer(64, 1 << 30),
    consumer: integer(0),
    producer: integer(0),
    data: matching(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
  })(v, at);
  const length = Buffer.from(c.data, 'base64').length;
  if (c.consumer > c.producer || c.producer - c.consumer !== length || length > c.size) {
    throw new DecodeError(at, `a console ring whose indexes (${c.consumer}..${c.producer}) match its ${length} bytes and size ${c.size}`);
  }
  return c;
};

const machineFields = object({
  payloads: array(payloadRecord, 1 << 16),
  applied: array(payloadName, 1 << 16),
  pending: nullable(
    object({
      name: payloadName,
      cmd: literal('APPLY', 'REVERT', 'REPLACE'),
      timeoutNs: integer(0, 0xffff_ffff),
      scheduledAt: number(0),
      dueAt: number(0),
    }),
  ),
  payloadVersion: integer(1, 0xffff_ffff),
  nextVa: u64,
  memory: dictionary(symbolName, bytes(1 << 16), 1 << 16),
  console: (v, at) => consoleRing(at, v),
  panic: nullable(string(1 << 16)),
  hookRules: array(hookRule, 1 << 16),
  nextRuleId: integer(1),
  hookCalls: array(
    object({
      seq: integer(0),
      payload: payloadName,
      kind: hookKind,
      symbol: nullable(symbolName),
      index: count,
      rc: nullable(integer(...INT32)),
      payloadRc: integer(...INT32),
    }),
    HOOK_CALLS_KEPT,
  ),
  hookSeq: integer(0),
  warnings: array(
    object({
      seq: integer(0),
      kind: literal('unresolved-symbols', 'expectation-unverifiable', 'unsupported-debug-key'),
      payload: nullable(payloadName),
      message: string(1 << 16),
    }),
    WARNINGS_KEPT,
  ),
  warningSeq: integer(0),
});

/** The machine, with the invariants the simulator relies on: unique names, a stack of applied payloads, pending work on a loaded one. */
export function decodeMachine(v: unknown, at = 'machine'): MachineState {
  const m = machineFields(v, at) as MachineState;
  const byName = new Map<string, PayloadRecord>();
  for (const p of m.payloads) {
    if (byName.has(p.name)) throw new DecodeError(`${at}.payloads`, `unique payload names (${JSON.stringify(p.name)} appears twice)`);
    byName.set(p.name, p);
  }
  if (new Set(m.applied).size !== m.applied.length) throw new DecodeError(`${at}.applied`, 'each payload at most once on the stack');
  for (const n of m.applied) {
    if (byName.get(n)?.state !== 'APPLIED')
      throw new DecodeError(`${at}.applied`, `applied payloads only (${JSON.stringify(n)} is not loaded and APPLIED)`);
  }
  for (const p of m.payloads) {
    if (p.state === 'APPLIED' && !m.applied.includes(p.name))
      throw new DecodeError(`${at}.applied`, `every APPLIED payload (${JSON.stringify(p.name)} is missing)`);
  }
  if (m.pending && !byName.has(m.pending.name))
    throw new DecodeError(`${at}.pending.name`, `a loaded payload (${JSON.stringify(m.pending.name)} is not)`);
  // Work is due after the quiesce delay and at most the action's u32-ns timeout: anything later is
  // no work this mock scheduled (and a timer that far out would overflow).
  if (
    m.pending &&
    !(m.pending.dueAt >= m.pending.scheduledAt && m.pending.dueAt - m.pending.scheduledAt <= MAX_QUIESCE_MS + 0xffff_ffff / 1e6)
  ) {
    throw new DecodeError(`${at}.pending.dueAt`, `a time from scheduledAt to ${MAX_QUIESCE_MS + 4295} ms after it`);
  }
  return m;
}

/** The stored identity (its symbol table lives in symbols.json), validated as `resolveIdentity` validates a new one. */
export function decodeStoredIdentity(
  v: unknown,
  at = 'identity',
): Omit<MockIdentity, 'symbols'> & { symbols: { file: string; sha256: string; count: number } | null } {
  const id = object({
    buildId: buildIdHex,
    version: object({ major: integer(0, 0xffff), minor: integer(0, 0xffff), extra: string(256) }),
    symbols: nullable(object({ file: literal('symbols.json'), sha256: sha256Hex, count: integer(0) })),
    memory: dictionary(symbolName, matching(/^(?:[0-9a-f]{2}){1,1024}$/, 'bytes in lowercase hex'), 1 << 16),
    quiesceMs: number(0, MAX_QUIESCE_MS),
    rendezvousNs: number(0, MAX_RENDEZVOUS_NS),
    cpus: integer(1, 4096),
    loglvl: string(64),
    conringSize: integer(1024, 1 << 30),
    vmEventWaitqueueDomain: nullable(integer(0, 0x7fff)),
  })(v, at);
  try {
    // The same rules as a new identity (version supported, loglvl valid, ...).
    resolveIdentity({ ...id, symbols: null, memory: { ...id.memory } });
  } catch (e) {
    if (e instanceof MockConfigError) throw new DecodeError(at, `a valid identity (${e.message})`);
    throw e;
  }
  return { ...id, memory: { ...id.memory } };
}

/** symbols.json: `{name: hex address}`. */
export const decodeSymbols: Decoder<Map<string, bigint>> = (v, at) => {
  const d = dictionary(symbolName, matching(/^[0-9a-f]{1,16}$/, 'an address in hex (at most 16 digits)'))(v, at);
  return new Map(Object.entries(d).map(([k, hex]) => [k, BigInt(`0x${hex}`)]));
};
