import type { ByteReader } from './bytes.js';
import type { StringTable } from './strings.js';

/** Field offsets in `Elf64_Sym`, for diagnostics and the test byte-patcher. */
export const SYM_FIELDS = {
  st_name: { offset: 0, size: 4 },
  st_info: { offset: 4, size: 1 },
  st_other: { offset: 5, size: 1 },
  st_shndx: { offset: 6, size: 2 },
  st_value: { offset: 8, size: 8 },
  st_size: { offset: 16, size: 8 },
} as const;
export type SymField = keyof typeof SYM_FIELDS;

/**
 * A symbol table read in place: entries are decoded on demand, so a table of 100k symbols costs
 * no object per symbol unless the caller asks for one. `count` is capped by the bytes present.
 */
export class SymbolTableView {
  constructor(
    private readonly r: ByteReader,
    /** Index of the SYMTAB section. */
    readonly sectionIndex: number,
    /** File offset of entry 0. */
    readonly start: number,
    /** Stride between entries (`sh_entsize`, at least 24). */
    readonly entsize: number,
    readonly count: number,
    /** The linked string table, or null when it is unusable (names then read as null). */
    readonly strings: StringTable | null,
  ) {}

  /** File offset of entry `i`. */
  entryOffset(i: number): number {
    return this.start + i * this.entsize;
  }
  nameOffset(i: number): number {
    return this.r.u32(this.entryOffset(i));
  }
  name(i: number): string | null {
    return this.strings?.get(this.nameOffset(i)) ?? null;
  }
  info(i: number): number {
    return this.r.u8(this.entryOffset(i) + 4);
  }
  bind(i: number): number {
    return this.info(i) >> 4;
  }
  type(i: number): number {
    return this.info(i) & 0xf;
  }
  other(i: number): number {
    return this.r.u8(this.entryOffset(i) + 5);
  }
  shndx(i: number): number {
    return this.r.u16(this.entryOffset(i) + 6);
  }
  value(i: number): bigint {
    return this.r.u64(this.entryOffset(i) + 8);
  }
  size(i: number): bigint {
    return this.r.u64(this.entryOffset(i) + 16);
  }
}
