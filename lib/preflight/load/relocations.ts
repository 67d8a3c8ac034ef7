import {
  R_X86_64_64,
  R_X86_64_NONE,
  R_X86_64_PC32,
  R_X86_64_PLT32,
  RELA_SIZE,
  REL_SIZE,
  relocationTypeName,
  saturate,
  SHF_ALLOC,
  SHN_ABS,
  SHN_UNDEF,
  SHT_REL,
  SHT_RELA,
} from '../../elf/index.js';
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
  const shnum = elf.header.shnum;
  for (let i = 1; i < elf.sections.length; i++) {
    const r = elf.sections[i]!;
    if (r.type !== SHT_RELA && r.type !== SHT_REL) continue;
    if (r.info >= shnum) continue;
    const where = { section: label(r) };
    if (r.info === 0) {
      f.add(
        'relocation-target-null',
        `Relocation section ${i} (${label(r)}) applies to section ` + `0: Xen reads section 0's header through a NULL pointer.`,
        { ...where, field: 'sh_info' },
      );
      continue;
    }
    const base = elf.sections[r.info]!;
    if (!(base.flags & SHF_ALLOC)) continue;
    if (r.link !== s.symtabIndex) {
      f.add(
        'relocation-symtab-link',
        `Relocation section ${i} (${label(r)}) links to section ${r.link}, ` + `not to the symbol table (section ${s.symtabIndex}).`,
        {
          ...where,
          field: 'sh_link',
          console: lp(name, `Relative link of ${label(r)} is incorrect (${cInt(r.link)}, expected=${s.symtabIndex})`),
        },
      );
      s.relocationsFailed.add(r.info);
      continue;
    }
    if (r.size === 0n) continue;
    const min = BigInt(r.type === SHT_RELA ? RELA_SIZE : REL_SIZE);
    if (r.entsize < min || r.size % r.entsize) {
      f.add(
        'relocation-section-corrupted',
        `Relocation section ${i} (${label(r)}) has entry size ${r.entsize} ` + `for ${r.size} bytes (needs a multiple of at least ${min}).`,
        { ...where, field: 'sh_entsize', console: lp(name, 'Section relative header is corrupted') },
      );
      s.relocationsFailed.add(r.info);
      continue;
    }
    if (r.type === SHT_REL) {
      f.add('relocation-rel-unsupported', `Relocation section ${i} (${label(r)}) is SHT_REL; x86 Xen only applies SHT_RELA.`, {
        ...where,
        field: 'sh_type',
        console: lp(name, 'SHT_REL relocation unsupported'),
      });
      s.relocationsFailed.add(r.info);
      continue;
    }
    checkRelaEntries(s, i);
  }
}

/** Where each symbol is, for the PC32 fast path: in the payload, in the hypervisor's window, or to compute. */
const IN_PAYLOAD = 0;
const IN_WINDOW = 1;
const EXACT = 2;
const UNKNOWN = 3;

function symbolPlaces(s: LoadState): Uint8Array {
  const t = s.symtab!;
  const places = new Uint8Array(t.count);
  const xen = s.context?.xenSymbols;
  const shndx = t.columns().shndx;
  const base = s.layout?.base;
  const inLayout = new Uint8Array(s.elf!.sections.length);
  for (const i of base?.keys() ?? []) inLayout[i] = 1;
  for (let i = 1; i < t.count; i++) {
    const idx = shndx[i]!;
    if (idx < inLayout.length && inLayout[idx]) places[i] = IN_PAYLOAD;
    else if (idx === SHN_UNDEF) {
      const v = xen?.get(t.name(i) ?? '');
      places[i] = v === undefined || (v >= XEN_WINDOW.lo && v <= XEN_WINDOW.hi) ? IN_WINDOW : EXACT;
    } else if (idx === SHN_ABS) places[i] = EXACT;
    else places[i] = UNKNOWN;
  }
  return places;
}

/** A 64-bit addend from its two words, as a number when it fits in 32 signed bits, else NaN. */
function smallAddend(low: number, high: number): number {
  if (high === 0 && low < 0x8000_0000) return low;
  if (high === 0xffff_ffff && low >= 0x8000_0000) return low - 0x1_0000_0000;
  return Number.NaN;
}

/** Below this, an addend cannot take a payload-to-payload or window-to-window PC32 out of reach. */
const SMALL_ADDEND = 2 ** 30;

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
  const size = saturate(base.size);
  const places = (s.symbolPlaces ??= symbolPlaces(s));
  const failed = (): void => void s.relocationsFailed.add(base.index);
  // Built only for a finding: the loop runs once per relocation of the payload.
  const whereOf = (j: number) => ({ section: label(r), offset: j * view.entsize });
  // Aligned entries are read as words: r_offset (2), r_info (type, sym), r_addend (2).
  const words = view.words();
  const stride = view.entsize / 4;
  for (let j = 0; j < view.count; j++) {
    const w = j * stride;
    const sym = words ? words[w + 3]! : view.sym(j);
    const type = words ? words[w + 2]! : view.type(j);
    if (sym === 0) {
      f.add('relocation-null-symbol', `Relocation ${j} of ${label(r)} refers to symbol 0 (STN_UNDEF).`, {
        ...whereOf(j),
        field: 'r_info',
        console: lp(name, 'Encountered STN_UNDEF'),
      });
      failed();
      continue;
    }
    if (sym >= t.count) {
      f.add('relocation-symbol-out-of-range', `Relocation ${j} of ${label(r)} refers to symbol ${sym}; the symbol table has ${t.count}.`, {
        ...whereOf(j),
        field: 'r_info',
        console: lp(name, `Relative relocation wants symbol@${sym} which is past end`),
      });
      failed();
      continue;
    }
    if (ignored[sym]) {
      const n = t.name(sym) ?? '';
      const sec = elf.sections[t.shndx(sym)];
      f.add(
        'relocation-ignored-symbol',
        `Relocation ${j} of ${label(r)} refers to ${n || `symbol ${sym}`}, ` + `defined in ${label(sec)}, which Xen does not load.`,
        {
          ...whereOf(j),
          symbol: n,
          field: 'r_info',
          console: lp(name, `Relocation against ignored symbol ${n} cannot be resolved`),
        },
      );
      failed();
      continue;
    }
    if (type === R_X86_64_NONE) continue;
    const width = type === R_X86_64_64 ? 8 : type === R_X86_64_PC32 || type === R_X86_64_PLT32 ? 4 : 0;
    if (width === 0) {
      f.add(
        'relocation-type-unsupported',
        `Relocation ${j} of ${label(r)} is ${relocationTypeName(type)}; ` + `Xen applies only R_X86_64_NONE, _64, _PC32 and _PLT32.`,
        {
          ...whereOf(j),
          symbol: t.name(sym),
          field: 'r_info',
          console: lp(name, `Unhandled relocation ${type}`),
        },
      );
      failed();
      continue;
    }
    const off = words
      ? words[w + 1]! >= 0x20_0000
        ? Number.POSITIVE_INFINITY
        : words[w + 1]! * 0x1_0000_0000 + words[w]!
      : view.offsetNumber(j);
    if (off >= size || off + width > size) {
      f.add(
        'relocation-offset',
        `Relocation ${j} of ${label(r)} writes ${width} bytes at ` + `offset ${view.offset(j)} of ${label(base)}, which has ${base.size}.`,
        {
          ...whereOf(j),
          symbol: t.name(sym),
          field: 'r_offset',
          console: lp(name, `Relative relocation offset is past ${label(base)} section`),
        },
      );
      failed();
      continue;
    }
    if (width !== 4 || bad[sym]) continue;
    // The common case, decided without bigint: both ends in the payload, or both in Xen's window.
    const place = places[sym]!;
    if (place === IN_PAYLOAD || place === IN_WINDOW) {
      const small = words ? smallAddend(words[w + 4]!, words[w + 5]!) : view.smallAddend(j);
      if (Math.abs(small) < SMALL_ADDEND) continue;
    }
    if (place === UNKNOWN) continue;
    checkPc32(s, index, j, sym, view.offset(j), view.addend(j));
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
    s.findings.add(
      'relocation-overflow',
      `Relocation ${j} of ${label(r)} ` +
        `to ${n}${addend ? ` ${addend < 0n ? '-' : '+'} ${addend < 0n ? -addend : addend}` : ''} cannot ` +
        `reach it from ${label(base)}: the PC-relative value${value} does not fit in 32 bits.`,
      {
        ...where,
        console: lp(s.name, `Overflow in relocation ${j} in ${label(r)} for ${label(base)}`),
      },
    );
  } else {
    s.findings.add(
      'relocation-overflow-unverified',
      `Relocation ${j} of ${label(r)} to ${n} reaches its target ` + `only if the hypervisor places it within 2 GiB of the payload.`,
      where,
    );
  }
}
