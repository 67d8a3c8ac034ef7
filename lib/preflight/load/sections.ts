import {
  EHDR_SIZE,
  SHF_ALLOC,
  SHF_WRITE,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SYM_SIZE,
  type SectionHeader,
} from '../../elf/index.js';
import { PAYLOAD_MAX_SIZE } from '../../xen/domain.js';
import { cHex, lp } from '../console.js';
import { label, type LoadState } from './state.js';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/**
 * `elf_resolve_sections` and `elf_resolve_section_names`: per-section bounds and alignment, the
 * symbol table and both string tables. Returns false when symbols or names cannot be used.
 */
export function checkSections(s: LoadState): boolean {
  const elf = s.elf!;
  const { findings: f, name } = s;
  const len = BigInt(s.bytes.length);
  const shnum = elf.header.shnum;
  const sections = elf.sections;
  const wrapped: SectionHeader[] = [];
  let symtab: SectionHeader | undefined;

  for (let i = 1; i < sections.length; i++) {
    const sec = sections[i]!;
    const where = { section: label(sec) };
    const off = sec.offset;
    const end = U64(off + sec.size); // Xen adds in 64 bits
    if (off < BigInt(EHDR_SIZE) || (sec.type !== SHT_NOBITS && (off > len || end > len))) {
      const at = off < BigInt(EHDR_SIZE);
      f.add(
        'section-offset',
        at
          ? `Section ${i} (${label(sec)}) starts at offset ${off}, inside the ELF header.`
          : `Section ${i} (${label(sec)}) runs to ` + `offset ${off + sec.size}, past the end of the ${len}-byte file.`,
        {
          ...where,
          field: 'sh_offset',
          console: lp(name, `Section [${i}] data ${at ? 'at ELF header' : 'is past end'} of payload`),
        },
      );
    } else if (sec.addralign & U64(sec.addralign - 1n)) {
      f.add('section-alignment', `Section ${i} (${label(sec)}) has alignment ${sec.addralign}, not a power of two.`, {
        ...where,
        field: 'sh_addralign',
        console: lp(name, `Section [${i}] alignment (${cHex(sec.addralign)}) is not supported`),
      });
    } else if (sec.addralign && sec.addr % sec.addralign) {
      f.add(
        'section-address-misaligned',
        `Section ${i} (${label(sec)}) has address ${cHex(sec.addr)}, ` + `not a multiple of its alignment ${sec.addralign}.`,
        {
          ...where,
          field: 'sh_addr',
          console: lp(name, `Section [${i}] addr (${cHex(sec.addr)}) is not aligned properly (${cHex(sec.addralign)})`),
        },
      );
    } else if (sec.flags & (SHF_WRITE | SHF_ALLOC) && sec.type === SHT_NOBITS && sec.size > BigInt(PAYLOAD_MAX_SIZE)) {
      f.add('nobits-too-large', `Section ${i} (${label(sec)}) is a ${sec.size}-byte NOBITS section; Xen allows at most 2 MiB.`, {
        ...where,
        field: 'sh_size',
      });
    } else if (sec.type !== SHT_NOBITS && off + sec.size > len) {
      // Passed only because offset + size wrapped around 2^64.
      wrapped.push(sec);
    }

    if (sec.type === SHT_SYMTAB) {
      if (symtab)
        f.add('multiple-symtabs', `Section ${i} (${label(sec)}) is a second symbol table (the first is section ${symtab.index}).`, {
          ...where,
          console: lp(name, 'Unsupported multiple symbol tables'),
        });
      else {
        symtab = sec;
        if (sec.link >= shnum) {
          f.add('symtab-link-out-of-range', `The symbol table links to string table ${sec.link}, but there are only ${shnum} sections.`, {
            ...where,
            field: 'sh_link',
            console: lp(name, `Symbol table idx (${sec.link}) to strtab past end (${shnum})`),
          });
          return false;
        }
      }
    }
  }

  if (!symtab) {
    f.add('symtab-missing', 'The payload has no symbol table (SHT_SYMTAB section).', { console: lp(name, 'No symbol table found') });
    return false;
  }
  const symWhere = { section: label(symtab) };
  if (symtab.size === 0n || symtab.entsize < BigInt(SYM_SIZE) || symtab.size % symtab.entsize) {
    const why =
      symtab.size === 0n
        ? 'it is empty'
        : symtab.entsize < BigInt(SYM_SIZE)
          ? `its entry size is ${symtab.entsize}, smaller than ${SYM_SIZE}`
          : `its size ${symtab.size} is not a multiple of its entry size ${symtab.entsize}`;
    f.add('symtab-corrupted', `The symbol table is unusable: ${why}.`, {
      ...symWhere,
      field: symtab.size === 0n ? 'sh_size' : 'sh_entsize',
      console: lp(name, 'Symbol table header is corrupted'),
    });
    return false;
  }
  if (symtab.link === 0) {
    f.add(
      'strtab-link-null',
      `The symbol table's sh_link is 0: Xen takes section 0, which it ` +
        `never set up, as the string table and dereferences a NULL pointer.`,
      { ...symWhere, field: 'sh_link' },
    );
    return false;
  }
  const strtabSec = sections[symtab.link]!;
  const strProblem = stringTableProblem(s, strtabSec);
  if (strProblem) {
    f.add('strtab-corrupted', `The string table of the symbols (section ${symtab.link}, ${label(strtabSec)}) ${strProblem}.`, {
      section: label(strtabSec),
      console: lp(name, 'String table section is corrupted'),
    });
    return false;
  }

  const shstr = sections[elf.header.shstrndx]!;
  const shProblem = stringTableProblem(s, shstr);
  if (shProblem) {
    f.add('shstrtab-corrupted', `The section-name table (section ${shstr.index}) ${shProblem}.`, {
      section: `[${shstr.index}]`,
      console: lp(name, 'Section string table is corrupted'),
    });
    return false;
  }
  let names = true;
  for (let i = 1; i < sections.length; i++) {
    const sec = sections[i]!;
    if (BigInt(sec.nameOffset) >= shstr.size) {
      f.add(
        'section-name-out-of-range',
        `Section ${i}'s name offset ${sec.nameOffset} is outside the ${shstr.size}-byte section-name table.`,
        { section: `[${i}]`, field: 'sh_name', console: lp(name, `Section ${i} name is not within .shstrtab`) },
      );
      names = false;
    }
  }

  // A section that passed the bounds check only through 64-bit wrap-around is read or copied by
  // Xen if it is loaded or is one of the tables Xen parses.
  const read = new Set([symtab.index, symtab.link, elf.header.shstrndx]);
  for (const sec of wrapped) {
    const relocatesLoaded = (sec.type === SHT_RELA || sec.type === SHT_REL) && (sections[sec.info]?.flags ?? 0n) & SHF_ALLOC;
    if (sec.flags & SHF_ALLOC || read.has(sec.index) || relocatesLoaded) {
      f.add(
        'section-size-wraps',
        `Section ${sec.index} (${label(sec)}): offset ${sec.offset} + size ${sec.size} wraps ` +
          `around 2^64, so Xen thinks it fits in the file and reads or copies ${sec.size} bytes.`,
        { section: label(sec), field: 'sh_size' },
      );
    }
  }

  s.symtabIndex = symtab.index;
  s.symtab = elf.symbols(symtab.index);
  s.strtab = elf.stringTable(symtab.link);
  return names && s.symtab !== null && s.strtab !== null;
}

/** `elf_verify_strtab`: a STRTAB section, not empty, starting and ending with NUL. */
function stringTableProblem(s: LoadState, sec: SectionHeader): string | null {
  if (sec.type !== SHT_STRTAB) return `is of type ${sec.type}, not STRTAB (${SHT_STRTAB})`;
  if (sec.size === 0n) return 'is empty';
  const data = s.elf!.data(sec);
  if (!data) return 'lies outside the file';
  if (data[0] !== 0) return 'does not start with a NUL byte';
  if (data[data.length - 1] !== 0) return 'does not end with a NUL byte';
  return null;
}

/** `elf_get_sym`: every symbol name must start inside the string table. */
export function checkSymbolNames(s: LoadState): void {
  const t = s.symtab!;
  const size = s.strtab!.size;
  const strSec = s.elf!.sections[s.elf!.sections[s.symtabIndex]!.link];
  const names = t.columns().nameOffset;
  for (let i = 1; i < t.count; i++) {
    const off = names[i]!;
    if (off >= size) {
      s.findings.add(
        'symbol-name-out-of-range',
        `Symbol ${i}'s name offset ${off} is outside the ${size}-byte string table (${label(strSec)}).`,
        {
          section: label(s.elf!.sections[s.symtabIndex]),
          offset: i * t.entsize,
          field: 'st_name',
          console: lp(s.name, `Symbol [${i}] name is not within .strtab`),
        },
      );
    }
  }
}
