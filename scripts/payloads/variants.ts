/**
 * Many distinct payloads from one built payload, without gcc: Xen refuses a second payload with the
 * same build-id or the same new symbol names, so each variant gets its own build-id bytes and its
 * new symbols renamed to unique names of the same length (byte edits of .note.gnu.build-id and
 * .strtab; the payload stays valid).
 */
import { loadedPayloadInfo, readPayload } from '../../lib/payload/index.js';

function replaceAll(buf: Buffer, from: Buffer, to: Buffer): number {
  let n = 0;
  for (let at = buf.indexOf(from); at !== -1; at = buf.indexOf(from, at + to.length)) {
    to.copy(buf, at);
    n++;
  }
  return n;
}

export interface VariantOptions {
  /**
   * The build-id its `.livepatch.depends` note carries instead (to stack variants on one another):
   * the payload must have been built with a depends note of the same length that no other note
   * repeats (a placeholder).
   */
  readonly depends?: string;
}

export function payloadVariant(bytes: Uint8Array, i: number, options: VariantOptions = {}): Uint8Array {
  const { payload } = readPayload(bytes);
  if (!payload?.buildId) throw new Error('payloadVariant needs a payload with a build-id');
  const out = Buffer.from(bytes);
  if (options.depends !== undefined) {
    const from = payload.depends;
    if (!from || from === payload.buildId || from === payload.xenDepends)
      throw new Error('payloadVariant needs a placeholder depends note to change it');
    const to = Buffer.from(options.depends, 'hex');
    if (to.length !== from.length / 2)
      throw new Error(`the depends note holds ${from.length / 2} bytes; ${options.depends} does not fit it`);
    if (replaceAll(out, Buffer.from(from, 'hex'), to) !== 1) throw new Error('the depends placeholder is not found exactly once');
  }
  const id = Buffer.from(payload.buildId, 'hex');
  const fresh = Buffer.alloc(id.length);
  fresh.writeUInt32BE(i >>> 0, 0);
  fresh.write('variant', 4);
  if (replaceAll(out, id, fresh) === 0) throw new Error('build-id bytes not found');
  for (const name of loadedPayloadInfo('x', payload).symbols) {
    const tag = `_${i.toString(36)}`;
    if (tag.length >= name.length) throw new Error(`symbol ${name} too short to rename`);
    const renamed = `${name.slice(0, name.length - tag.length)}${tag}`;
    replaceAll(out, Buffer.from(`\0${name}\0`), Buffer.from(`\0${renamed}\0`));
  }
  return new Uint8Array(out);
}
