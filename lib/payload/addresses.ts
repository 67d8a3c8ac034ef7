import { type ElfFile, SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF, SHF_ALLOC, STT_FILE, STT_SECTION, type SymbolTableView } from '../elf/index.js';

/**
 * What a pointer in a payload section points to once the hypervisor has relocated it. Offline the
 * final address is unknown, so it is described by what it is relative to.
 */
export type AddressRef =
  /** 0 after relocation: no relocation and a zero field. */
  | { readonly kind: 'null' }
  /** A known absolute address: a literal field, or a relocation against an `SHN_ABS` symbol. */
  | { readonly kind: 'absolute'; readonly value: bigint }
  /** Inside one of the payload's loaded sections. */
  | {
      readonly kind: 'payload';
      readonly section: number;
      readonly sectionName: string | null;
      /** Offset within the section. */
      readonly offset: bigint;
      /** The function/object symbol at (or containing) that offset, if any. */
      readonly symbol: string | null;
      /** `offset` minus the symbol's value (0 when the pointer targets the symbol itself). */
      readonly symbolOffset: bigint;
    }
  /** An undefined symbol (resolved by the hypervisor against its own or another payload's symbols) plus addend. */
  | { readonly kind: 'external'; readonly symbol: string; readonly addend: bigint }
  /** A relocation the hypervisor refuses or that cannot be evaluated here (the reason says which). */
  | { readonly kind: 'unresolved'; readonly reason: string };

/**
 * Finds the named symbol at a section offset. Relocations from the payload's own sections usually
 * target the *section* symbol plus an addend (static functions), so "which function does this hook
 * point to" needs this reverse lookup. Built lazily per section, at most once.
 */
export class SymbolLocator {
  private readonly bySection = new Map<number, { value: bigint; size: bigint; name: string }[]>();

  constructor(
    private readonly elf: ElfFile,
    private readonly symtab: SymbolTableView,
  ) {}

  /** The symbol defined exactly at `offset` (functions and objects first), else the one containing it. */
  at(section: number, offset: bigint): { name: string; value: bigint } | null {
    const list = this.index(section);
    let containing: { name: string; value: bigint } | null = null;
    for (const s of list) {
      if (s.value === offset) return s;
      if (!containing && s.value < offset && offset < s.value + s.size) containing = s;
    }
    return containing;
  }

  private index(section: number): { value: bigint; size: bigint; name: string }[] {
    let list = this.bySection.get(section);
    if (list) return list;
    list = [];
    const t = this.symtab;
    for (let i = 1; i < t.count; i++) {
      if (t.shndx(i) !== section) continue;
      const type = t.type(i);
      if (type === STT_SECTION || type === STT_FILE) continue;
      const name = t.name(i);
      if (!name || name.startsWith('.L')) continue;
      list.push({ value: t.value(i), size: t.size(i), name });
    }
    // Functions and objects (typed, sized) before bare labels at the same address.
    list.sort((a, b) => (a.value === b.value ? Number(b.size - a.size) : a.value < b.value ? -1 : 1));
    this.bySection.set(section, list);
    return list;
  }

  /** What symbol `sym` plus `addend` refers to, as the hypervisor's relocation would compute it. */
  resolve(sym: number, addend: bigint): AddressRef {
    const t = this.symtab;
    if (sym === 0) return { kind: 'unresolved', reason: 'relocation against symbol 0 (STN_UNDEF)' };
    if (sym >= t.count) return { kind: 'unresolved', reason: `relocation against symbol ${sym}, past the end of the symbol table` };
    const shndx = t.shndx(sym);
    if (shndx === SHN_UNDEF) return { kind: 'external', symbol: t.name(sym) ?? '', addend };
    if (shndx === SHN_ABS) return addressOf(t.value(sym) + addend);
    if (shndx === SHN_COMMON) return { kind: 'unresolved', reason: `common symbol ${t.name(sym) ?? sym}` };
    if (shndx >= SHN_LORESERVE || shndx >= this.elf.sections.length) return { kind: 'unresolved', reason: `symbol ${t.name(sym) ?? sym} has section index ${shndx}` };
    const sec = this.elf.sections[shndx]!;
    if (!(sec.flags & SHF_ALLOC)) return { kind: 'unresolved', reason: `symbol ${t.name(sym) ?? sym} is in ${sec.name ?? shndx}, which is not loaded` };
    const offset = BigInt.asUintN(64, t.value(sym) + addend);
    const named = this.at(shndx, offset);
    return { kind: 'payload', section: shndx, sectionName: sec.name, offset, symbol: named?.name ?? null, symbolOffset: named ? offset - named.value : offset };
  }
}

/** A literal pointer value: 0 is the null pointer. */
export function addressOf(value: bigint): AddressRef {
  const v = BigInt.asUintN(64, value);
  return v === 0n ? { kind: 'null' } : { kind: 'absolute', value: v };
}
