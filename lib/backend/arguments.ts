/**
 * The argument checks every `Backend` makes before anything reaches the hypervisor, as the native
 * addon makes them (native/args.cc): a wrong type is a `TypeError`, a value no hypercall can carry
 * is a `RangeError`, and neither is a `XenError` because no hypercall was made. The mock runs the
 * same checks, so code written against the mock meets the same errors on a real dom0 (found by the
 * real-hypervisor run: the mock used to answer a 128-byte name with EINVAL, an empty name or one
 * holding a NUL with success).
 */
import { PAYLOAD_NAME_MAX } from '../xen/domain.js';

const encoder = new TextEncoder();

/** A string without NUL (the addon's RequireCString): debug keys, and names before their own rules. */
export function requireCString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.includes('\0')) throw new RangeError(`${what} must not contain a NUL character`);
  return value;
}

/** A payload name: a non-empty string without NUL, at most 127 bytes of UTF-8 (RequireName). */
export function requirePayloadName(value: unknown, what = 'name'): string {
  const name = requireCString(value, what);
  if (name.length === 0) throw new RangeError(`${what} must not be empty`);
  const bytes = encoder.encode(name).length;
  if (bytes > PAYLOAD_NAME_MAX) throw new RangeError(`${what} is ${bytes} bytes of UTF-8; the limit is ${PAYLOAD_NAME_MAX}`);
  return name;
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

/** An optional boolean option (the native backend's optionalBoolean). */
export function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean`);
  return value;
}
