import type { Payload } from '../payload/index.js';
import type { Diagnostic, PreflightReport } from '../preflight/index.js';
import { errnoCode } from '../xen/index.js';

/**
 * The `xlp check --json` document (schema "xlp-check/1", documented in docs/check-json.md).
 * Fields are only ever added; bigints are "0x..." strings and bytes are hex, as everywhere in the
 * CLI's JSON.
 */
export const CHECK_SCHEMA = 'xlp-check/1';

export interface CheckContextJson {
  /** `offline`: the file alone; `flags`: --xen-build-id/--symbols; `system`: the running hypervisor (maybe plus flags). */
  readonly source: 'offline' | 'flags' | 'system';
  /** The version the running hypervisor reports (`4.20.5-pre`); system context only. */
  readonly xenVersion?: string;
  readonly xenBuildId?: string | null;
  readonly xenSymbols: number | null;
  readonly loaded: readonly string[] | null;
  readonly notes: readonly string[];
}

export interface DiagnosticJson extends Diagnostic {
  /** The errno's name (`EINVAL`), or null. */
  readonly errnoName: string | null;
}

export interface PayloadSummaryJson {
  readonly buildId: string | null;
  readonly depends: string | null;
  readonly xenDepends: string | null;
  readonly funcEntrySize: number;
  readonly funcs: readonly unknown[];
  readonly hooks: readonly { kind: string; index: number; symbol: string | null; isNull: boolean }[];
  readonly modinfo: { strings: readonly string[]; entries: readonly { key: string; value: string }[] } | null;
  readonly safeToReapply: boolean;
  readonly rwSections: readonly string[];
  readonly vetoingHooks: readonly string[];
  /** The first `UNDEFINED_SYMBOLS_LISTED` undefined symbols; `undefinedSymbolCount` has them all. */
  readonly undefinedSymbols: readonly string[];
  readonly undefinedSymbolCount: number;
}

/** Keeps the JSON of a payload with 100k symbols readable. */
export const UNDEFINED_SYMBOLS_LISTED = 1000;

export interface CheckedPayloadJson {
  readonly file: string;
  readonly name: string;
  readonly size: number;
  /** The payload's own build-id, when it has a readable one. */
  readonly buildId: string | null;
  /** No error and no fatal finding (warnings and infos allowed). */
  readonly ok: boolean;
  readonly fatal: boolean;
  readonly counts: Readonly<Record<'fatal' | 'error' | 'warning' | 'info', number>>;
  readonly uploadError: DiagnosticJson | null;
  readonly diagnostics: readonly DiagnosticJson[];
  readonly payload: PayloadSummaryJson | null;
}

export interface CheckJson {
  readonly schema: typeof CHECK_SCHEMA;
  readonly xenVersion: string;
  readonly context: CheckContextJson;
  readonly ok: boolean;
  readonly payloads: readonly CheckedPayloadJson[];
}

export function diagnosticJson(d: Diagnostic): DiagnosticJson {
  return { ...d, errnoName: d.errno === null ? null : errnoCode(d.errno) };
}

export function countSeverities(ds: readonly Diagnostic[]): Record<'fatal' | 'error' | 'warning' | 'info', number> {
  const c = { fatal: 0, error: 0, warning: 0, info: 0 };
  for (const d of ds) c[d.severity]++;
  return c;
}

export function payloadSummary(p: Payload): PayloadSummaryJson {
  return {
    buildId: p.buildId,
    depends: p.depends,
    xenDepends: p.xenDepends,
    funcEntrySize: p.funcEntrySize,
    funcs: p.funcs.map((f) => ({
      index: f.index,
      name: f.name,
      newSymbol: f.newSymbol,
      newAddr: f.newAddr,
      oldSymbol: f.oldSymbol,
      oldAddr: f.oldAddr,
      newSize: f.newSize,
      oldSize: f.oldSize,
      version: f.version,
      isNop: f.isNop,
      expect: f.expect && { enabled: f.expect.enabled, len: f.expect.len, rsv: f.expect.rsv, data: Buffer.from(f.expect.data.subarray(0, Math.min(f.expect.len, 31))).toString('hex') },
    })),
    hooks: p.hooks.map((h) => ({ kind: h.kind, index: h.index, symbol: h.symbol, isNull: h.isNull })),
    modinfo: p.modinfo && { strings: p.modinfo.strings, entries: p.modinfo.entries },
    safeToReapply: p.safeToReapply,
    rwSections: p.rwSections,
    vetoingHooks: p.vetoingHooks,
    undefinedSymbols: p.undefinedSymbols.slice(0, UNDEFINED_SYMBOLS_LISTED),
    undefinedSymbolCount: p.undefinedSymbols.length,
  };
}

/** `withPayload`: include the payload summary (JSON output); the text report does not need it. */
export function checkedPayloadJson(file: string, name: string, size: number, r: PreflightReport, withPayload = true): CheckedPayloadJson {
  const counts = countSeverities(r.diagnostics);
  return {
    file,
    name,
    size,
    buildId: r.payload?.buildId ?? null,
    ok: counts.error === 0 && counts.fatal === 0,
    fatal: r.fatal,
    counts,
    uploadError: r.uploadError && diagnosticJson(r.uploadError),
    diagnostics: r.diagnostics.map(diagnosticJson),
    payload: withPayload && r.payload ? payloadSummary(r.payload) : null,
  };
}
