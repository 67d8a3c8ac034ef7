import { ByteReader, hex, saturate } from './bytes.js';
import {
  EHDR_SIZE,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SYM_SIZE,
} from './constants.js';
import { type ElfHeader, readElfHeader } from './header.js';
import { readNotes, type NoteParse } from './notes.js';
import { RelocationView } from './relocations.js';
import { readSectionHeaders, type SectionHeader, sectionHeaderCount, sectionInFile } from './sections.js';
import { StringTable } from './strings.js';
import { SymbolTableView } from './symbols.js';

/** Something the reader could not read as ELF. Structural, not a judgement on the payload. */
export interface ElfIssue {
  readonly code:
    | 'truncated-header'
    | 'not-elf'
    | 'unsupported-class'
    | 'unsupported-byte-order'
    | 'bad-section-header-size'
    | 'section-table-out-of-bounds'
    | 'section-names-unreadable'
    | 'section-out-of-bounds'
    | 'bad-entry-size'
    | 'string-table-unreadable';
  readonly message: string;
  readonly section?: number;
  readonly offset?: number;
}

/**
 * An ELF64 little-endian file read in place. Section headers are decoded eagerly (there are at most
 * as many as the file can hold); symbols, relocations and notes are views decoded on demand.
 */
export class ElfFile {
  readonly reader: ByteReader;
  readonly header: ElfHeader;
  readonly sections: readonly SectionHeader[];
  /** Issues met while reading the section table. */
  readonly issues: readonly ElfIssue[];

  constructor(reader: ByteReader, header: ElfHeader, sections: readonly SectionHeader[], issues: readonly ElfIssue[]) {
    this.reader = reader;
    this.header = header;
    this.sections = sections;
    this.issues = issues;
  }

  get bytes(): Uint8Array {
    return this.reader.bytes;
  }

  /** The first section (index >= 1) with this name, as the hypervisor looks sections up. */
  sectionByName(name: string): SectionHeader | undefined {
    for (let i = 1; i < this.sections.length; i++) if (this.sections[i]!.name === name) return this.sections[i];
    return undefined;
  }

  /** The section's bytes, or null when it has none in the file (NOBITS, or out of bounds). */
  data(s: SectionHeader): Uint8Array | null {
    return sectionInFile(this.reader, s) ? this.reader.slice(Number(s.offset), Number(s.size)) : null;
  }

  /** A string table over section `index`, or null when it is not a readable STRTAB. */
  stringTable(index: number): StringTable | null {
    const s = this.sections[index];
    if (!s || s.type !== SHT_STRTAB || !sectionInFile(this.reader, s)) return null;
    return new StringTable(this.reader, Number(s.offset), Number(s.size));
  }

  private readonly symbolViews = new Map<number, SymbolTableView | null>();

  /**
   * The symbols of a SYMTAB section; null when its entry size is too small or it is not in the
   * file. The same view is returned every time, so indexes built over it can be shared.
   */
  symbols(index: number): SymbolTableView | null {
    let v = this.symbolViews.get(index);
    if (v === undefined) this.symbolViews.set(index, (v = this.readSymbols(index)));
    return v;
  }

  private readSymbols(index: number): SymbolTableView | null {
    const s = this.sections[index];
    if (!s || s.type !== SHT_SYMTAB || s.entsize < BigInt(SYM_SIZE) || !sectionInFile(this.reader, s)) return null;
    const entsize = saturate(s.entsize);
    const count = Math.floor(Number(s.size) / entsize);
    return new SymbolTableView(this.reader, index, Number(s.offset), entsize, count, this.stringTable(s.link));
  }

  /** The entries of a REL/RELA section; null when its entry size is too small or it is not in the file. */
  relocations(index: number): RelocationView | null {
    const s = this.sections[index];
    if (!s || (s.type !== SHT_RELA && s.type !== SHT_REL) || !sectionInFile(this.reader, s)) return null;
    const min = s.type === SHT_RELA ? RELA_SIZE : REL_SIZE;
    if (s.entsize < BigInt(min)) return null;
    const entsize = saturate(s.entsize);
    const count = Math.floor(Number(s.size) / entsize);
    return new RelocationView(this.reader, index, Number(s.offset), entsize, count, s.type === SHT_RELA);
  }

  /** The notes of a section (any type: Xen's dependency notes live in PROGBITS sections). */
  notes(s: SectionHeader): NoteParse | null {
    if (!sectionInFile(this.reader, s)) return null;
    return readNotes(this.reader, Number(s.offset), Number(s.size));
  }

  /** The first SYMTAB section, as the hypervisor picks it. */
  symbolTableIndex(): number {
    for (let i = 1; i < this.sections.length; i++) if (this.sections[i]!.type === SHT_SYMTAB) return i;
    return -1;
  }
}

export interface ElfReadResult {
  /** The file, when it is ELF64 little-endian with a readable header; sections may still be partial. */
  readonly elf: ElfFile | null;
  /** The header as the hypervisor reads it (ELF64 little-endian layout), when the file has 64 bytes. */
  readonly header: ElfHeader | null;
  readonly issues: readonly ElfIssue[];
}

/**
 * Reads an ELF file in place. Never throws on malformed input: what cannot be read becomes an
 * `ElfIssue`, and ELF32 or big-endian files are recognised and refused rather than misread.
 */
export function readElf(bytes: Uint8Array): ElfReadResult {
  const r = new ByteReader(bytes);
  const header = readElfHeader(r);
  if (!header)
    return {
      elf: null,
      header: null,
      issues: [{ code: 'truncated-header', message: `the file has ${r.length} bytes, fewer than an ELF64 header (${EHDR_SIZE})` }],
    };
  if (!header.magicOk)
    return { elf: null, header, issues: [{ code: 'not-elf', message: 'the file does not start with the ELF magic bytes', offset: 0 }] };
  if (header.class !== ELFCLASS64) {
    const what = header.class === ELFCLASS32 ? 'ELF32' : `ELF class ${header.class}`;
    return {
      elf: null,
      header,
      issues: [{ code: 'unsupported-class', message: `${what} files are not supported: payloads are ELF64`, offset: 4 }],
    };
  }
  if (header.data !== ELFDATA2LSB) {
    const what = header.data === ELFDATA2MSB ? 'big-endian' : `data encoding ${header.data}`;
    return {
      elf: null,
      header,
      issues: [{ code: 'unsupported-byte-order', message: `${what} files are not supported: payloads are little-endian`, offset: 5 }],
    };
  }

  const issues: ElfIssue[] = [];
  if (header.shnum > 0 && header.shentsize < SHDR_SIZE) {
    issues.push({
      code: 'bad-section-header-size',
      message: `e_shentsize is ${header.shentsize}, smaller than a section header (${SHDR_SIZE})`,
    });
  }
  const count = sectionHeaderCount(r, header);
  if (count < header.shnum && header.shentsize >= SHDR_SIZE) {
    issues.push({
      code: 'section-table-out-of-bounds',
      message: `e_shnum is ${header.shnum} but the file holds only ${count} section headers at ${hex(header.shoff)}`,
      offset: 40,
    });
  }
  const raw = readSectionHeaders(r, header, count);
  const names = header.shstrndx < raw.length ? stringTableOf(r, raw[header.shstrndx]!) : null;
  if (raw.length > 0 && !names) {
    issues.push({ code: 'section-names-unreadable', message: `section ${header.shstrndx} (e_shstrndx) is not a readable string table` });
  }
  const sections: SectionHeader[] = raw.map((s) => ({ ...s, name: names?.get(s.nameOffset) ?? null }));
  for (const s of sections) {
    if (s.index > 0 && s.type !== SHT_NOBITS && !sectionInFile(r, s)) {
      issues.push({
        code: 'section-out-of-bounds',
        message: `section ${s.index} (${s.name ?? '?'}) lies outside the file`,
        section: s.index,
      });
    }
  }
  return { elf: new ElfFile(r, header, sections, issues), header, issues };
}

function stringTableOf(r: ByteReader, s: Omit<SectionHeader, 'name'>): StringTable | null {
  if (s.type !== SHT_STRTAB || !sectionInFile(r, s)) return null;
  return new StringTable(r, Number(s.offset), Number(s.size));
}
