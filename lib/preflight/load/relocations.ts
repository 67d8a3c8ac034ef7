import { R_X86_64_64, R_X86_64_NONE, R_X86_64_PC32, R_X86_64_PLT32, RELA_SIZE, REL_SIZE, relocationTypeName, SHF_ALLOC, SHN_ABS, SHN_UNDEF, SHT_REL, SHT_RELA } from '../../elf/index.js';
import { type AddressRange, difference, exactly, within, XEN_VIRT_START, XEN_WINDOW } from '../address-space.js';
import { cInt, lp } from '../console.js';
import { label, type LoadState } from './state.js';

const S32_MIN = -(1n << 31n);
const S32_END = 1n << 31n;

/**
 * Where symbol `i` is once loaded: an offset from the payload's start (its own sections), an
 * address range (the hypervisor's or an absolute symbol), or null when unknown.
 */
export function symbolAddress(s: LoadState, i: number): { payload: bigint } | { range: AddressRange } | null {
  const t = s.symtab!;
  const idx = t.shndx(i);
  if (idx === SHN_ABS) return { range: exactly(t.value(i)) };
  if (idx === SHN_UNDEF) {
    const v = s.context?.xenSymbols?.get(t.name(i) ?? '');
    // Unknown hypervisor or payload symbols are somewhere in the hypervisor's 1 GiB window.
    return { range: v ? exactly(v) : XEN_WINDOW };
  }
  const base = s.layout?.base.get(idx);
  return base === undefined ? null : { payload: base + t.value(i) };
}

/** A payload offset as an address range: the payload is loaded somewhere in the window. */
export function payloadRange(offset: bigint): AddressRange {
  return { lo: XEN_VIRT_START + offset, hi: XEN_WINDOW.hi };
}

/**
 * `livepatch_elf_perform_relocs` and `arch_livepatch_perform_rela`, section by section and entry by
 * entry in Xen's order. Relocation sections with an out-of-range target, an unloaded target, or no
 * entries are skipped, as Xen skips them; but Xen checks the symbol-table link before skipping an
 * empty one.
 */
export function checkRelocations(s: LoadState): void {
  const elf = s.elf!;
  const { findings: f, name } = s;
  const t = s.symtab!;
  const shnum = elf.header.shnum;
  for (let i = 1; i < elf.sections.length; i++) {
    const r = elf.sections[i]!;
    if (r.type !== SHT_RELA && r.type !== SHT_REL) continue;
    if (r.info >= shnum) continue;
    const where = { section: label(r) };
    if (r.info === 0) {
      f.add('relocation-target-null', `Relocation section ${i} (${label(r)}) applies to section 0: Xen reads section 0's header through a NULL pointer.`, { ...where, field: 'sh_info' });
      continue;
    }
    const base = elf.sections[r.info]!;
    if (!(base.flags & SHF_ALLOC)) continue;
    if (r.link !== s.symtabIndex) {
      f.add('relocation-symtab-link', `Relocation section ${i} (${label(r)}) links to section ${r.link}, not to the symbol table (section ${s.symtabIndex}).`, {
        ...where,
        field: 'sh_link',
        console: lp(name, `Relative link of ${label(r)} is incorrect (${cInt(r.link)}, expected=${s.symtabIndex})`),
      });
      s.relocationsFailed.add(r.info);
      continue;
    }
    if (r.size === 0n) continue;
    const min = BigInt(r.type === SHT_RELA ? RELA_SIZE : REL_SIZE);
    if (r.entsize < min || r.size % r.entsize) {
      f.add('relocation-section-corrupted', `Relocation section ${i} (${label(r)}) has entry size ${r.entsize} for ${r.size} bytes (needs a multiple of at least ${min}).`, { ...where, field: 'sh_entsize', console: lp(name, 'Section relative header is corrupted') });
      s.relocationsFailed.add(r.info);
      continue;
    }
    if (r.type === SHT_REL) {
      f.add('relocation-rel-unsupported', `Relocation section ${i} (${label(r)}) is SHT_REL; x86 Xen only applies SHT_RELA.`, { ...where, field: 'sh_type', console: lp(name, 'SHT_REL relocation unsupported') });
      s.relocationsFailed.add(r.info);
      continue;
    }
    checkRelaEntries(s, i);
  }
}

function checkRelaEntries(s: LoadState, index: number): void {
  const elf = s.elf!;
  const { findings: f, name } = s;
  const r = elf.sections[index]!;
  const base = elf.sections[r.info]!;
  const view = elf.relocations(index);
  if (!view) return;
  const t = s.symtab!;
  const ignored = s.ignored!;
  const bad = s.badSymbol!;
  const size = base.size;
  const failed = (): void => void s.relocationsFailed.add(base.index);
  for (let j = 0; j < view.count; j++) {
    const sym = view.sym(j);
    const type = view.type(j);
    const where = { section: label(r), offset: j * view.entsize };
    if (sym === 0) {
      f.add('relocation-null-symbol', `Relocation ${j} of ${label(r)} refers to symbol 0 (STN_UNDEF).`, { ...where, field: 'r_info', console: lp(name, 'Encountered STN_UNDEF') });
      failed();
      continue;
    }
    if (sym >= t.count) {
      f.add('relocation-symbol-out-of-range', `Relocation ${j} of ${label(r)} refers to symbol ${sym}; the symbol table has ${t.count}.`, { ...where, field: 'r_info', console: lp(name, `Relative relocation wants symbol@${sym} which is past end`) });
      failed();
      continue;
    }
    if (ignored[sym]) {
      const n = t.name(sym) ?? '';
      const sec = elf.sections[t.shndx(sym)];
      f.add('relocation-ignored-symbol', `Relocation ${j} of ${label(r)} refers to ${n || `symbol ${sym}`}, defined in ${label(sec)}, which Xen does not load.`, {
        ...where,
        symbol: n,
        field: 'r_info',
        console: lp(name, `Relocation against ignored symbol ${n} cannot be resolved`),
      });
      failed();
      continue;
    }
    if (type === R_X86_64_NONE) continue;
    const width = type === R_X86_64_64 ? 8n : type === R_X86_64_PC32 || type === R_X86_64_PLT32 ? 4n : 0n;
    if (width === 0n) {
      f.add('relocation-type-unsupported', `Relocation ${j} of ${label(r)} is ${relocationTypeName(type)}; Xen applies only R_X86_64_NONE, _64, _PC32 and _PLT32.`, {
        ...where,
        symbol: t.name(sym),
        field: 'r_info',
        console: lp(name, `Unhandled relocation ${type}`),
      });
      failed();
      continue;
    }
    const off = view.offset(j);
    if (off >= size || off + width > size) {
      f.add('relocation-offset', `Relocation ${j} of ${label(r)} writes ${width} bytes at offset ${off} of ${label(base)}, which has ${size}.`, {
        ...where,
        symbol: t.name(sym),
        field: 'r_offset',
        console: lp(name, `Relative relocation offset is past ${label(base)} section`),
      });
      failed();
      continue;
    }
    if (width === 4n && !bad[sym]) checkPc32(s, index, j, sym, off, view.addend(j));
  }
}

/** R_X86_64_PC32/PLT32: `S + A - P` must fit in a signed 32-bit field. */
function checkPc32(s: LoadState, index: number, j: number, sym: number, off: bigint, addend: bigint): void {
  const r = s.elf!.sections[index]!;
  const base = s.elf!.sections[r.info]!;
  const target = symbolAddress(s, sym);
  const placeBase = s.layout?.base.get(base.index);
  if (!target || placeBase === undefined) return;
  const place = placeBase + off;
  let verdict: 'always' | 'never' | 'maybe';
  let value = '';
  if ('payload' in target) {
    const v = BigInt.asIntN(64, target.payload + addend - place);
    verdict = v >= S32_MIN && v < S32_END ? 'always' : 'never';
    value = ` (${v})`;
  } else {
    const d = difference({ lo: target.range.lo + addend, hi: target.range.hi + addend }, payloadRange(place));
    verdict = within(d, S32_MIN, S32_END);
  }
  if (verdict === 'always') return;
  const n = s.symtab!.name(sym) ?? '';
  const where = { section: label(r), offset: j * s.elf!.relocations(index)!.entsize, symbol: n, field: 'r_addend' };
  if (verdict === 'never') {
    s.findings.add('relocation-overflow', `Relocation ${j} of ${label(r)} to ${n}${addend ? ` ${addend < 0n ? '-' : '+'} ${addend < 0n ? -addend : addend}` : ''} cannot reach it from ${label(base)}: the PC-relative value${value} does not fit in 32 bits.`, {
      ...where,
      console: lp(s.name, `Overflow in relocation ${j} in ${label(r)} for ${label(base)}`),
    });
  } else {
    s.findings.add('relocation-overflow-unverified', `Relocation ${j} of ${label(r)} to ${n} reaches its target only if the hypervisor places it within 2 GiB of the payload.`, where);
  }
}
