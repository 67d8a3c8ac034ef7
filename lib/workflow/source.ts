import { readRegularFile, ReadFileError } from '../fs/read-file.js';
import { payloadNameOf } from '../payload/file-name.js';
import { PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { ERRNO, errnoMessage } from '../xen/errno.js';
import { PayloadFileError, PreflightError } from './errors.js';
import { validatePayloadName } from './names.js';
import type { PayloadSource } from './types.js';


/**
 * Reads a payload from a file (size-checked before it is read whole: Xen takes at most 2 MiB; a
 * FIFO or a device is refused, not waited on) or takes the bytes given, and settles its name.
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
  try {
    return { bytes: await readRegularFile(source, { maxSize: PAYLOAD_MAX_SIZE }), name: derived };
  } catch (e) {
    if (!(e instanceof ReadFileError)) throw e;
    if (e.problem === 'too-large') throw tooLarge(derived, `${source} is ${e.size} bytes`);
    throw new PayloadFileError(source, derived, e.errno, e.problem === 'not-regular' ? 'not a regular file' : errnoMessage(e.errno).toLowerCase());
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
