/**
 * `readelf -W` as an oracle: its section, symbol, relocation and note listings parsed into plain
 * records the ELF reader's output is compared with.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OracleSection {
  index: number;
  name: string;
  type: string;
  offset: number;
  size: number;
  entsize: number;
  flags: string;
  link: number;
  info: number;
  align: number;
}
export interface OracleSymbol {
  num: number;
  value: bigint;
  size: bigint;
  type: string;
  bind: string;
  ndx: string;
  name: string;
}
export interface OracleRelocation {
  offset: bigint;
  info: bigint;
  type: string;
}
export interface OracleNote {
  section: string;
  owner: string;
  descsz: number;
  buildId: string | null;
}

export async function readelf(path: string, flag: string): Promise<string> {
  const { stdout } = await run('readelf', ['-W', flag, path], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

export async function oracleSections(path: string): Promise<OracleSection[]> {
  return parseSections(await readelf(path, '-S'));
}

/** The section lines of `readelf -W -S` output (other lines are ignored). */
export function parseSections(text: string): OracleSection[] {
  const out: OracleSection[] = [];
  const re =
    /^\s*\[\s*(\d+)\]\s(.{17,}?)\s+([A-Z_0-9]+|0x[0-9a-f]+)\s+([0-9a-f]{16})\s([0-9a-f]+)\s([0-9a-f]+)\s([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({
      index: Number(m[1]),
      name: m[2]!.trim(),
      type: m[3]!,
      offset: parseInt(m[5]!, 16),
      size: parseInt(m[6]!, 16),
      entsize: parseInt(m[7]!, 16),
      flags: m[8]!,
      link: Number(m[9]),
      info: Number(m[10]),
      align: Number(m[11]),
    });
  }
  return out;
}

export async function oracleSymbols(path: string): Promise<OracleSymbol[]> {
  return parseSymbols(await readelf(path, '-s'));
}

/** The symbol lines of `readelf -W -s` output; with `firstTableOnly`, those of the first table listed. */
export function parseSymbols(text: string, firstTableOnly = false): OracleSymbol[] {
  const out: OracleSymbol[] = [];
  const re = /^\s*(\d+):\s([0-9a-f]{16})\s+(\d+|0x[0-9a-f]+)\s(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$/;
  let tables = 0;
  for (const line of text.split('\n')) {
    if (/^Symbol table '/.test(line) && ++tables > 1 && firstTableOnly) break;
    const m = re.exec(line);
    if (!m) continue;
    out.push({ num: Number(m[1]), value: BigInt(`0x${m[2]}`), size: BigInt(m[3]!), type: m[4]!, bind: m[5]!, ndx: m[7]!, name: m[8]! });
  }
  return out;
}

/** Relocations keyed by the relocation section's name. */
export async function oracleRelocations(path: string): Promise<Map<string, OracleRelocation[]>> {
  return parseRelocations(await readelf(path, '-r'));
}

/** Relocations of `readelf -W -r` output, keyed by the relocation section's name. */
export function parseRelocations(text: string): Map<string, OracleRelocation[]> {
  const out = new Map<string, OracleRelocation[]>();
  let current: OracleRelocation[] | undefined;
  for (const line of text.split('\n')) {
    const head = /^Relocation section '([^']+)'/.exec(line);
    if (head) {
      current = [];
      out.set(head[1]!, current);
      continue;
    }
    const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)/.exec(line);
    if (m && current) current.push({ offset: BigInt(`0x${m[1]}`), info: BigInt(`0x${m[2]}`), type: m[3]! });
  }
  return out;
}

export async function oracleNotes(path: string): Promise<OracleNote[]> {
  const out: OracleNote[] = [];
  let section = '';
  for (const line of (await readelf(path, '-n')).split('\n')) {
    const head = /^Displaying notes found in: (\S+)/.exec(line);
    if (head) section = head[1]!;
    const m = /^\s+(\S+)\s+0x([0-9a-f]+)\s.*?(?:Build ID: ([0-9a-f]+))?\s*$/.exec(line);
    if (m && section && m[1] !== 'Owner') out.push({ section, owner: m[1]!, descsz: parseInt(m[2]!, 16), buildId: m[3] ?? null });
  }
  return out;
}
