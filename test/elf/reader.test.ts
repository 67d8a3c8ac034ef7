/** The ELF reader on inputs that are not valid payloads: refused or reported, never misread or thrown. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ByteReader, readElf, readNotes, StringTable } from '../../lib/elf/index.js';
import { fixture } from '../fixtures/catalogue.js';

let valid: Buffer;
beforeAll(async () => {
  valid = (await fixture('func_normal')).bytes;
});

describe('readElf', () => {
  it('reports a file shorter than the header', () => {
    expect(readElf(new Uint8Array(10))).toMatchObject({ elf: null, header: null, issues: [{ code: 'truncated-header' }] });
  });

  it('reports a file without the ELF magic', () => {
    expect(readElf(new Uint8Array(64)).issues).toMatchObject([{ code: 'not-elf' }]);
  });

  it('refuses ELF32 and big-endian files instead of misreading them', () => {
    const b32 = Buffer.from(valid);
    b32[4] = 1;
    expect(readElf(b32)).toMatchObject({ elf: null, issues: [{ code: 'unsupported-class' }] });
    const be = Buffer.from(valid);
    be[5] = 2;
    expect(readElf(be)).toMatchObject({ elf: null, issues: [{ code: 'unsupported-byte-order' }] });
    // The header is still given, read as the hypervisor reads it.
    expect(readElf(be).header?.machine).toBe(62);
  });

  it('reads a Buffer that is a slice of a larger ArrayBuffer at an odd offset', () => {
    const backing = Buffer.alloc(valid.length + 13);
    valid.copy(backing, 13);
    const slice = backing.subarray(13);
    const { elf } = readElf(slice);
    expect(elf!.sections.map((s) => s.name)).toEqual(readElf(valid).elf!.sections.map((s) => s.name));
  });

  it('caps the section count at what the file holds', () => {
    const b = Buffer.from(valid);
    b.writeUInt16LE(0xffff, 60); // e_shnum
    const { elf, issues } = readElf(b);
    expect(elf!.sections.length).toBe(readElf(valid).elf!.sections.length);
    expect(issues.map((i) => i.code)).toContain('section-table-out-of-bounds');
  });

  it('gives no sections when e_shoff points past the file', () => {
    const b = Buffer.from(valid);
    b.writeBigUInt64LE(0xffff_ffff_ffff_fff0n, 40);
    const { elf } = readElf(b);
    expect(elf!.sections).toEqual([]);
  });
});

describe('StringTable', () => {
  it('returns null for offsets past the last terminator', () => {
    const r = new ByteReader(Buffer.from('\0abc\0def', 'latin1'));
    const t = new StringTable(r, 0, 8);
    expect(t.get(1)).toBe('abc');
    expect(t.get(5)).toBeNull();
    expect(t.get(0)).toBe('');
    expect(t.get(100)).toBeNull();
  });
});

describe('readNotes', () => {
  it('stops at a note whose sizes run past the section', () => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(4, 0);
    b.writeUInt32LE(0xffff_ffff, 4);
    b.writeUInt32LE(3, 8);
    const r = readNotes(new ByteReader(b), 0, 24);
    expect(r.notes).toEqual([]);
    expect(r.problem).toMatch(/runs past/);
  });
});
