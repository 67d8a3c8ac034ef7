import type { Backend } from '../backend/backend.js';
import type { PayloadStatus } from '../xen/domain.js';
import { XenError } from '../xen/errors.js';
import { NotLoadedError } from './errors.js';
import { validatePayloadName } from './names.js';

/** GET, with a payload that is not loaded said plainly (NotLoadedError). */
export async function statusOf(backend: Backend, name: string): Promise<PayloadStatus> {
  try {
    return await backend.get(name);
  } catch (error) {
    if (error instanceof XenError && error.code === 'ENOENT') throw new NotLoadedError(name);
    throw error;
  }
}

/** A payload's `{state, rc}`, its name checked first. What `xlp status` needs and no more. */
export async function payloadStatus(backend: Backend, name: string): Promise<PayloadStatus> {
  validatePayloadName(name);
  return statusOf(backend, name);
}
