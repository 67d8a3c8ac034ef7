/**
 * Little-endian reads over one buffer, without copying. Every ELF structure in this project is read
 * through here, so the two classic Buffer pitfalls are handled once: a Buffer is often a slice of a
 * larger pooled ArrayBuffer (the DataView must use its byteOffset/byteLength), and 64-bit fields
 * do not fit a JS number (they are bigint, or a saturating number for bounds checks).
 */
const TWO_32 = 0x1_0000_0000;
/** Above this high word a u64 is no longer exact as a number. */
const SAFE_HIGH_LIMIT = 0x20_0000;

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  /** The same bytes as a Buffer (zero-copy), for fast latin1 string decoding. */
  readonly buffer: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.length = bytes.byteLength;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when `[offset, offset + size)` lies inside the buffer (all arguments non-negative numbers). */
  has(offset: number, size: number): boolean {
    return offset >= 0 && size >= 0 && offset <= this.length && size <= this.length - offset;
  }

  u8(offset: number): number {
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  i32(offset: number): number {
    return this.view.getInt32(offset, true);
  }
  u64(offset: number): bigint {
    return this.view.getBigUint64(offset, true);
  }
  i64(offset: number): bigint {
    return this.view.getBigInt64(offset, true);
  }

  /**
   * A u64 as a number for bounds checks: exact below 2^53, `Infinity` above, so comparisons such
   * as `offset + size > length` stay correct without bigint arithmetic in hot loops.
   */
  u64n(offset: number): number {
    const high = this.view.getUint32(offset + 4, true);
    if (high >= SAFE_HIGH_LIMIT) return Number.POSITIVE_INFINITY;
    return high * TWO_32 + this.view.getUint32(offset, true);
  }

  /** Bytes `[start, end)` decoded one byte per character (ELF names are bytes, not UTF-8). */
  latin1(start: number, end: number): string {
    return this.buffer.toString('latin1', start, end);
  }

  /**
   * The NUL-terminated string at `start`, searched no further than `end` (exclusive). Returns null
   * when there is no NUL before `end`: the caller decides whether that is an error.
   */
  cString(start: number, end: number): string | null {
    if (start < 0 || start >= end || end > this.length) return null;
    const nul = this.bytes.subarray(start, end).indexOf(0);
    if (nul < 0) return null;
    return this.buffer.toString('latin1', start, start + nul);
  }

  /** A zero-copy view of `[start, start + size)`; the caller has checked the bounds. */
  slice(start: number, size: number): Uint8Array {
    return this.bytes.subarray(start, start + size);
  }
}

/** A bigint as a number when exact, else `Infinity` (for sizes and offsets compared to a file length). */
export function saturate(value: bigint): number {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.POSITIVE_INFINITY;
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
