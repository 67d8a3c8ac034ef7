/**
 * Edits a payload's bytes by field name, to derive malformed payloads from valid ones: header
 * fields, section header fields, symbols, relocation entries, note fields and `.livepatch.funcs`
 * fields are located with the ELF reader and written in place. Tests say *what* they break, never
 * at which magic offset.
 */
import {
  EHDR_FIELDS,
  type EhdrField,
  type ElfFile,
  RELA_FIELDS,
  type RelaField,
  readElf,
  SHDR_FIELDS,
  type ShdrField,
  SYM_FIELDS,
  type SymField,
} from '../../lib/elf/index.js';
import { FUNC_FIELDS, FUNC_SIZE_V2, type FuncField } from '../../lib/payload/index.js';

type Value = number | bigint;

function write(buf: Buffer, offset: number, size: number, value: Value): void {
  switch (size) {
    case 1:
      buf.writeUInt8(Number(value) & 0xff, offset);
      break;
    case 2:
      buf.writeUInt16LE(Number(value) & 0xffff, offset);
      break;
    case 4:
      buf.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(value))), offset);
      break;
    case 8:
      buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)), offset);
      break;
    default:
      throw new Error(`cannot write a ${size}-byte field`);
  }
}

export class ElfPatcher {
  private buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes);
  }

  /** The file as it is now, re-read after every edit. */
  get elf(): ElfFile {
    const { elf } = readElf(this.buf);
    if (!elf) throw new Error('the patched bytes are no longer readable as ELF64');
    return elf;
  }

  bytes(): Buffer {
    return this.buf;
  }

  header(field: EhdrField, value: Value): this {
    const f = EHDR_FIELDS[field];
    write(this.buf, f.offset, f.size, value);
    return this;
  }

  /** Index of a section by name (or the index itself). */
  sectionIndex(section: string | number): number {
    if (typeof section === 'number') return section;
    const s = this.elf.sectionByName(section);
    if (!s) throw new Error(`no section ${section}`);
    return s.index;
  }

  section(section: string | number, field: ShdrField, value: Value): this {
    const s = this.elf.sections[this.sectionIndex(section)]!;
    const f = SHDR_FIELDS[field];
    write(this.buf, s.headerOffset + f.offset, f.size, value);
    return this;
  }

  /** File offset of a section's data. */
  sectionOffset(section: string | number): number {
    return Number(this.elf.sections[this.sectionIndex(section)]!.offset);
  }

  sectionSize(section: string | number): number {
    return Number(this.elf.sections[this.sectionIndex(section)]!.size);
  }

  /** Overwrites bytes inside a section's data. */
  sectionBytes(section: string | number, offset: number, bytes: readonly number[]): this {
    const at = this.sectionOffset(section) + offset;
    for (const [i, b] of bytes.entries()) this.buf[at + i] = b;
    return this;
  }

  /** Index of a symbol by name (first match) or the index itself. */
  symbolIndex(symbol: string | number): number {
    if (typeof symbol === 'number') return symbol;
    const elf = this.elf;
    const t = elf.symbols(elf.symbolTableIndex())!;
    for (let i = 1; i < t.count; i++) if (t.name(i) === symbol) return i;
    throw new Error(`no symbol ${symbol}`);
  }

  symbol(symbol: string | number, field: SymField, value: Value): this {
    const elf = this.elf;
    const t = elf.symbols(elf.symbolTableIndex())!;
    const f = SYM_FIELDS[field];
    write(this.buf, t.entryOffset(this.symbolIndex(symbol)) + f.offset, f.size, value);
    return this;
  }

  rela(section: string | number, index: number, field: RelaField, value: Value): this {
    const view = this.elf.relocations(this.sectionIndex(section));
    if (!view || index >= view.count) throw new Error(`no relocation ${index} in ${section}`);
    const f = RELA_FIELDS[field];
    write(this.buf, view.entryOffset(index) + f.offset, f.size, value);
    return this;
  }

  /** The relocation (in any RELA section applying to `target`) that writes at `offset` of it. */
  relocationAt(target: string, offset: number): { section: number; index: number } {
    const elf = this.elf;
    const t = this.sectionIndex(target);
    for (const s of elf.sections) {
      if (s.info !== t) continue;
      const view = elf.relocations(s.index);
      if (!view) continue;
      for (let i = 0; i < view.count; i++) if (view.offsetNumber(i) === offset) return { section: s.index, index: i };
    }
    throw new Error(`no relocation at ${target}+${offset}`);
  }

  /** Turns the relocation writing at `target`+`offset` into R_X86_64_NONE: the field keeps its literal bytes. */
  dropRelocation(target: string, offset: number): this {
    const r = this.relocationAt(target, offset);
    return this.rela(r.section, r.index, 'r_type', 0);
  }

  /** A field of the first note of a section. */
  note(section: string, field: 'namesz' | 'descsz' | 'type', value: Value): this {
    const off = { namesz: 0, descsz: 4, type: 8 }[field];
    write(this.buf, this.sectionOffset(section) + off, 4, value);
    return this;
  }

  /** A field of `.livepatch.funcs` entry `index` (version 2 layout). */
  func(index: number, field: FuncField, value: Value): this {
    const f = FUNC_FIELDS[field];
    write(this.buf, this.sectionOffset('.livepatch.funcs') + index * FUNC_SIZE_V2 + f.offset, f.size === 31 ? 1 : f.size, value);
    return this;
  }

  truncate(length: number): this {
    this.buf = this.buf.subarray(0, length);
    return this;
  }

  /** Appends zero bytes (the section table stays where it is). */
  pad(extra: number): this {
    this.buf = Buffer.concat([this.buf, Buffer.alloc(extra)]);
    return this;
  }
}

export const patch = (bytes: Uint8Array): ElfPatcher => new ElfPatcher(bytes);
