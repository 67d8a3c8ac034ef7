import { FUNC_SIZE_V2, isPayloadSymbol, RelocatedSection, locatorFor, decodeFuncs, truncateSymbolName } from '../../payload/index.js';
import { lp } from '../console.js';
import { label, type LoadState } from './state.js';

/**
 * `build_symbol_table`: every payload symbol that is not some function's `new_addr` becomes a new
 * hypervisor symbol, and must not already be one (in Xen, or among the loaded payloads' new
 * symbols). Checkable against loaded payloads always, against Xen only with its symbol table.
 */
export function checkSymbolTable(s: LoadState): void {
  const ctx = s.context;
  const xen = ctx?.xenSymbols;
  const loaded = s.loadedSymbols;
  if (!xen && loaded.size === 0) return; // nothing to compare with (reported once, with S14)
  const elf = s.elf!;
  const t = s.symtab!;
  const funcsSec = elf.sectionByName('.livepatch.funcs');
  const targets = new Set<string>();
  if (funcsSec) {
    const funcs = decodeFuncs(elf, new RelocatedSection(elf, funcsSec, locatorFor(elf, t)), FUNC_SIZE_V2);
    for (const f of funcs) if (f.newTarget.kind === 'payload') targets.add(`${f.newTarget.section}:${f.newTarget.offset}`);
  }
  for (let i = 1; i < t.count; i++) {
    if (!isPayloadSymbol(elf, t, i)) continue;
    if (targets.has(`${t.shndx(i)}:${t.value(i)}`)) continue; // overrides the old function
    const n = truncateSymbolName(t.name(i) ?? '');
    const inXen = xen ? (xen.get(n) ?? 0n) !== 0n : false;
    if (inXen || loaded.has(n)) {
      const owner = inXen ? 'the hypervisor' : `loaded payload "${loaded.get(n)}"`;
      s.findings.add(
        'duplicate-symbol',
        `Symbol ${n} (in ${label(elf.sections[t.shndx(i)])}) would be added to ` +
          `the hypervisor's symbol table, but ${owner} already has one of that name.`,
        {
          section: label(elf.sections[s.symtabIndex]),
          offset: i * t.entsize,
          symbol: n,
          console: lp(s.name, `duplicate new symbol: ${n}`),
        },
      );
    }
  }
}
