import { SHF_ALLOC, SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF } from '../../elf/index.js';
import { cHex, lp } from '../console.js';
import { label, type LoadState, lookupSymbol } from './state.js';

/**
 * `livepatch_elf_resolve_symbols`: COMMON symbols, undefined symbols (looked up in the hypervisor's
 * table, then in the loaded payloads' new symbols), reserved and out-of-range section indexes.
 * Symbols defined in unloaded sections are marked ignored (relocations against them fail later).
 */
export function resolveSymbols(s: LoadState): void {
  const t = s.symtab!;
  const { findings: f, name } = s;
  const shnum = s.elf!.header.shnum;
  const sections = s.elf!.sections;
  const ignored = new Uint8Array(t.count);
  const bad = new Uint8Array(t.count);
  const symSection = label(sections[s.symtabIndex]);
  const shndx = t.columns().shndx;
  // Per section: loaded (SHF_ALLOC) or not, so the loop below does no bigint flag test per symbol.
  const loaded = new Uint8Array(sections.length);
  for (const sec of sections) loaded[sec.index] = sec.flags & SHF_ALLOC ? 1 : 0;
  const whereOf = (i: number) => ({ section: symSection, offset: i * t.entsize, field: 'st_shndx' });
  for (let i = 1; i < t.count; i++) {
    const idx = shndx[i]!;
    // The common case first: a symbol of a loaded section.
    if (idx !== SHN_UNDEF && idx < shnum && idx < SHN_LORESERVE) {
      if (!loaded[idx]) ignored[i] = 1;
      continue;
    }
    const where = whereOf(i);
    if (idx === SHN_COMMON) {
      const n = t.name(i) ?? '';
      f.add('common-symbol', `Symbol ${i} (${n}) is a COMMON symbol; build with -fno-common.`, {
        ...where,
        symbol: n,
        console: lp(name, `Unexpected common symbol: ${n}`),
      });
      bad[i] = 1;
    } else if (idx === SHN_UNDEF) {
      const n = t.name(i) ?? '';
      const found = lookupSymbol(s, n);
      if (found === 'missing') {
        const what =
          n === ''
            ? 'has an empty name, which the hypervisor never resolves'
            : "is neither in the hypervisor symbol table nor among the loaded payloads' symbols";
        f.add('undefined-symbol', `Undefined symbol ${i} (${n || '""'}) ${what}.`, {
          ...where,
          symbol: n,
          console: lp(name, `Unknown symbol: ${n}`),
        });
        bad[i] = 1;
      } else if (found === 'unknown') s.unverified.symbols.add(n);
    } else if (idx === SHN_ABS) {
      // Absolute: used as is.
    } else if (idx >= SHN_LORESERVE || idx >= shnum) {
      const reserved = idx >= SHN_LORESERVE;
      const n = t.name(i) ?? '';
      f.add(
        reserved ? 'symbol-section-reserved' : 'symbol-section-out-of-range',
        reserved
          ? `Symbol ${i} (${n}) has the reserved section index ${cHex(idx)}.`
          : `Symbol ${i} (${n}) is in section ${idx}, but there are only ${shnum} sections.`,
        {
          ...where,
          symbol: n,
          console: lp(name, `Out of bounds symbol section ${cHex(idx)}`),
        },
      );
      bad[i] = 1;
    }
  }
  s.ignored = ignored;
  s.badSymbol = bad;
}
