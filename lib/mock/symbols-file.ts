/** Reads a hypervisor symbol table in `nm` format for a mock identity (preflight's parser). */
import { readFile } from 'node:fs/promises';
import { parseNmSymbols, type SymbolTable } from '../xen/symbols.js';
import { MockConfigError } from './errors.js';

export async function readNmSymbols(path: string): Promise<SymbolTable> {
  const { symbols, errors } = parseNmSymbols(await readFile(path, 'latin1'));
  if (symbols.size === 0) {
    throw new MockConfigError(`${path} has no symbols in nm format ("<address> <type> <name>" lines)${errors[0] ? `; line ${errors[0].line} reads ${JSON.stringify(errors[0].text)}` : ''}`);
  }
  return symbols;
}
