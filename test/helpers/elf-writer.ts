/**
 * Writes small ELF64 little-endian relocatable files from a list of sections, for inputs no
 * compiler produces: adversarial tables (thousands of entries pointing at one string, relocations
 * into hundreds of sections) that check the reader stays linear. Section 0, .shstrtab and the
 * header are added; everything else is as given.
 */
export interface SectionSpec {
  readonly name: string;
  readonly type: number;
  readonly flags?: bigint;
  readonly data?: Uint8Array;
  /** For NOBITS: the size without data. */
  readonly size?: number;
  readonly link?: number;
  readonly info?: number;
  readonly align?: number;
  readonly entsize?: number;
}

export function writeElf(sections: readonly SectionSpec[]): Buffer {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let shstr = '';
  for (const n of names) {
    nameOffsets.push(shstr.length);
    shstr += `${n}\0`;
  }
  const shstrData = Buffer.from(shstr, 'latin1');
  const all: SectionSpec[] = [...sections, { name: '.shstrtab', type: 3, data: shstrData, align: 1 }];
  let offset = 64;
  const placed = all.map((s) => {
    const align = Math.max(1, s.align ?? 8);
    offset = Math.ceil(offset / align) * align;
    const at = offset;
    if (s.type !== 8) offset += s.data?.length ?? 0;
    return at;
  });
  const shoff = Math.ceil(offset / 8) * 8;
  const shnum = all.length + 1;
  const out = Buffer.alloc(shoff + shnum * 64);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  out.writeUInt16LE(1, 16); // ET_REL
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt16LE(64, 52);
  out.writeUInt16LE(64, 58);
  out.writeUInt16LE(shnum, 60);
  out.writeUInt16LE(shnum - 1, 62);
  all.forEach((s, k) => {
    if (s.data && s.type !== 8) out.set(s.data, placed[k]!);
    const h = shoff + (k + 1) * 64;
    out.writeUInt32LE(nameOffsets[k + 1]!, h);
    out.writeUInt32LE(s.type, h + 4);
    out.writeBigUInt64LE(s.flags ?? 0n, h + 8);
    out.writeBigUInt64LE(BigInt(placed[k]!), h + 24);
    out.writeBigUInt64LE(BigInt(s.type === 8 ? (s.size ?? 0) : (s.data?.length ?? 0)), h + 32);
    out.writeUInt32LE(s.link ?? 0, h + 40);
    out.writeUInt32LE(s.info ?? 0, h + 44);
    out.writeBigUInt64LE(BigInt(s.align ?? 8), h + 48);
    out.writeBigUInt64LE(BigInt(s.entsize ?? 0), h + 56);
  });
  return out;
}

/** Symbol table entries: `{name offset, info, shndx, value, size}` each. */
export function symtab(entries: readonly { name: number; info?: number; shndx?: number; value?: bigint; size?: bigint }[]): Buffer {
  const b = Buffer.alloc(24 * (entries.length + 1));
  entries.forEach((e, i) => {
    const at = 24 * (i + 1);
    b.writeUInt32LE(e.name, at);
    b.writeUInt8(e.info ?? 0x10, at + 4);
    b.writeUInt16LE(e.shndx ?? 0, at + 6);
    b.writeBigUInt64LE(e.value ?? 0n, at + 8);
    b.writeBigUInt64LE(e.size ?? 0n, at + 16);
  });
  return b;
}

export function rela(entries: readonly { offset: bigint | number; sym: number; type: number; addend?: bigint }[]): Buffer {
  const b = Buffer.alloc(24 * entries.length);
  entries.forEach((e, i) => {
    b.writeBigUInt64LE(BigInt(e.offset), 24 * i);
    b.writeUInt32LE(e.type, 24 * i + 8);
    b.writeUInt32LE(e.sym, 24 * i + 12);
    b.writeBigInt64LE(e.addend ?? 0n, 24 * i + 16);
  });
  return b;
}

/** A GNU build-id note. */
export function buildIdNote(hex: string): Buffer {
  const desc = Buffer.from(hex, 'hex');
  const b = Buffer.alloc(16 + Math.ceil(desc.length / 4) * 4);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(desc.length, 4);
  b.writeUInt32LE(3, 8);
  b.write('GNU\0', 12, 'latin1');
  desc.copy(b, 16);
  return b;
}
