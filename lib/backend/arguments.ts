/**
 * The argument checks every `Backend` makes before anything reaches the hypervisor, as the native
 * addon makes them (native/args.cc): a wrong type is a `TypeError`, a value no hypercall can carry
 * is a `RangeError`, and neither is a `XenError` because no hypercall was made. The mock runs the
 * same checks, so code written against the mock meets the same errors on a real dom0 (found by the
 * real-hypervisor run: the mock used to answer a 128-byte name with EINVAL, an empty name or one
 * holding a NUL with success).
 */
import { PAYLOAD_NAME_MAX } from '../xen/domain.js';
import type { PayloadName } from './backend.js';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** Strings up to this many UTF-16 code units are measured exactly; longer ones are refused on length. */
const MEASURE_LIMIT = 4096;

/** At most this many keys per `sendDebugKeys` (Xen presses them all inside one hypercall). */
export const DEBUG_KEYS_MAX = 64;

/**
 * A string without NUL of at most `maxBytes` of UTF-8 (the addon's RequireCString). Its length is
 * checked before it is encoded: a string cannot take fewer bytes of UTF-8 than it has code units.
 */
export function requireCString(value: unknown, what: string, maxBytes = Number.POSITIVE_INFINITY): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.length > maxBytes) {
    const size =
      value.length <= MEASURE_LIMIT
        ? `${encoder.encode(value).length} bytes of UTF-8; the limit is ${maxBytes}`
        : `${value.length} UTF-16 code units; the limit is ${maxBytes} bytes of UTF-8`;
    throw new RangeError(`${what} is ${size}`);
  }
  if (Number.isFinite(maxBytes)) {
    const bytes = encoder.encode(value).length;
    if (bytes > maxBytes) throw new RangeError(`${what} is ${bytes} bytes of UTF-8; the limit is ${maxBytes}`);
  }
  if (value.includes('\0')) throw new RangeError(`${what} must not contain a NUL character`);
  return value;
}

/**
 * A payload name (RequireName): a non-empty string without NUL of at most 127 bytes of UTF-8, or a
 * Uint8Array of 1 to 127 bytes without a NUL byte.
 */
export function requirePayloadName(value: unknown, what = 'name'): PayloadName {
  if (value instanceof Uint8Array) {
    if (value.length > PAYLOAD_NAME_MAX) throw new RangeError(`${what} is ${value.length} bytes; the limit is ${PAYLOAD_NAME_MAX}`);
    if (value.includes(0)) throw new RangeError(`${what} must not contain a NUL byte`);
    if (value.length === 0) throw new RangeError(`${what} must not be empty`);
    return value;
  }
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string or a Uint8Array`);
  const name = requireCString(value, what, PAYLOAD_NAME_MAX);
  if (name.length === 0) throw new RangeError(`${what} must not be empty`);
  return name;
}

/**
 * A checked payload name as text, for a backend that keeps names as text (the mock): bytes must be
 * UTF-8, since no text names a payload whose name is not.
 */
export function textName(name: PayloadName, what = 'name'): string {
  if (typeof name === 'string') return name;
  try {
    return strictDecoder.decode(name);
  } catch {
    throw new RangeError(`${what} is not UTF-8; this backend keeps payload names as text`);
  }
}

/** Debug keys: a string without NUL of at most DEBUG_KEYS_MAX bytes (RequireDebugKeys). */
export function requireDebugKeys(value: unknown, what = 'keys'): string {
  return requireCString(value, what, DEBUG_KEYS_MAX);
}

/** Payload bytes: a Buffer or Uint8Array (RequireBytes). */
export function requirePayloadBytes(value: unknown, what = 'payload'): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
  if (value.byteLength > 0xffff_ffff) throw new RangeError(`${what} is larger than 4 GiB - 1`);
  return value;
}

/** An unsigned 32-bit integer (RequireU32), e.g. the action timeout in ns. */
export function requireU32(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number`);
  if (!(value >= 0 && value <= 0xffff_ffff) || Math.trunc(value) !== value) throw new RangeError(`${what} must be an integer from 0 to 4294967295`);
  return value;
}

/** An optional boolean option (`force`, `nodeps`, `incremental`): absent is false. */
export function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean`);
  return value;
}
