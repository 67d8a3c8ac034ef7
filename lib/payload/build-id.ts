import { NOTE_HEADER_SIZE, NT_GNU_BUILD_ID } from '../elf/index.js';

/**
 * A build-id note parsed the way the hypervisor parses `.note.gnu.build-id`, `.livepatch.depends`
 * and `.livepatch.xen_depends` (`xen_build_id_check` plus its callers' size checks): only the first
 * note of the section counts, and the checks are Xen's, not readelf's.
 */
export type BuildIdParse =
  | { readonly ok: true; readonly id: string }
  | {
      readonly ok: false;
      /** The errno `xen_build_id_check` (or the caller) returns: EINVAL, or ENODATA for a wrong type or owner. */
      readonly errno: 'EINVAL' | 'ENODATA';
      /** Which of Xen's conditions failed, as a phrase: "the note type is 4, not NT_GNU_BUILD_ID (3)". */
      readonly reason: string;
    };

/**
 * `bytes` are the section's loaded contents (zeros for NOBITS); `size` is its `sh_size`, which
 * Xen passes on as an `unsigned int`.
 */
export function parseBuildIdNote(bytes: Uint8Array, size: bigint): BuildIdParse {
  if (size <= BigInt(NOTE_HEADER_SIZE)) return { ok: false, errno: 'EINVAL', reason: `the section has ${size} bytes, too few for a note` };
  const nSz = Number(BigInt.asUintN(32, size));
  const u32 = (at: number): number =>
    at + 4 <= bytes.length ? new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true) : 0;
  const namesz = u32(0);
  const descsz = u32(4);
  const type = u32(8);
  if (type !== NT_GNU_BUILD_ID) return { ok: false, errno: 'ENODATA', reason: `the note type is ${type}, not NT_GNU_BUILD_ID (3)` };
  // Xen adds the two u32 fields in 32 bits and checks for the wrap.
  if (namesz + descsz > 0xffff_ffff)
    return { ok: false, errno: 'EINVAL', reason: `namesz + descsz (${namesz} + ${descsz}) overflows 32 bits` };
  if (namesz < 4) return { ok: false, errno: 'EINVAL', reason: `namesz is ${namesz}, too small for "GNU\\0"` };
  // `n_sz - sizeof(*n)` is unsigned arithmetic on the truncated size.
  const room = (nSz - NOTE_HEADER_SIZE) >>> 0;
  if (namesz + descsz > room)
    return { ok: false, errno: 'EINVAL', reason: `namesz + descsz (${namesz + descsz}) exceeds the ${room} bytes after the note header` };
  // strncmp(name, "GNU", namesz): equal only if the name is "GNU" followed by a NUL.
  const name = bytes.subarray(NOTE_HEADER_SIZE, NOTE_HEADER_SIZE + 4);
  if (name[0] !== 0x47 || name[1] !== 0x4e || name[2] !== 0x55 || name[3] !== 0) {
    return { ok: false, errno: 'ENODATA', reason: `the note owner is not "GNU"` };
  }
  if (descsz === 0) return { ok: false, errno: 'EINVAL', reason: 'the build-id is empty (descsz 0)' };
  // The descriptor starts after the 4-byte-aligned name; Xen does not count that padding against
  // the size, so up to 3 bytes may lie past the section: those read as 0 here.
  const descAt = NOTE_HEADER_SIZE + namesz + ((4 - (namesz % 4)) % 4);
  const desc = new Uint8Array(descsz);
  desc.set(bytes.subarray(Math.min(descAt, bytes.length), Math.min(descAt + descsz, bytes.length)));
  return { ok: true, id: Buffer.from(desc).toString('hex') };
}
