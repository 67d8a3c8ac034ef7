import {
  EHDR_SIZE,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFOSABI_FREEBSD,
  ELFOSABI_NONE,
  EM_X86_64,
  ET_REL,
  EV_CURRENT,
  SHDR_SIZE,
} from '../../elf/index.js';
import { lp } from '../console.js';
import type { LoadState } from './state.js';

/**
 * `livepatch_header_check` and `arch_livepatch_verify_elf`, on the header read as ELF64
 * little-endian (as Xen reads it, whatever the file claims). Every failing check is reported;
 * returns false when the section table cannot be read.
 */
export function checkHeader(s: LoadState): boolean {
  const { findings: f, name } = s;
  const len = s.bytes.length;
  const h = s.header;
  if (!h) {
    f.add('header-truncated', `The file has ${len} bytes, fewer than an ELF64 header (${EHDR_SIZE}).`, {
      console: lp(name, 'Section header is bigger than payload'),
    });
    return false;
  }
  if (!h.magicOk) {
    f.add('not-elf', 'The file does not start with the ELF magic (\\x7fELF).', { offset: 0, console: lp(name, 'Not an ELF payload') });
    return false;
  }
  const ident: string[] = [];
  if (h.version !== EV_CURRENT) ident.push(`e_version is ${h.version}`);
  if (h.identVersion !== EV_CURRENT) ident.push(`EI_VERSION is ${h.identVersion}`);
  if (h.abiversion !== 0) ident.push(`EI_ABIVERSION is ${h.abiversion}`);
  if (h.osabi !== ELFOSABI_NONE && h.osabi !== ELFOSABI_FREEBSD) ident.push(`EI_OSABI is ${h.osabi}`);
  if (h.type !== ET_REL) ident.push(`e_type is ${h.type}, not ET_REL (1)`);
  if (h.phnum !== 0) ident.push(`e_phnum is ${h.phnum}`);
  if (ident.length)
    f.add('elf-ident-invalid', `Not a relocatable object Xen accepts: ${ident.join(', ')}.`, { console: lp(name, 'Invalid ELF payload') });

  const arch: string[] = [];
  if (h.machine !== EM_X86_64) arch.push(`e_machine is ${h.machine}, not EM_X86_64 (62)`);
  if (h.class !== ELFCLASS64) arch.push(`EI_CLASS is ${h.class}, not ELFCLASS64 (2)`);
  if (h.data !== ELFDATA2LSB) arch.push(`EI_DATA is ${h.data}, not little-endian (1)`);
  if (arch.length)
    f.add('elf-machine-unsupported', `Not an x86-64 ELF64 little-endian object: ${arch.join(', ')}.`, {
      console: lp(name, 'Unsupported ELF Machine type'),
    });
  // Nothing past the header of an ELF32 or big-endian file is read: its layout is not ELF64 LE.
  if (h.class !== ELFCLASS64 || h.data !== ELFDATA2LSB) return false;

  let table = true;
  if (h.shstrndx === 0) {
    f.add('shstrndx-undefined', 'e_shstrndx is 0 (SHN_UNDEF): there is no section-name table.', {
      field: 'e_shstrndx',
      console: lp(name, 'Section name idx is undefined'),
    });
    table = false;
  }
  if (h.shnum >= 1024)
    f.add('too-many-sections', `The payload has ${h.shnum} sections; Xen takes at most 1023.`, {
      field: 'e_shnum',
      console: lp(name, `Too many (${h.shnum}) sections`),
    });
  if (h.shstrndx !== 0 && h.shstrndx >= h.shnum) {
    f.add('shstrndx-out-of-range', `e_shstrndx is ${h.shstrndx} but there are only ${h.shnum} sections.`, {
      field: 'e_shstrndx',
      console: lp(name, `Section name idx (${h.shstrndx}) is past end of sections (${h.shnum})`),
    });
    table = false;
  }
  if (h.shoff >= BigInt(len)) {
    f.add('shoff-out-of-range', `e_shoff (${h.shoff}) is not inside the ${len}-byte file.`, {
      field: 'e_shoff',
      console: lp(name, 'Bogus e_shoff'),
    });
    return false;
  }
  if (h.shentsize < SHDR_SIZE) {
    f.add('shentsize-too-small', `e_shentsize is ${h.shentsize}, smaller than a section header (${SHDR_SIZE}).`, {
      field: 'e_shentsize',
      console: lp(name, `Section header size is ${h.shentsize}! Expected ${SHDR_SIZE}.`),
    });
    return false;
  }
  const fit = (BigInt(len) - h.shoff) / BigInt(h.shentsize);
  if (fit < BigInt(h.shnum)) {
    f.add('section-table-truncated', `e_shnum is ${h.shnum} but only ${fit} section headers fit between e_shoff and the end of the file.`, {
      field: 'e_shnum',
      console: lp(name, 'Section header size is corrupted'),
    });
    return false;
  }
  return table && h.shnum > 0;
}
