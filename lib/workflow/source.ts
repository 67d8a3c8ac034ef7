import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { ERRNO, errnoMessage } from '../xen/errno.js';
import { PayloadFileError, PreflightError } from './errors.js';
import { validatePayloadName } from './names.js';
import type { PayloadSource } from './types.js';

/** The name the C tool's `load` uploads a file as: its base name without the last extension. */
export function payloadNameOf(file: string): string {
  return basename(file).replace(/(.)\.[^.]*$/, '$1');
}

/**
 * Reads a payload from a file (size-checked before it is read whole: Xen takes at most 2 MiB) or
 * takes the bytes given, and settles its name. The file is opened without blocking (a FIFO or a
 * device is refused, not waited on) and read in a loop up to the size it had when checked.
 */
export async function readSource(source: PayloadSource, name?: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source !== 'string') {
    if (name === undefined) throw new TypeError('a payload given as bytes needs a name');
    validatePayloadName(name);
    if (source.length > PAYLOAD_MAX_SIZE) throw tooLarge(name, `the payload is ${source.length} bytes`);
    return { bytes: source, name };
  }
  const derived = name ?? payloadNameOf(source);
  validatePayloadName(derived);
  let fh;
  try {
    fh = await open(source, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (e) {
    const errno = -((e as NodeJS.ErrnoException).errno ?? -ERRNO.EIO);
    throw new PayloadFileError(source, derived, errno, errnoMessage(errno).toLowerCase());
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new PayloadFileError(source, derived, st.isDirectory() ? ERRNO.EISDIR : ERRNO.EINVAL, 'not a regular file');
    if (st.size > PAYLOAD_MAX_SIZE) throw tooLarge(derived, `${source} is ${st.size} bytes`);
    const bytes = Buffer.alloc(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await fh.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: bytes.subarray(0, filled), name: derived };
  } finally {
    await fh.close();
  }
}

function tooLarge(name: string, what: string): PreflightError {
  return new PreflightError(
    name,
    [
      {
        code: 'payload-too-large',
        check: 'upload',
        group: 'upload',
        severity: 'error',
        errno: ERRNO.EINVAL,
        message: `${what}; Xen accepts payloads of at most ${PAYLOAD_MAX_SIZE} bytes (2 MiB)`,
      },
    ],
    false,
  );
}
