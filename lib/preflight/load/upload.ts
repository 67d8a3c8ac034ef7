import { PAYLOAD_MAX_SIZE, PAYLOAD_NAME_MAX } from '../../xen/domain.js';
import type { Findings } from '../findings.js';
import type { PreflightContext } from '../types.js';

/** The name as libxenctrl passes it: a C string, so it ends at the first NUL. */
export function effectiveName(name: string): string {
  const nul = name.indexOf('\0');
  return nul < 0 ? name : name.slice(0, nul);
}

/**
 * `xc_livepatch_upload` and `livepatch_upload` before any parsing: the name (libxenctrl refuses a
 * name of 128 bytes or more), the size, and a duplicate name. None of these print anything.
 * Returns false when there is nothing to parse.
 */
export function checkUpload(f: Findings, size: number, name: string | undefined, context: PreflightContext | undefined): boolean {
  if (name !== undefined) {
    const bytes = Buffer.byteLength(effectiveName(name), 'utf8');
    if (bytes > PAYLOAD_NAME_MAX)
      f.add('name-too-long', `The name is ${bytes} bytes long; the most Xen takes is ${PAYLOAD_NAME_MAX}.`, { field: 'name' });
  }
  if (size === 0) {
    f.add('payload-empty', 'The payload file is empty.');
    return false;
  }
  if (size > PAYLOAD_MAX_SIZE) f.add('payload-too-large', `The payload is ${size} bytes; Xen takes at most ${PAYLOAD_MAX_SIZE} (2 MiB).`);
  if (name !== undefined && context?.loaded?.some((p) => p.name === effectiveName(name))) {
    f.add('duplicate-name', `A payload named "${effectiveName(name)}" is already uploaded.`, { field: 'name' });
  }
  return true;
}
