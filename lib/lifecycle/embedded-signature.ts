/**
 * Recognises the signature note of the upstream Xen proposal ("LivePatch signing support", v3,
 * 2025, not merged in any Xen release): a section `.note.Xen.signature` holding exactly one ELF
 * note named "Xen" whose type packs version 1, algorithm RSA (0) and hash SHA-256 (0), so type 1,
 * with the raw signature (0 < size < 1024) as its descriptor. No hypervisor verifies it, and xlp
 * does not either: this is information for `xlp check`, never a reason to accept a payload. The
 * XenServer variant (type 0, with a header inside the descriptor) is reported as not recognised.
 */
import { readElf } from '../elf/index.js';

/** The section the proposal puts its note in. */
export const XEN_SIGNATURE_SECTION = '.note.Xen.signature';

/** Note type of the proposal's only layout: version 1 | RSA (0) << 16 | SHA-256 (0) << 24. */
export const XEN_SIGNATURE_TYPE_V1_RSA_SHA256 = 1;

/** What a payload's embedded signature note is. */
export type EmbeddedSignature =
  | { readonly status: 'absent' }
  | {
      readonly status: 'recognised';
      /** The proposal's v1 layout: RSA, PKCS#1 v1.5, SHA-256 over the file with the descriptor zeroed. */
      readonly layout: 'xen-v1-rsa-sha256';
      /** Size of the signature (the note's descriptor) in bytes. */
      readonly signatureBytes: number;
    }
  | {
      readonly status: 'unrecognised';
      /** Why the note is not the proposal's layout, as a phrase. */
      readonly reason: string;
    };

function describeType(type: number): string {
  const version = type & 0xffff;
  const algorithm = (type >>> 16) & 0xff;
  const hash = (type >>> 24) & 0xff;
  return `type ${type} (version ${version}, algorithm ${algorithm}, hash ${hash})`;
}

/** Reads the `.note.Xen.signature` section of a payload's bytes, if it has one. */
export function embeddedSignatureOf(bytes: Uint8Array): EmbeddedSignature {
  const { elf } = readElf(bytes);
  if (!elf) return { status: 'unrecognised', reason: 'the file is not an ELF64 little-endian object whose sections can be read' };
  const section = elf.sectionByName(XEN_SIGNATURE_SECTION);
  if (!section) return { status: 'absent' };
  const parsed = elf.notes(section);
  if (!parsed) return { status: 'unrecognised', reason: `${XEN_SIGNATURE_SECTION} lies outside the file` };
  if (parsed.problem) return { status: 'unrecognised', reason: `${XEN_SIGNATURE_SECTION} is malformed: ${parsed.problem}` };
  const { notes } = parsed;
  if (notes.length !== 1)
    return { status: 'unrecognised', reason: `${XEN_SIGNATURE_SECTION} holds ${notes.length} notes; the proposal puts exactly one there` };
  const note = notes[0]!;
  if (note.name !== 'Xen') return { status: 'unrecognised', reason: `the note is named ${JSON.stringify(note.name)}, not "Xen"` };
  if (note.type === 0) {
    return {
      status: 'unrecognised',
      reason:
        'the note has type 0: the XenServer layout (a version and algorithm ' +
        "header inside the descriptor), not the upstream proposal's",
    };
  }
  if (note.type !== XEN_SIGNATURE_TYPE_V1_RSA_SHA256)
    return {
      status: 'unrecognised',
      reason: `the note has ${describeType(note.type)}; the proposal ` + `defines only type 1 (version 1, RSA, SHA-256)`,
    };
  if (note.descsz === 0 || note.descsz >= 1024)
    return {
      status: 'unrecognised',
      reason: `the signature is ${note.descsz} bytes; the proposal requires more than 0 and fewer than 1024`,
    };
  return { status: 'recognised', layout: 'xen-v1-rsa-sha256', signatureBytes: note.descsz };
}
