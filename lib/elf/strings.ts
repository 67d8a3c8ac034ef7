import { type ByteReader, readWork } from './bytes.js';

/** The longest name decoded in full (see `StringTable.get`). */
export const NAME_LIMIT = 512;

/**
 * A string table (`SHT_STRTAB` contents): names are looked up by offset. The last NUL of the
 * table is found once, so every lookup is a forward search that is known to stop inside the
 * table: a table without terminators costs O(size) once, not O(size) per name.
 */
export class StringTable {
  /** File offset of the table and its size in bytes (already bounds-checked by the caller). */
  readonly start: number;
  readonly size: number;
  /** Offset (within the table) of its last NUL byte, or -1 when it has none. */
  private readonly lastNul: number;

  constructor(
    private readonly reader: ByteReader,
    start: number,
    size: number,
  ) {
    this.start = start;
    this.size = size;
    this.lastNul = reader.bytes.subarray(start, start + size).lastIndexOf(0);
    readWork.units += size;
  }

  /**
   * The string at `offset`, or null when `offset` is outside the table or the string is
   * unterminated. A string longer than `NAME_LIMIT` comes back cut at the limit with an ellipsis (U+2026) appended:
   * no real symbol is that long (Xen keeps 127 characters), and an unbounded scan per name would
   * make a table of many references into one huge string quadratic.
   */
  get(offset: number): string | null {
    if (offset < 0 || offset > this.lastNul) return null;
    const from = this.start + offset;
    const bytes = this.reader.bytes;
    const limit = Math.min(from + NAME_LIMIT, this.start + this.lastNul);
    let end = from;
    while (end < limit && bytes[end] !== 0) end++;
    readWork.units += end - from;
    const s = this.reader.latin1(from, end);
    return end === limit && bytes[end] !== 0 ? `${s}…` : s;
  }

  /** Whether the string at `offset` starts with `prefix` (ASCII), without decoding it. */
  startsWith(offset: number, prefix: string): boolean {
    if (offset < 0 || offset + prefix.length > this.size) return false;
    const bytes = this.reader.bytes;
    for (let i = 0; i < prefix.length; i++) if (bytes[this.start + offset + i] !== prefix.charCodeAt(i)) return false;
    return true;
  }

  /** Whether the string at `offset` is empty (its first byte is the NUL). */
  isEmpty(offset: number): boolean {
    return offset >= 0 && offset < this.size && this.reader.bytes[this.start + offset] === 0;
  }
}
