import type { ByteReader, ElfFile, ElfHeader, SectionHeader, StringTable, SymbolTableView } from '../../elf/index.js';
import type { Payload } from '../../payload/index.js';
import type { Findings } from '../findings.js';
import type { PreflightContext } from '../types.js';
import type { XenFlavor } from '../xen-version.js';
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
  readonly flavor: XenFlavor;
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
  /**
   * Sections whose relocations Xen refused: their pointer fields are not what the build meant, so
   * checks that read them (functions by name, distances) would only report consequences.
   */
  readonly relocationsFailed: Set<number>;
  /** Undefined symbols and functions-by-name that could not be checked without a symbol table. */
  readonly unverified: { symbols: string[]; funcNames: string[] };
}

export const label = (s: SectionHeader | undefined, index?: number): string => s?.name ?? `[${s?.index ?? index ?? '?'}]`;

/** The hypervisor's symbol lookup (`symbols_lookup_by_name`, then the loaded payloads' new symbols). */
export function lookupSymbol(context: PreflightContext | undefined, name: string): 'found' | 'missing' | 'unknown' {
  if (name === '') return 'missing'; // both lookups return 0 for an empty name
  const xen = context?.xenSymbols;
  if (xen) {
    const v = xen.get(name);
    if (v !== undefined && v !== 0n) return 'found';
  }
  if (context?.loaded?.some((p) => p.symbols.includes(name))) return 'found';
  return xen ? 'missing' : 'unknown';
}
