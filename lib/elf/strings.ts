import type { ByteReader } from './bytes.js';

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
  }

  /** The string at `offset`, or null when `offset` is outside the table or the string is unterminated. */
  get(offset: number): string | null {
    if (offset < 0 || offset > this.lastNul) return null;
    const from = this.start + offset;
    const nul = this.reader.bytes.indexOf(0, from);
    return this.reader.latin1(from, nul);
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
