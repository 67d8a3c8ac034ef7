/** The ELF reader agrees with binutils' readelf on every valid fixture. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  readElf,
  sectionTypeName,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_MERGE,
  SHF_STRINGS,
  SHF_WRITE,
  SHT_RELA,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FILE,
  STT_FUNC,
  STT_NOTYPE,
  STT_OBJECT,
  STT_SECTION,
  type ElfFile,
} from '../../lib/elf/index.js';
import { type Fixture, fixtures, VALID_NAMES } from '../fixtures/catalogue.js';
import { oracleNotes, oracleRelocations, oracleSections, oracleSymbols } from '../helpers/readelf.js';

let all: Map<string, Fixture>;
beforeAll(async () => {
  all = await fixtures();
});

function elfOf(f: Fixture): ElfFile {
  const { elf, issues } = readElf(f.bytes);
  expect(issues).toEqual([]);
  return elf!;
}

function flagLetters(flags: bigint): string {
  let s = '';
  if (flags & SHF_WRITE) s += 'W';
  if (flags & SHF_ALLOC) s += 'A';
  if (flags & SHF_EXECINSTR) s += 'X';
  if (flags & SHF_MERGE) s += 'M';
  if (flags & SHF_STRINGS) s += 'S';
  if (flags & 0x40n) s += 'I';
  return s;
}

const TYPES: Record<number, string> = {
  [STT_NOTYPE]: 'NOTYPE',
  [STT_OBJECT]: 'OBJECT',
  [STT_FUNC]: 'FUNC',
  [STT_SECTION]: 'SECTION',
  [STT_FILE]: 'FILE',
};
const BINDS: Record<number, string> = { [STB_LOCAL]: 'LOCAL', [STB_GLOBAL]: 'GLOBAL', [STB_WEAK]: 'WEAK' };

describe.each(VALID_NAMES.map((n) => [n]))('%s', (name) => {
  it('has the sections readelf -S lists', async () => {
    const f = all.get(name)!;
    const elf = elfOf(f);
    const oracle = await oracleSections(f.path);
    expect(elf.sections.length).toBe(oracle.length);
    for (const o of oracle) {
      const s = elf.sections[o.index]!;
      expect({
        name: s.name,
        type: sectionTypeName(s.type),
        offset: Number(s.offset),
        size: Number(s.size),
        entsize: Number(s.entsize),
        flags: flagLetters(s.flags),
        link: s.link,
        info: s.info,
        align: Number(s.addralign),
      }).toEqual({
        name: o.name,
        type: o.type,
        offset: o.offset,
        size: o.size,
        entsize: o.entsize,
        flags: o.flags,
        link: o.link,
        info: o.info,
        align: o.align,
      });
    }
  });

  it('has the symbols readelf -s lists', async () => {
    const f = all.get(name)!;
    const elf = elfOf(f);
    const symtab = elf.symbols(elf.symbolTableIndex())!;
    const oracle = await oracleSymbols(f.path);
    expect(symtab.count).toBe(oracle.length);
    for (const o of oracle) {
      const i = o.num;
      const ndx = symtab.shndx(i);
      expect({
        value: symtab.value(i),
        size: symtab.size(i),
        type: TYPES[symtab.type(i)],
        bind: BINDS[symtab.bind(i)],
        ndx: ndx === 0 ? 'UND' : ndx === 0xfff1 ? 'ABS' : String(ndx),
      }).toEqual({
        value: o.value,
        size: o.size,
        type: o.type,
        bind: o.bind,
        ndx: o.ndx,
      });
      // readelf shows a section symbol by its section's name; its own st_name is empty.
      const expected = symtab.type(i) === STT_SECTION ? '' : o.name;
      expect(symtab.name(i)).toBe(expected);
    }
  });

  it('has the relocations readelf -r lists', async () => {
    const f = all.get(name)!;
    const elf = elfOf(f);
    const oracle = await oracleRelocations(f.path);
    const ours = elf.sections.filter((s) => s.type === SHT_RELA);
    expect(ours.map((s) => s.name).sort()).toEqual([...oracle.keys()].sort());
    for (const s of ours) {
      const view = elf.relocations(s.index)!;
      const o = oracle.get(s.name!)!;
      expect(view.count).toBe(o.length);
      for (let i = 0; i < view.count; i++) {
        expect(view.offset(i)).toBe(o[i]!.offset);
        expect((BigInt(view.sym(i)) << 32n) | BigInt(view.type(i))).toBe(o[i]!.info);
      }
    }
  });

  it('finds the build-id note readelf -n shows', async () => {
    const f = all.get(name)!;
    const elf = elfOf(f);
    const oracle = await oracleNotes(f.path);
    const note = elf.notes(elf.sectionByName('.note.gnu.build-id')!)!;
    expect(note.problem).toBeNull();
    expect(note.notes).toHaveLength(1);
    const o = oracle.find((n) => n.section === '.note.gnu.build-id')!;
    expect(note.notes[0]!.name).toBe(o.owner);
    expect(Buffer.from(note.notes[0]!.desc).toString('hex')).toBe(o.buildId);
    expect(o.buildId).toBe(f.buildId);
  });
});
