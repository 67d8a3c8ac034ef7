import { basename } from 'node:path';

/** The name the C tool's `load` uploads a file as: its base name without the last extension. */
export function payloadNameOf(file: string): string {
  return basename(file).replace(/(.)\.[^.]*$/, '$1');
}
