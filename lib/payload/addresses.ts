import {
  type ElfFile,
  SHN_ABS,
  SHN_COMMON,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHF_ALLOC,
  STT_FILE,
  STT_SECTION,
  type SymbolTableView,
} from '../elf/index.js';

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
  /** Candidate symbols (not section/file symbols) of the sections asked about, by section. */
  private readonly bySection = new Map<number, Uint32Array>();
  /** Sorted, name-filtered views of the sections asked about often (see `at`). */
  private readonly sorted = new Map<number, Uint32Array>();
  private readonly asked = new Map<number, number>();
  private readonly answers = new Map<string, { name: string; value: bigint } | null>();

  constructor(
    private readonly elf: ElfFile,
    private readonly symtab: SymbolTableView,
  ) {}

  /**
   * The symbol defined exactly at `offset` (the largest one at that address), else the one
   * containing it; local labels (`.L*`) and unnamed symbols do not count. A section is scanned the
   * first few times it is asked about, then sorted once: a payload with a few pointers costs no
   * sort, one with thousands costs no quadratic scan.
   */
  at(section: number, offset: bigint): { name: string; value: bigint } | null {
    const key = `${section}:${offset}`;
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const answer = this.find(section, offset);
    this.answers.set(key, answer);
    return answer;
  }

  private find(section: number, offset: bigint): { name: string; value: bigint } | null {
    const list = this.members(section);
    if (list.length === 0) return null;
    const off = Number(offset);
    const n = (this.asked.get(section) ?? 0) + 1;
    this.asked.set(section, n);
    const best = n <= 4 || list.length <= 32 ? this.scan(list, off) : this.search(section, list, off);
    if (best < 0) return null;
    return { name: this.symtab.name(best) ?? '', value: this.symtab.value(best) };
  }

  /** Whether symbol `i` may name an address: it has a name, and not a local label's. */
  private named(i: number): boolean {
    const strings = this.symtab.strings;
    const n = this.symtab.columns().nameOffset[i]!;
    return strings !== null && !strings.isEmpty(n) && !strings.startsWith(n, '.L');
  }

  /** Exact match with the largest size, else the nearest symbol below that covers `off`. */
  private scan(list: Uint32Array, off: number): number {
    const { value, size } = this.symtab.columns();
    let exact = -1;
    let below = -1;
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      const v = value[i]!;
      if (v === off) {
        if ((exact < 0 || size[i]! > size[exact]!) && this.named(i)) exact = i;
      } else if (v < off && (below < 0 || v > value[below]!) && off < v + size[i]! && this.named(i)) below = i;
    }
    return exact >= 0 ? exact : below;
  }

  private search(section: number, list: Uint32Array, off: number): number {
    const { value, size } = this.symtab.columns();
    let order = this.sorted.get(section);
    if (!order) {
      // Sorted by value, larger sizes first at equal values.
      order = list.filter((i) => this.named(i)).sort((a, b) => value[a]! - value[b]! || size[b]! - size[a]!);
      this.sorted.set(section, order);
    }
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value[order[mid]!]! < off) lo = mid + 1;
      else hi = mid;
    }
    if (lo < order.length && value[order[lo]!] === off) return order[lo]!;
    const below = order[lo - 1];
    return below !== undefined && off < value[below]! + size[below]! ? below : -1;
  }

  /**
   * The symbols defined in `section`, found with one scan of the typed columns per section asked
   * about; past a few sections, every section's list is made in a single pass instead.
   */
  private members(section: number): Uint32Array {
    const known = this.bySection.get(section);
    if (known) return known;
    const t = this.symtab;
    const { info, shndx } = t.columns();
    const keep = (i: number): boolean => {
      const type = info[i]! & 0xf;
      return type !== STT_SECTION && type !== STT_FILE;
    };
    if (this.bySection.size < 8) {
      // Two tight passes over the typed columns: count, then fill.
      let n = 0;
      for (let i = 1; i < t.count; i++) if (shndx[i] === section) n++;
      const list = new Uint32Array(n);
      let k = 0;
      for (let i = 1; i < t.count; i++) {
        if (shndx[i] !== section) continue;
        const type = info[i]! & 0xf;
        if (type !== STT_SECTION && type !== STT_FILE) list[k++] = i;
      }
      const kept = list.subarray(0, k);
      this.bySection.set(section, kept);
      return kept;
    }
    const all = new Map<number, number[]>();
    for (let i = 1; i < t.count; i++) {
      const s = shndx[i]!;
      if (s === SHN_UNDEF || s >= SHN_LORESERVE || this.bySection.has(s) || !keep(i)) continue;
      let l = all.get(s);
      if (!l) all.set(s, (l = []));
      l.push(i);
    }
    for (const [s, l] of all) this.bySection.set(s, Uint32Array.from(l));
    const list = this.bySection.get(section) ?? new Uint32Array(0);
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
    if (shndx >= SHN_LORESERVE || shndx >= this.elf.sections.length)
      return { kind: 'unresolved', reason: `symbol ${t.name(sym) ?? sym} has section index ${shndx}` };
    const sec = this.elf.sections[shndx]!;
    if (!(sec.flags & SHF_ALLOC))
      return { kind: 'unresolved', reason: `symbol ${t.name(sym) ?? sym} is in ${sec.name ?? shndx}, which is not loaded` };
    const offset = BigInt.asUintN(64, t.value(sym) + addend);
    const named = this.at(shndx, offset);
    return {
      kind: 'payload',
      section: shndx,
      sectionName: sec.name,
      offset,
      symbol: named?.name ?? null,
      symbolOffset: named ? offset - named.value : offset,
    };
  }
}

const locators = new WeakMap<SymbolTableView, SymbolLocator>();

/** One locator per symbol table: the model and every preflight stage share its index. */
export function locatorFor(elf: ElfFile, symtab: SymbolTableView): SymbolLocator {
  let l = locators.get(symtab);
  if (!l) locators.set(symtab, (l = new SymbolLocator(elf, symtab)));
  return l;
}

/** A literal pointer value: 0 is the null pointer. */
export function addressOf(value: bigint): AddressRef {
  const v = BigInt.asUintN(64, value);
  return v === 0n ? { kind: 'null' } : { kind: 'absolute', value: v };
}
