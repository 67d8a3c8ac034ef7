import type { ByteReader } from './bytes.js';

/** Field offsets in `Elf64_Rela`, for diagnostics and the test byte-patcher (`r_sym`/`r_type` split `r_info`). */
export const RELA_FIELDS = {
  r_offset: { offset: 0, size: 8 },
  r_info: { offset: 8, size: 8 },
  r_type: { offset: 8, size: 4 },
  r_sym: { offset: 12, size: 4 },
  r_addend: { offset: 16, size: 8 },
} as const;
export type RelaField = keyof typeof RELA_FIELDS;

/**
 * A REL or RELA section read in place. `r_info` is split as x86-64 does (`ELF64_R_SYM` is the high
 * word, `ELF64_R_TYPE` the low word), so no entry needs a bigint unless its offset or addend is
 * asked for as one.
 */
export class RelocationView {
  constructor(
    private readonly r: ByteReader,
    readonly sectionIndex: number,
    readonly start: number,
    readonly entsize: number,
    readonly count: number,
    /** RELA entries carry an addend; REL entries do not (it is read as 0). */
    readonly hasAddend: boolean,
  ) {}

  /** The entries as 32-bit words (6 per RELA entry of 24 bytes), when aligned: see `ByteReader.words`. */
  words(): Uint32Array | null {
    return this.entsize % 4 === 0 ? this.r.words(this.start, (this.count * this.entsize) / 4) : null;
  }

  entryOffset(i: number): number {
    return this.start + i * this.entsize;
  }
  /** `r_offset` exactly. */
  offset(i: number): bigint {
    return this.r.u64(this.entryOffset(i));
  }
  /** `r_offset` for bounds checks: exact below 2^53, else Infinity. */
  offsetNumber(i: number): number {
    return this.r.u64n(this.entryOffset(i));
  }
  sym(i: number): number {
    return this.r.u32(this.entryOffset(i) + 12);
  }
  type(i: number): number {
    return this.r.u32(this.entryOffset(i) + 8);
  }
  addend(i: number): bigint {
    return this.hasAddend ? this.r.i64(this.entryOffset(i) + 16) : 0n;
  }
  /** The addend as a number when it fits in 32 signed bits (the common case), else NaN. */
  smallAddend(i: number): number {
    if (!this.hasAddend) return 0;
    const at = this.entryOffset(i) + 16;
    const high = this.r.i32(at + 4);
    const low = this.r.u32(at);
    if (high === 0 && low < 0x8000_0000) return low;
    if (high === -1 && low >= 0x8000_0000) return low - 0x1_0000_0000;
    return Number.NaN;
  }
}
