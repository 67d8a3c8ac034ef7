/**
 * Payload names that are not UTF-8. Xen takes any bytes but NUL as a name, and LIST's text form
 * decodes them lossily: names `ff`, `fe` and `ef bf bd` all read "\uFFFD". Such a name is addressed
 * exactly by its bytes (`PayloadListEntry.nameBytes`); a text name that several payloads read as is
 * refused instead of hitting whichever payload happens to be encoded that way.
 */
import type { PayloadListEntry, PayloadName } from '../backend/backend.js';
import { PAYLOAD_NAME_MAX } from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import { type XenCall, XenError } from '../xen/errors.js';

const REPLACEMENT = '\uFFFD';
const lossy = new TextDecoder('utf-8');

/** The text form of a name, as LIST shows it. */
export function nameText(name: PayloadName): string {
  return typeof name === 'string' ? name : lossy.decode(name);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A text name that more than one payload reads as: say which bytes, and act on none of them. */
export class AmbiguousNameError extends XenError {
  override readonly name: string = 'AmbiguousNameError';
  /** The exact names (bytes) of the payloads that read as `payload`. */
  readonly candidates: readonly Uint8Array[];

  constructor(call: XenCall, text: string, candidates: readonly Uint8Array[]) {
    super(
      call,
      ERRNO.ENOTUNIQ,
      text,
      `${call} ${JSON.stringify(text)}: ${candidates.length} payloads have names that read as this text ` +
        `(bytes ${candidates.map(hex).join(', ')}), so it names none of them; pass the name's bytes ` +
        `(list()[i].nameBytes) instead (ENOTUNIQ, errno ${ERRNO.ENOTUNIQ})`,
    );
    this.candidates = candidates;
  }
}

/**
 * Whether `name` needs `resolveName` (text holding U+FFFD, the mark of a lossy decoding). A string
 * too long to be a name is not even scanned: the addon refuses it on its length.
 */
export function needsLookup(name: PayloadName): name is string {
  return typeof name === 'string' && name.length <= PAYLOAD_NAME_MAX && name.includes(REPLACEMENT);
}

/**
 * What to send for a text name holding U+FFFD: LIST decides. One payload reading so is addressed
 * by its bytes, several are an `AmbiguousNameError`, none leave the text as it is (Xen answers
 * ENOENT). Every other name is sent as it is, without a LIST (see `needsLookup`).
 */
export async function resolveName(name: string, call: XenCall, list: () => Promise<PayloadListEntry[]>): Promise<PayloadName> {
  const readAlike = (await list()).filter((e) => e.name === name);
  if (readAlike.length > 1)
    throw new AmbiguousNameError(
      call,
      name,
      readAlike.map((e) => e.nameBytes ?? new TextEncoder().encode(e.name)),
    );
  return readAlike[0]?.nameBytes ?? name;
}
