import type { ByteReader, ElfFile, ElfHeader, SectionHeader, StringTable, SymbolTableView } from '../../elf/index.js';
import type { Payload } from '../../payload/index.js';
import type { Findings } from '../findings.js';
import type { PreflightContext } from '../types.js';
import type { XenFeatures, XenVersion } from '../../xen/version.js';
import type { Layout } from './layout.js';

/**
 * What the imitation of the hypervisor's loader knows so far. Each stage reads what earlier
 * stages established and adds its own; a stage that finds the file unusable for what follows
 * (no symbol table, no section names) says so and the sequence stops there, as Xen would.
 */
export interface LoadState {
  readonly bytes: Uint8Array;
  readonly reader: ByteReader;
  /** The name the payload is uploaded as: Xen prints it in every message. */
  readonly name: string;
  /** The Xen version whose loader is imitated: its name for messages, and its features. */
  readonly xen: { readonly version: XenVersion; readonly name: string; readonly has: XenFeatures };
  readonly context: PreflightContext | undefined;
  readonly findings: Findings;
  readonly header: ElfHeader | null;
  readonly elf: ElfFile | null;
  readonly payload: Payload | null;

  /** Set by the sections stage. */
  symtab: SymbolTableView | null;
  symtabIndex: number;
  strtab: StringTable | null;
  /** Set by the layout stage: where `move_payload` places each loaded section. */
  layout: Layout | null;
  /** Per symbol: 1 when Xen marks it ignored (defined in an unloaded section). */
  ignored: Uint8Array | null;
  /** Per symbol: 1 when its resolution failed (COMMON, unknown, bad section): later uses are moot. */
  badSymbol: Uint8Array | null;
  /** Per symbol: where it lies, for the relocation checks' fast path (see relocations.ts). */
  symbolPlaces?: Uint8Array;
  /**
   * Sections whose relocations Xen refused: their pointer fields are not what the build meant, so
   * checks that read them (functions by name, distances) would only report consequences.
   */
  readonly relocationsFailed: Set<number>;
  /** Undefined symbols and functions-by-name that could not be checked without a symbol table. */
  readonly unverified: { symbols: Unverified; funcNames: Unverified };
  /** Every new symbol of the loaded payloads (`livepatch_symbols_lookup_by_name`'s search space). */
  readonly loadedSymbols: ReadonlyMap<string, string>;
}

/** A count and the first few names, so a huge table costs no memory here. */
export class Unverified {
  count = 0;
  readonly first: string[] = [];
  add(name: string): void {
    if (this.count++ < 5) this.first.push(name);
  }
}

/** Symbol name -> name of the loaded payload that added it (the first one, as Xen searches in upload order). */
export function loadedSymbolMap(context: PreflightContext | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of context?.loaded ?? []) for (const n of p.symbols) if (!m.has(n)) m.set(n, p.name);
  return m;
}

export const label = (s: SectionHeader | undefined, index?: number): string => s?.name ?? `[${s?.index ?? index ?? '?'}]`;

/** The hypervisor's symbol lookup (`symbols_lookup_by_name`, then the loaded payloads' new symbols). */
export function lookupSymbol(s: Pick<LoadState, 'context' | 'loadedSymbols'>, name: string): 'found' | 'missing' | 'unknown' {
  if (name === '') return 'missing'; // both lookups return 0 for an empty name
  const xen = s.context?.xenSymbols;
  if (xen) {
    const v = xen.get(name);
    if (v !== undefined && v !== 0n) return 'found';
  }
  if (s.loadedSymbols.has(name)) return 'found';
  return xen ? 'missing' : 'unknown';
}
