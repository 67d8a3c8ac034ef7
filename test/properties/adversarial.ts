/**
 * Generators of adversarial payloads whose tables grow with `n`: each stresses one way a naive
 * reader goes quadratic (names scanned again and again, one symbol-table pass per target section,
 * findings per bad entry, names of thousands of sections).
 */
import { buildIdNote, rela, symtab, writeElf } from '../helpers/elf-writer.js';

const XEN = 'c0ffee0000000000000000000000000000001700';
const A = 0x2n; // SHF_ALLOC
const AX = 0x6n;
const WA = 0x3n;

function notes() {
  return [
    { name: '.note.gnu.build-id', type: 7, flags: A, data: buildIdNote('11'.repeat(20)), align: 4 },
    { name: '.livepatch.depends', type: 1, flags: A, data: buildIdNote(XEN), align: 4 },
    { name: '.livepatch.xen_depends', type: 1, flags: A, data: buildIdNote(XEN), align: 4 },
  ];
}

/** `n` undefined symbols all named by one `n`-byte string. */
export function oneLongName(n: number): Buffer {
  const str = Buffer.concat([Buffer.from([0]), Buffer.alloc(n, 0x41), Buffer.from([0])]);
  const syms = symtab(Array.from({ length: n }, () => ({ name: 1, shndx: 0 })));
  // sections: 1 .strtab, 2 .symtab, 3.. notes, 6 load hooks
  return writeElf([
    { name: '.strtab', type: 3, data: str, align: 1 },
    { name: '.symtab', type: 2, data: syms, link: 1, info: 1, entsize: 24 },
    ...notes(),
    { name: '.livepatch.hooks.load', type: 1, flags: A, data: Buffer.alloc(8) },
  ]);
}

/** `n` functions, each replaced by code in its own section, relocated through section symbols. */
export function funcsInManySections(n: number): Buffer {
  // Section layout: 1 .strtab, 2 .symtab, 3 .livepatch.funcs, 4 .rela.livepatch.funcs, 5..7 notes, 8.. text sections.
  const firstText = 8;
  let strs = '\0xen_extra_version\0';
  const entries: { name: number; info?: number; shndx?: number; value?: bigint; size?: bigint }[] = [{ name: 1, shndx: 0, info: 0x10 }];
  for (let i = 0; i < n; i++) entries.push({ name: 0, info: 0x03, shndx: firstText + i }); // section symbols
  for (let i = 0; i < n; i++) {
    entries.push({ name: strs.length, info: 0x02, shndx: firstText + i, size: 16n }); // local FUNC
    strs += `f${i}\0`;
  }
  const funcs = Buffer.alloc(104 * n);
  for (let i = 0; i < n; i++) {
    funcs.writeUInt32LE(16, 104 * i + 24);
    funcs.writeUInt32LE(16, 104 * i + 28);
    funcs[104 * i + 32] = 2;
  }
  const relocs = rela(
    Array.from({ length: n }, (_, i) => [
      { offset: 104 * i + 8, sym: 2 + i, type: 1 },
      { offset: 104 * i + 16, sym: 1, type: 1 },
    ]).flat(),
  );
  return writeElf([
    { name: '.strtab', type: 3, data: Buffer.from(strs, 'latin1'), align: 1 },
    { name: '.symtab', type: 2, data: symtab(entries), link: 1, info: 1, entsize: 24 },
    { name: '.livepatch.funcs', type: 1, flags: WA, data: funcs },
    { name: '.rela.livepatch.funcs', type: 4, data: relocs, link: 2, info: 3, entsize: 24 },
    ...notes(),
    ...Array.from({ length: n }, (_, i) => ({ name: `.text.f${i}`, type: 1, flags: AX, data: Buffer.alloc(16, 0x90), align: 16 })),
  ]);
}

/** `n` relocations, every one refused (symbol 0). */
export function manyBadRelocations(n: number): Buffer {
  return writeElf([
    { name: '.strtab', type: 3, data: Buffer.from('\0', 'latin1'), align: 1 },
    { name: '.symtab', type: 2, data: symtab([{ name: 0, info: 0x03, shndx: 3 }]), link: 1, info: 1, entsize: 24 },
    { name: '.text', type: 1, flags: AX, data: Buffer.alloc(4 * n, 0x90) },
    {
      name: '.rela.text',
      type: 4,
      data: rela(Array.from({ length: n }, (_, i) => ({ offset: 4 * i, sym: 0, type: 2 }))),
      link: 2,
      info: 3,
      entsize: 24,
    },
    ...notes(),
    { name: '.livepatch.hooks.load', type: 1, flags: A, data: Buffer.alloc(8) },
  ]);
}

/** `n` sections whose names all point at one long string of the section-name table. */
export function sectionsSharingOneName(n: number): Buffer {
  const elf = writeElf([
    { name: '.strtab', type: 3, data: Buffer.from('\0', 'latin1'), align: 1 },
    { name: '.symtab', type: 2, data: symtab([]), link: 1, info: 1, entsize: 24 },
    { name: `.x${'y'.repeat(n)}`, type: 1, data: Buffer.alloc(0), align: 1 },
    ...Array.from({ length: n }, (_, i) => ({ name: '', type: 1, data: Buffer.alloc(0), align: 1, _i: i })),
  ]);
  // Point every section's name at the long one (section 3's name).
  const shoff = Number(elf.readBigUInt64LE(40));
  const shnum = elf.readUInt16LE(60);
  const longName = elf.readUInt32LE(shoff + 3 * 64);
  for (let i = 4; i < shnum - 1; i++) elf.writeUInt32LE(longName, shoff + i * 64);
  return elf;
}
