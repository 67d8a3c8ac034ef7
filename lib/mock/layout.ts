/**
 * Where a payload would sit in hypervisor memory (`move_payload`): an RX, an RW and an RO region,
 * the first two page-aligned, allocated from the livepatch virtual area. The payload model has no
 * section table, so region sizes are estimated from the symbols it defines (each section's extent
 * is its highest symbol end). The addresses only appear in the `x` dump and in the mock's patching
 * of known memory; they are synthetic, like any vmap address, and differ from a real run's.
 */
import type { Payload } from '../payload/model.js';
import type { MachineState } from './state.js';

const PAGE = 4096n;
const pageAlign = (n: bigint) => (n + PAGE - 1n) & ~(PAGE - 1n);

type Region = 'text' | 'rw' | 'ro';

function regionOf(section: string): Region {
  if (section === '.text' || section.startsWith('.text.')) return 'text';
  if (section.startsWith('.data') || section.startsWith('.bss') || section === '.livepatch.funcs') return 'rw';
  return 'ro';
}

export interface Regions {
  readonly text: bigint;
  readonly rw: bigint;
  readonly ro: bigint;
  readonly pages: number;
  /** Address of a symbol the payload defines (its region base + section offset + value). */
  symbolAddress(name: string): bigint;
}

export function allocateRegions(state: MachineState, payload: Payload): Regions {
  const extent = new Map<string, bigint>();
  for (const s of payload.symbols)
    extent.set(
      s.section,
      [extent.get(s.section) ?? 0n, s.value + s.size].reduce((a, b) => (a > b ? a : b)),
    );
  if (payload.modinfo) extent.set('.modinfo', BigInt(payload.modinfo.raw.length));
  if (payload.funcs.length) extent.set('.livepatch.funcs', BigInt(payload.funcs.length * 104));
  const sizes: Record<Region, bigint> = { text: 0n, rw: 0n, ro: 0n };
  const sectionOffset = new Map<string, bigint>();
  for (const [section, size] of [...extent.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const r = regionOf(section);
    const at = (sizes[r] + 15n) & ~15n;
    sectionOffset.set(section, at);
    sizes[r] = at + size;
  }
  const total = pageAlign(sizes.text) + pageAlign(sizes.rw) + sizes.ro;
  const pages = Number(pageAlign(total) / PAGE) || 1;
  const text = state.nextVa;
  const rw = text + pageAlign(sizes.text);
  const ro = rw + pageAlign(sizes.rw);
  state.nextVa = text + BigInt(pages) * PAGE + PAGE; // a guard page between payloads
  const base: Record<Region, bigint> = { text, rw, ro };
  const bySymbol = new Map(payload.symbols.map((s) => [s.name, s]));
  return {
    text,
    rw,
    ro,
    pages,
    symbolAddress(name) {
      const s = bySymbol.get(name);
      if (!s) return text;
      return base[regionOf(s.section)] + (sectionOffset.get(s.section) ?? 0n) + s.value;
    },
  };
}
