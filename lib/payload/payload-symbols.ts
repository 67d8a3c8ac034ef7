import { type ElfFile, SHF_ALLOC, SHF_MERGE, SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_FUNC, type SymbolTableView } from '../elf/index.js';
import type { LivepatchFunc, PayloadSymbol } from './model.js';

/**
 * Whether symbol `i` goes into the hypervisor's table for this payload (Xen's `is_payload_symbol`):
 * defined in a loaded section, named, and not a `.L` local label of a mergeable section.
 */
export function isPayloadSymbol(elf: ElfFile, t: SymbolTableView, i: number): boolean {
  const shndx = t.shndx(i);
  if (shndx === SHN_UNDEF || shndx >= elf.header.shnum || shndx >= elf.sections.length) return false;
  const sec = elf.sections[shndx]!;
  if (!(sec.flags & SHF_ALLOC)) return false;
  const strings = t.strings;
  const nameOffset = t.nameOffset(i);
  if (!strings || strings.isEmpty(nameOffset)) return false;
  if (sec.flags & SHF_MERGE && strings.startsWith(nameOffset, '.L')) return false;
  return true;
}

/** `section:offset` keys of every payload address some function's `new_addr` points to. */
export function newAddrKeys(funcs: readonly LivepatchFunc[]): Set<string> {
  const keys = new Set<string>();
  for (const f of funcs) if (f.newTarget.kind === 'payload') keys.add(`${f.newTarget.section}:${f.newTarget.offset}`);
  return keys;
}

/** The symbols the payload defines in loaded sections (what it adds to or overrides in Xen's table). */
export function definedSymbols(elf: ElfFile, t: SymbolTableView, funcs: readonly LivepatchFunc[]): PayloadSymbol[] {
  const targets = newAddrKeys(funcs);
  const out: PayloadSymbol[] = [];
  for (let i = 1; i < t.count; i++) {
    if (!isPayloadSymbol(elf, t, i)) continue;
    const shndx = t.shndx(i);
    const value = t.value(i);
    const bind = t.bind(i);
    out.push({
      name: t.name(i) ?? '',
      section: elf.sections[shndx]!.name ?? String(shndx),
      sectionIndex: shndx,
      value,
      size: t.size(i),
      isFunction: t.type(i) === STT_FUNC,
      isGlobal: bind === STB_GLOBAL || bind === STB_WEAK,
      replacesFunction: targets.has(`${shndx}:${value}`),
    });
  }
  return out;
}

/** Names of the undefined symbols (index 0, the null symbol, is not one). */
export function undefinedSymbolNames(t: SymbolTableView): string[] {
  const out: string[] = [];
  const shndx = t.columns().shndx;
  for (let i = 1; i < t.count; i++) if (shndx[i] === SHN_UNDEF) out.push(t.name(i) ?? '');
  return out;
}
