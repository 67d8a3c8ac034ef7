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

/** Every symbol's fields as columns (index = symbol index), decoded once in one pass. */
export interface SymbolColumns {
  readonly nameOffset: Uint32Array;
  readonly info: Uint8Array;
  readonly shndx: Uint16Array;
  /** `st_value`, exact below 2^53, else Infinity. */
  readonly value: Float64Array;
  readonly size: Float64Array;
}

const TWO_32 = 0x1_0000_0000;
const u64 = (low: number, high: number): number => (high >= 0x20_0000 ? Number.POSITIVE_INFINITY : high * TWO_32 + low);

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

  private cols: SymbolColumns | undefined;

  /**
   * All symbols as typed columns: the checks that visit every symbol (100k in a large payload)
   * read these instead of making several DataView calls per symbol each time.
   */
  columns(): SymbolColumns {
    if (this.cols) return this.cols;
    const n = this.count;
    const c = {
      nameOffset: new Uint32Array(n),
      info: new Uint8Array(n),
      shndx: new Uint16Array(n),
      value: new Float64Array(n),
      size: new Float64Array(n),
    };
    const words = this.entsize % 4 === 0 ? this.r.words(this.start, (n * this.entsize) / 4) : null;
    if (words) {
      const stride = this.entsize / 4;
      for (let i = 0, w = 0; i < n; i++, w += stride) {
        c.nameOffset[i] = words[w]!;
        const second = words[w + 1]!; // st_info, st_other, st_shndx (little-endian)
        c.info[i] = second & 0xff;
        c.shndx[i] = second >>> 16;
        c.value[i] = u64(words[w + 2]!, words[w + 3]!);
        c.size[i] = u64(words[w + 4]!, words[w + 5]!);
      }
    } else {
      for (let i = 0; i < n; i++) {
        c.nameOffset[i] = this.nameOffset(i);
        c.info[i] = this.info(i);
        c.shndx[i] = this.shndx(i);
        c.value[i] = this.valueNumber(i);
        c.size[i] = this.sizeNumber(i);
      }
    }
    this.cols = c;
    return c;
  }

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
  /** `st_value` for comparisons in hot loops: exact below 2^53, else Infinity. */
  valueNumber(i: number): number {
    return this.r.u64n(this.entryOffset(i) + 8);
  }
  sizeNumber(i: number): number {
    return this.r.u64n(this.entryOffset(i) + 16);
  }
}
