import type { ByteReader } from './bytes.js';
import { EHDR_SIZE, EI_ABIVERSION, EI_CLASS, EI_DATA, EI_OSABI, EI_VERSION, ELF_MAGIC } from './constants.js';

/**
 * The first 64 bytes read as an ELF64 little-endian header, whatever the file claims to be: that is
 * how the hypervisor reads it (`Elf_Ehdr` on x86-64), so header checks are made on these values.
 * Whether the file really is ELF64 little-endian is `isElf64Lsb`; nothing past the header is read
 * when it is not.
 */
export interface ElfHeader {
  readonly magicOk: boolean;
  readonly class: number;
  readonly data: number;
  readonly identVersion: number;
  readonly osabi: number;
  readonly abiversion: number;
  readonly type: number;
  readonly machine: number;
  readonly version: number;
  readonly entry: bigint;
  readonly phoff: bigint;
  readonly shoff: bigint;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

/** Field offsets in `Elf64_Ehdr`, for diagnostics and the test byte-patcher. */
export const EHDR_FIELDS = {
  e_type: { offset: 16, size: 2 },
  e_machine: { offset: 18, size: 2 },
  e_version: { offset: 20, size: 4 },
  e_entry: { offset: 24, size: 8 },
  e_phoff: { offset: 32, size: 8 },
  e_shoff: { offset: 40, size: 8 },
  e_flags: { offset: 48, size: 4 },
  e_ehsize: { offset: 52, size: 2 },
  e_phentsize: { offset: 54, size: 2 },
  e_phnum: { offset: 56, size: 2 },
  e_shentsize: { offset: 58, size: 2 },
  e_shnum: { offset: 60, size: 2 },
  e_shstrndx: { offset: 62, size: 2 },
  'e_ident[EI_CLASS]': { offset: EI_CLASS, size: 1 },
  'e_ident[EI_DATA]': { offset: EI_DATA, size: 1 },
  'e_ident[EI_VERSION]': { offset: EI_VERSION, size: 1 },
  'e_ident[EI_OSABI]': { offset: EI_OSABI, size: 1 },
  'e_ident[EI_ABIVERSION]': { offset: EI_ABIVERSION, size: 1 },
} as const;
export type EhdrField = keyof typeof EHDR_FIELDS;

/** Reads the header, or returns null when the file is shorter than an ELF64 header. */
export function readElfHeader(r: ByteReader): ElfHeader | null {
  if (r.length < EHDR_SIZE) return null;
  return {
    magicOk: ELF_MAGIC.every((b, i) => r.u8(i) === b),
    class: r.u8(EI_CLASS),
    data: r.u8(EI_DATA),
    identVersion: r.u8(EI_VERSION),
    osabi: r.u8(EI_OSABI),
    abiversion: r.u8(EI_ABIVERSION),
    type: r.u16(16),
    machine: r.u16(18),
    version: r.u32(20),
    entry: r.u64(24),
    phoff: r.u64(32),
    shoff: r.u64(40),
    flags: r.u32(48),
    ehsize: r.u16(52),
    phentsize: r.u16(54),
    phnum: r.u16(56),
    shentsize: r.u16(58),
    shnum: r.u16(60),
    shstrndx: r.u16(62),
  };
}
