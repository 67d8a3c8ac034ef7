/**
 * The hypervisor's symbol table as dom0 sees it (`/proc/xen/xensyms`, `nm xen-syms`): what
 * preflight resolves undefined symbols against and the mock simulates.
 */

/** The hypervisor symbol table: name -> address (from `/proc/xen/xensyms` or an `nm` listing). */
export type SymbolTable = ReadonlyMap<string, bigint>;

/** A line of an `nm`-format listing that could not be read. */
export interface NmLineError {
  readonly line: number;
  readonly text: string;
}

export interface NmParse {
  readonly symbols: SymbolTable;
  readonly errors: readonly NmLineError[];
}

// `%016lx %c %s`, as /proc/xen/xensyms and `nm` print it; local symbols are `file.o#name`.
const LINE = /^([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)\s*$/;
// `nm` prints undefined symbols without an address.
const UNDEFINED = /^\s+[Uvw]\s+\S+\s*$/;

/**
 * Parses a hypervisor symbol table in `nm` format (`/proc/xen/xensyms`, `nm xen-syms`). Names are
 * kept byte for byte (read the file as latin1), the first definition of a name wins, undefined
 * entries are skipped, and unreadable lines are returned, not thrown.
 */
export function parseNmSymbols(text: string): NmParse {
  const symbols = new Map<string, bigint>();
  const errors: NmLineError[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() === '' || UNDEFINED.test(l)) continue;
    const m = LINE.exec(l);
    if (!m) {
      if (errors.length < 20) errors.push({ line, text: l.length > 120 ? `${l.slice(0, 117)}...` : l });
      continue;
    }
    const name = m[3]!;
    if (!symbols.has(name)) symbols.set(name, BigInt(`0x${m[1]}`));
  }
  return { symbols, errors };
}

/** Writes a symbol table back in the format `parseNmSymbols` reads (for tests and the mock). */
export function formatNmSymbols(symbols: SymbolTable, type = 'T'): string {
  let out = '';
  for (const [name, addr] of symbols) out += `${addr.toString(16).padStart(16, '0')} ${type} ${name}\n`;
  return out;
}
