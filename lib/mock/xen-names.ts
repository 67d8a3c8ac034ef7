/**
 * Payload names and sizes as they reach the hypervisor (the mock's model of libxenctrl and Xen).
 * Both backends first refuse what no hypercall can carry with a TypeError/RangeError
 * (lib/backend/arguments.ts, as the native addon does), so of these rules only the size checks and
 * the name's hypervisor-side semantics are ever reached through a `Backend`.
 *
 * libxenctrl sends `strlen(name) + 1` bytes and refuses more than `XEN_LIVEPATCH_NAME_SIZE` (128,
 * NUL included) with EINVAL before any hypercall; Xen's `get_name` then only insists on the final
 * NUL. There are no character restrictions, an empty name is legal, and since the name travels as a
 * C string an embedded NUL ends it.
 */
import { PAYLOAD_MAX_SIZE, PAYLOAD_NAME_MAX } from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import { type XenCall, XenError } from '../xen/errors.js';

const encoder = new TextEncoder();

/** The name Xen will see for `name` (cut at the first NUL, as a C string is). */
export function cName(name: string): string {
  const nul = name.indexOf('\0');
  return nul === -1 ? name : name.slice(0, nul);
}

/**
 * Validates a payload name for `call` as libxenctrl and Xen do, returning the name Xen sees.
 * Rejects with `XenError(EINVAL)` for a name of more than 127 bytes.
 */
export function checkPayloadName(name: string, call: XenCall): string {
  if (typeof name !== 'string') throw new XenError(call, ERRNO.EINVAL, undefined, `${call}: the payload name must be a string`);
  const c = cName(name);
  if (encoder.encode(c).length > PAYLOAD_NAME_MAX) {
    throw new XenError(call, ERRNO.EINVAL, c, `${call}: payload name of ${encoder.encode(c).length} bytes is longer than Xen's ${PAYLOAD_NAME_MAX} (EINVAL)`);
  }
  return c;
}

/** UPLOAD's size checks (`verify_payload`): empty or over 2 MiB is EINVAL. */
export function checkUploadSize(size: number, name: string): void {
  if (size === 0 || size > PAYLOAD_MAX_SIZE) {
    throw new XenError('upload', ERRNO.EINVAL, name, `upload ${JSON.stringify(name)}: size ${size} is ${size === 0 ? 'zero' : `over Xen's limit of ${PAYLOAD_MAX_SIZE} bytes`} (EINVAL)`);
  }
}
