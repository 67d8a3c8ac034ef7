/**
 * The ELF reader's view of a file against readelf's, for the fuzzer's valid mutants: sections,
 * the symbol table and relocations. Only what both print unambiguously is compared: files readelf
 * warns about, or that hold what it prints in its own notation (unknown section types or flags,
 * names with unprintable bytes, non-standard entry sizes, where readelf uses a fixed entry size and
 * the hypervisor the section's), are left out: `comparable` says so.
 */
import { spawnSync } from 'node:child_process';
import type { ElfFile } from '../../lib/elf/index.js';
import { parseRelocations, parseSections, parseSymbols } from './readelf.js';

/** Section types whose names readelf and `sectionTypeName` both print. */
const TYPES: Readonly<Record<number, string>> = {
  0: 'NULL',
  1: 'PROGBITS',
  2: 'SYMTAB',
  3: 'STRTAB',
  4: 'RELA',
  7: 'NOTE',
  8: 'NOBITS',
  9: 'REL',
  14: 'INIT_ARRAY',
  15: 'FINI_ARRAY',
};
/** Flag letters readelf prints for these bits (others make the section incomparable). */
const FLAGS: readonly (readonly [bigint, string])[] = [
  [0x1n, 'W'],
  [0x2n, 'A'],
  [0x4n, 'X'],
  [0x10n, 'M'],
  [0x20n, 'S'],
  [0x40n, 'I'],
];
const KNOWN_FLAG_BITS = FLAGS.reduce((a, [b]) => a | b, 0n);
const SYM_TYPES: Readonly<Record<number, string>> = { 0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE' };
const SYM_BINDS: Readonly<Record<number, string>> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK' };
const printable = (s: string | null): s is string => s !== null && /^[\x21-\x7e]+$/.test(s);

export interface ReadelfComparison {
  /** False when the file holds something the two print differently by design (see above). */
  readonly comparable: boolean;
  readonly differences: readonly string[];
}

/** Why `elf` cannot be compared with readelf field by field, or null when it can. */
function incomparable(elf: ElfFile): string | null {
  if (elf.issues.length) return 'the reader reported issues';
  let symtabs = 0;
  for (const s of elf.sections) {
    if (!(s.type in TYPES)) return `section ${s.index} has type 0x${s.type.toString(16)}`;
    if (s.flags & ~KNOWN_FLAG_BITS) return `section ${s.index} has flags readelf prints in its own notation`;
    if (s.index > 0 && !printable(s.name)) return `section ${s.index} has no printable name`;
    if (s.type === 2) symtabs++;
    if (s.type === 2 && s.entsize !== 24n) return 'a symbol table with a non-standard entry size';
    if (s.type === 4 && s.entsize !== 24n) return 'a RELA section with a non-standard entry size';
    if (s.type === 9 && s.entsize !== 16n) return 'a REL section with a non-standard entry size';
    if ((s.type === 4 || s.type === 9) && elf.sections[s.link]?.type !== 2) return 'a relocation section not linked to the symbol table';
  }
  if (symtabs !== 1) return `${symtabs} symbol tables`;
  const names = elf.sections.filter((s) => s.type === 4 || s.type === 9).map((s) => s.name);
  if (new Set(names).size !== names.length) return 'two relocation sections share a name';
  return null;
}

/** Runs readelf on `path` (holding `elf`'s bytes) and compares. */
export function compareWithReadelf(elf: ElfFile, path: string): ReadelfComparison {
  if (incomparable(elf)) return { comparable: false, differences: [] };
  const r = spawnSync('readelf', ['-W', '-S', '-s', '-r', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0 || r.stderr.trim() !== '') return { comparable: false, differences: [] };
  const out: string[] = [];
  const diff = (what: string, ours: unknown, theirs: unknown) => {
    if (ours !== theirs) out.push(`${what}: reader ${String(ours)}, readelf ${String(theirs)}`);
  };

  const sections = parseSections(r.stdout);
  diff('section count', elf.sections.length, sections.length);
  for (const o of sections) {
    const s = elf.sections[o.index];
    if (!s) continue;
    const where = `section ${o.index}`;
    if (o.index > 0) diff(`${where} name`, s.name, o.name);
    diff(`${where} type`, TYPES[s.type], o.type);
    diff(`${where} offset`, Number(s.offset), o.offset);
    diff(`${where} size`, Number(s.size), o.size);
    diff(`${where} entsize`, Number(s.entsize), o.entsize);
    diff(
      `${where} flags`,
      FLAGS.filter(([b]) => s.flags & b)
        .map(([, l]) => l)
        .join(''),
      o.flags,
    );
    diff(`${where} link`, s.link, o.link);
    diff(`${where} info`, s.info, o.info);
    diff(`${where} align`, Number(s.addralign), o.align);
  }

  const symtab = elf.symbols(elf.symbolTableIndex());
  const symbols = parseSymbols(r.stdout, true);
  diff('symbol count', symtab?.count ?? 0, symbols.length);
  for (const o of symbols) {
    if (!symtab || o.num >= symtab.count) break;
    const i = o.num;
    const where = `symbol ${i}`;
    // st_other bits beyond the visibility, or a type or binding readelf prints as "<unknown>: n":
    // readelf's columns shift, so such a symbol is not compared.
    const type = SYM_TYPES[symtab.type(i)];
    const bind = SYM_BINDS[symtab.bind(i)];
    if (symtab.other(i) > 3 || !type || !bind) continue;
    diff(`${where} value`, symtab.value(i), o.value);
    diff(`${where} size`, symtab.size(i), o.size);
    diff(`${where} type`, type, o.type);
    diff(`${where} bind`, bind, o.bind);
    const ndx = symtab.shndx(i);
    // An index past the section table: readelf prints "bad section index".
    if (ndx < elf.sections.length || ndx === 0xfff1 || ndx === 0xfff2)
      diff(`${where} section`, ndx === 0 ? 'UND' : ndx === 0xfff1 ? 'ABS' : ndx === 0xfff2 ? 'COM' : String(ndx), o.ndx);
    // readelf names a section symbol by its section; its own st_name is usually empty.
    const name = symtab.name(i);
    if (symtab.type(i) !== 3 && printable(name) && printable(o.name)) diff(`${where} name`, name, o.name);
  }

  const relocations = parseRelocations(r.stdout);
  for (const s of elf.sections) {
    if ((s.type !== 4 && s.type !== 9) || s.size === 0n) continue;
    const view = elf.relocations(s.index);
    // readelf lists no entries when it cannot name their symbols (an empty table or string table,
    // an index past the table).
    const names = elf.sections[elf.sections[elf.symbolTableIndex()]?.link ?? 0];
    let symbolsOk = (symtab?.count ?? 0) > 0 && names?.type === 3 && names.size > 0n;
    for (let i = 0; symbolsOk && view && i < view.count; i++) if (view.sym(i) >= symtab!.count) symbolsOk = false;
    if (!symbolsOk) continue;
    const o = relocations.get(s.name!);
    if (!o) {
      out.push(`relocation section ${s.index} (${s.name}): not listed by readelf`);
      continue;
    }
    diff(`${s.name} entry count`, view?.count ?? 0, o.length);
    for (let i = 0; view && i < Math.min(view.count, o.length); i++) {
      diff(`${s.name} entry ${i} offset`, view.offset(i), o[i]!.offset);
      diff(`${s.name} entry ${i} info`, (BigInt(view.sym(i)) << 32n) | BigInt(view.type(i)), o[i]!.info);
    }
  }
  return { comparable: true, differences: out };
}
