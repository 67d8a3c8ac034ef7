/**
 * Little-endian reads over one buffer, without copying. Every ELF structure in this project is read
 * through here, so the two classic Buffer pitfalls are handled once: a Buffer is often a slice of a
 * larger pooled ArrayBuffer (the DataView must use its byteOffset/byteLength), and 64-bit fields
 * do not fit a JS number (they are bigint, or a saturating number for bounds checks).
 */
const TWO_32 = 0x1_0000_0000;

/**
 * A count of the work the reader does: one unit per field read and per byte scanned. Tests use it
 * to assert that reading stays linear in the file size whatever the file says (a machine-load
 * independent stand-in for time); it costs one addition per read.
 */
export const readWork = { units: 0 };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
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
    readWork.units++;
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    readWork.units++;
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    readWork.units++;
    return this.view.getUint32(offset, true);
  }
  i32(offset: number): number {
    readWork.units++;
    return this.view.getInt32(offset, true);
  }
  u64(offset: number): bigint {
    readWork.units++;
    return this.view.getBigUint64(offset, true);
  }
  i64(offset: number): bigint {
    readWork.units++;
    return this.view.getBigInt64(offset, true);
  }

  /**
   * A u64 as a number for bounds checks: exact below 2^53, `Infinity` above, so comparisons such
   * as `offset + size > length` stay correct without bigint arithmetic in hot loops.
   */
  u64n(offset: number): number {
    readWork.units++;
    const high = this.view.getUint32(offset + 4, true);
    if (high >= SAFE_HIGH_LIMIT) return Number.POSITIVE_INFINITY;
    return high * TWO_32 + this.view.getUint32(offset, true);
  }

  /** Bytes `[start, end)` decoded one byte per character (ELF names are bytes, not UTF-8). */
  latin1(start: number, end: number): string {
    readWork.units += end - start;
    return this.buffer.toString('latin1', start, end);
  }

  /**
   * The NUL-terminated string at `start`, searched no further than `end` (exclusive). Returns null
   * when there is no NUL before `end`: the caller decides whether that is an error.
   */
  cString(start: number, end: number): string | null {
    if (start < 0 || start >= end || end > this.length) return null;
    readWork.units += end - start;
    const nul = this.bytes.subarray(start, end).indexOf(0);
    if (nul < 0) return null;
    return this.buffer.toString('latin1', start, start + nul);
  }

  /**
   * The bytes `[start, start + 4 * count)` as 32-bit words, without copying, when they are 4-byte
   * aligned in memory and the host is little-endian (typed-array indexing is much cheaper than
   * DataView calls in hot loops); null otherwise, and callers fall back to `u32`.
   */
  words(start: number, count: number): Uint32Array | null {
    const at = this.bytes.byteOffset + start;
    if (!LITTLE_ENDIAN_HOST || at % 4 !== 0 || !this.has(start, count * 4)) return null;
    readWork.units += count;
    return new Uint32Array(this.bytes.buffer, at, count);
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
