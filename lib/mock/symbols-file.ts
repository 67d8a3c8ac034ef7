/**
 * Reads a hypervisor symbol table in `nm` format (`/proc/xen/xensyms`: `%016lx %c %s`), for the
 * mock identity. Only lines of the form "<hex address> <type letter> <name>" count; undefined
 * symbols (`U`, no address) and local `file.o#name` duplicates keep their first address.
 */
import { readFile } from 'node:fs/promises';
import type { SymbolTable } from '../preflight/types.js';
import { MockConfigError } from './errors.js';

export function parseNmSymbols(text: string): SymbolTable {
  const table = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-fA-F]{1,16})\s+([A-Za-z?])\s+(\S+)\s*$/.exec(line);
    if (!m || m[2] === 'U' || m[2] === 'u') continue;
    if (!table.has(m[3]!)) table.set(m[3]!, BigInt(`0x${m[1]}`));
  }
  return table;
}

export async function readNmSymbols(path: string): Promise<SymbolTable> {
  const table = parseNmSymbols(await readFile(path, 'utf8'));
  if (table.size === 0) throw new MockConfigError(`${path} has no symbols in nm format ("<address> <type> <name>" lines)`);
  return table;
}
