import { type ByteReader, saturate } from './bytes.js';
import { SHDR_SIZE, SHT_NOBITS } from './constants.js';
import type { ElfHeader } from './header.js';

/** One section header, fields as stored (64-bit ones as bigint), plus its resolved name. */
export interface SectionHeader {
  readonly index: number;
  /** File offset of this header within the section header table. */
  readonly headerOffset: number;
  readonly nameOffset: number;
  /** The name from the section-name string table, or null when it cannot be read. */
  readonly name: string | null;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  readonly offset: bigint;
  readonly size: bigint;
  readonly link: number;
  readonly info: number;
  readonly addralign: bigint;
  readonly entsize: bigint;
}

/** Field offsets in `Elf64_Shdr`, for diagnostics and the test byte-patcher. */
export const SHDR_FIELDS = {
  sh_name: { offset: 0, size: 4 },
  sh_type: { offset: 4, size: 4 },
  sh_flags: { offset: 8, size: 8 },
  sh_addr: { offset: 16, size: 8 },
  sh_offset: { offset: 24, size: 8 },
  sh_size: { offset: 32, size: 8 },
  sh_link: { offset: 40, size: 4 },
  sh_info: { offset: 44, size: 4 },
  sh_addralign: { offset: 48, size: 8 },
  sh_entsize: { offset: 56, size: 8 },
} as const;
export type ShdrField = keyof typeof SHDR_FIELDS;

/**
 * How many section headers the file really holds: `e_shnum`, capped by what fits between
 * `e_shoff` and the end of the file (so a forged `e_shnum` never drives a loop past the data).
 */
export function sectionHeaderCount(r: ByteReader, h: ElfHeader): number {
  if (h.shentsize < SHDR_SIZE) return 0;
  const shoff = saturate(h.shoff);
  if (shoff >= r.length) return 0;
  return Math.min(h.shnum, Math.floor((r.length - shoff) / h.shentsize));
}

/** Reads `count` section headers (names are filled in afterwards, once the name table is known). */
export function readSectionHeaders(r: ByteReader, h: ElfHeader, count: number): Omit<SectionHeader, 'name'>[] {
  const shoff = Number(h.shoff);
  const out: Omit<SectionHeader, 'name'>[] = [];
  for (let i = 0; i < count; i++) {
    const at = shoff + i * h.shentsize;
    out.push({
      index: i,
      headerOffset: at,
      nameOffset: r.u32(at),
      type: r.u32(at + 4),
      flags: r.u64(at + 8),
      addr: r.u64(at + 16),
      offset: r.u64(at + 24),
      size: r.u64(at + 32),
      link: r.u32(at + 40),
      info: r.u32(at + 44),
      addralign: r.u64(at + 48),
      entsize: r.u64(at + 56),
    });
  }
  return out;
}

/** Whether the section's bytes lie inside the file (NOBITS sections have none). */
export function sectionInFile(r: ByteReader, s: Pick<SectionHeader, 'type' | 'offset' | 'size'>): boolean {
  if (s.type === SHT_NOBITS) return false;
  return s.offset + s.size <= BigInt(r.length);
}
