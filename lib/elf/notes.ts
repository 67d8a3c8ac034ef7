import type { ByteReader } from './bytes.js';
import { NOTE_HEADER_SIZE } from './constants.js';

/** One ELF note: `{namesz, descsz, type}`, then the name and the descriptor, each 4-byte aligned. */
export interface ElfNote {
  /** File offset of the note header. */
  readonly offset: number;
  readonly namesz: number;
  readonly descsz: number;
  readonly type: number;
  /** The name up to its first NUL (or all `namesz` bytes when there is none). */
  readonly name: string;
  readonly desc: Uint8Array;
}

export interface NoteParse {
  readonly notes: ElfNote[];
  /** Why the walk stopped early, if it did: the bytes left could not hold the next note. */
  readonly problem: string | null;
}

/** Rounds up to a multiple of 4 without 32-bit bitwise arithmetic (fields are full u32). */
const align4 = (n: number): number => n + ((4 - (n % 4)) % 4);

/**
 * Walks the notes in `[start, start + size)` (bounds already checked). Each step consumes at least
 * a 12-byte header, so the walk is linear in the size whatever the fields say.
 */
export function readNotes(r: ByteReader, start: number, size: number): NoteParse {
  const notes: ElfNote[] = [];
  const end = start + size;
  let at = start;
  while (end - at >= NOTE_HEADER_SIZE) {
    const namesz = r.u32(at);
    const descsz = r.u32(at + 4);
    const type = r.u32(at + 8);
    const nameAt = at + NOTE_HEADER_SIZE;
    const descAt = nameAt + align4(namesz);
    if (namesz > end - nameAt || descAt > end || descsz > end - descAt) {
      return { notes, problem: `note at offset ${at} (namesz ${namesz}, descsz ${descsz}) runs past the end of its section` };
    }
    const rawName = r.slice(nameAt, namesz);
    const nul = rawName.indexOf(0);
    notes.push({
      offset: at,
      namesz,
      descsz,
      type,
      name: r.latin1(nameAt, nameAt + (nul < 0 ? namesz : nul)),
      desc: r.slice(descAt, descsz),
    });
    at = descAt + align4(descsz);
  }
  return { notes, problem: at < end ? `${end - at} trailing bytes after the last note` : null };
}
