import { type ElfFile, NAME_LIMIT, R_X86_64_64, R_X86_64_NONE, type SectionHeader, SHF_ALLOC, SHT_NOBITS, SHT_RELA } from '../elf/index.js';
import { addressOf, type AddressRef, type SymbolLocator } from './addresses.js';

/** One relocation that lands in a section of interest. */
export interface FieldRelocation {
  readonly type: number;
  readonly sym: number;
  readonly addend: bigint;
}

/**
 * A loaded section's contents as the hypervisor sees them after relocation, for the few small
 * special sections whose pointers the model decodes (funcs, hooks). Relocations are applied in the
 * hypervisor's order (relocation sections by index, entries in order: a later one wins).
 */
export class RelocatedSection {
  readonly bytes: Uint8Array;
  private readonly relocs = new Map<number, FieldRelocation>();

  constructor(
    readonly elf: ElfFile,
    readonly section: SectionHeader,
    private readonly locator: SymbolLocator | null,
  ) {
    // NOBITS sections are zero-filled when loaded.
    this.bytes =
      section.type === SHT_NOBITS
        ? new Uint8Array(Math.min(Number(section.size), elf.bytes.length))
        : (elf.data(section) ?? new Uint8Array(0));
    if (!(section.flags & SHF_ALLOC)) return; // the hypervisor does not relocate unloaded sections
    for (const r of elf.sections) {
      if (r.type !== SHT_RELA || r.info !== section.index || r.index === 0) continue;
      const view = elf.relocations(r.index);
      if (!view) continue;
      for (let i = 0; i < view.count; i++) {
        const off = view.offsetNumber(i);
        if (off >= this.bytes.length) continue;
        const type = view.type(i);
        if (type === R_X86_64_NONE) continue;
        this.relocs.set(off, { type, sym: view.sym(i), addend: view.addend(i) });
      }
    }
  }

  get size(): number {
    return this.bytes.length;
  }

  /** The relocation applied at exactly this offset, if any. */
  relocationAt(offset: number): FieldRelocation | undefined {
    return this.relocs.get(offset);
  }

  /** A 64-bit pointer field: its relocation's target, else its literal value. */
  pointer(offset: number): AddressRef {
    const rel = this.relocs.get(offset);
    if (rel) {
      if (rel.type !== R_X86_64_64)
        return { kind: 'unresolved', reason: `a relocation of type ${rel.type} (not R_X86_64_64) sets this pointer` };
      return this.locator
        ? this.locator.resolve(rel.sym, rel.addend)
        : { kind: 'unresolved', reason: 'the payload has no usable symbol table' };
    }
    if (offset + 8 > this.bytes.length) return { kind: 'unresolved', reason: 'the field lies past the end of its section' };
    return addressOf(new DataView(this.bytes.buffer, this.bytes.byteOffset + offset, 8).getBigUint64(0, true));
  }

  u32(offset: number): number {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + offset, 4).getUint32(0, true);
  }

  u8(offset: number): number {
    return this.bytes[offset] ?? 0;
  }
}

/** The NUL-terminated string a pointer targets, when it points into the payload's own bytes. */
export function stringAt(elf: ElfFile, ref: AddressRef): string | null {
  if (ref.kind !== 'payload') return null;
  const sec = elf.sections[ref.section];
  if (!sec) return null;
  const data = elf.data(sec);
  if (!data || ref.offset >= BigInt(data.length)) return null;
  const start = Number(ref.offset);
  // Bounded like symbol names (NAME_LIMIT): many pointers into one long unterminated run must not
  // each scan it.
  const nul = data.subarray(start, Math.min(data.length, start + NAME_LIMIT + 1)).indexOf(0);
  if (nul < 0) return null;
  return Buffer.from(data.buffer, data.byteOffset + start, nul).toString('latin1');
}
