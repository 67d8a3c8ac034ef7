import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, type SectionHeader } from '../../elf/index.js';
import { lp } from '../console.js';
import { PAGE_SIZE } from '../address-space.js';
import { label, type LoadState } from './state.js';

/** `move_payload`'s placement of the loaded sections: three regions, text, then RW, then RO. */
export interface Layout {
  /** Region sizes as Xen accumulates them (not page-aligned). */
  readonly textSize: bigint;
  readonly rwSize: bigint;
  readonly roSize: bigint;
  /** Offset of each loaded section from the start of the payload's allocation, by section index. */
  readonly base: ReadonlyMap<number, bigint>;
  /** Pages Xen allocates. */
  readonly pages: bigint;
}

type Region = 'text' | 'rw' | 'ro';
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const pageAlign = (v: bigint): bigint => U64((v + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n));
/** Beyond this the vmap area the payload goes in (under 1 GiB) cannot hold it. */
const ALLOCATION_LIMIT = 1n << 30n;

/** Which region a loaded section goes to, or null for one both writable and executable. */
function regionOf(sec: SectionHeader): Region | null {
  const x = (sec.flags & SHF_EXECINSTR) !== 0n;
  const w = (sec.flags & SHF_WRITE) !== 0n;
  if (x && !w) return 'text';
  if (!x && w) return 'rw';
  if (!x && !w) return 'ro';
  return null;
}

/**
 * `move_payload`: every loaded section must be RX, RW or RO (else EOPNOTSUPP, silently), then the
 * sections are laid out with `calc_section`. That arithmetic is imitated exactly (64-bit sizes,
 * 32-bit offsets, and `ROUNDUP(x, 0)` being 0): an alignment of 0 makes Xen place a section at
 * offset 0 of its region and restart the region size from there, which can overlap or overflow.
 */
export function checkLayout(s: LoadState): void {
  const { findings: f } = s;
  const sections = s.elf!.sections;
  let writableExec = false;
  for (let i = 1; i < sections.length; i++) {
    const sec = sections[i]!;
    if (sec.flags & SHF_ALLOC && regionOf(sec) === null) {
      f.add(
        'section-write-exec',
        `Section ${i} (${label(sec)}) is loaded, writable ` + `and executable; Xen loads only RX, RW or RO sections.`,
        { section: label(sec), field: 'sh_flags' },
      );
      writableExec = true;
    }
  }
  if (writableExec) return;

  const size: Record<Region, bigint> = { text: 0n, rw: 0n, ro: 0n };
  const placed: { sec: SectionHeader; region: Region; offset: bigint }[] = [];
  for (let i = 1; i < sections.length; i++) {
    const sec = sections[i]!;
    if (!(sec.flags & SHF_ALLOC)) continue;
    const region = regionOf(sec)!;
    const a = sec.addralign;
    const aligned = U64((size[region] + a - 1n) & ~U64(a - 1n));
    placed.push({ sec, region, offset: BigInt.asUintN(32, aligned) });
    size[region] = U64(sec.size + aligned);
  }
  const rwStart = pageAlign(size.text);
  const roStart = U64(rwStart + pageAlign(size.rw));
  const total = U64(roStart + size.ro);
  const pages = (total + PAGE_SIZE - 1n) / PAGE_SIZE;
  const start: Record<Region, bigint> = { text: 0n, rw: rwStart, ro: roStart };
  const base = new Map<number, bigint>();
  for (const p of placed) base.set(p.sec.index, start[p.region] + p.offset);

  if (total > ALLOCATION_LIMIT) {
    f.add(
      'payload-allocation',
      `Xen would need ${total} bytes to load the payload (text ${size.text}, RW ${size.rw}, ` +
        `RO ${size.ro}); the area payloads are loaded into is smaller than 1 GiB.`,
      {
        console: lp(s.name, 'Could not allocate memory for payload'),
      },
    );
    return;
  }

  // Xen copies each section to its place; anything past the region's end lands in the next
  // region or past the allocation.
  const regionEnd: Record<Region, bigint> = { text: size.text, rw: size.rw, ro: size.ro };
  for (const p of placed) {
    if (p.sec.size === 0n) continue;
    const end = p.offset + p.sec.size;
    if (end > regionEnd[p.region]) {
      f.add(
        'section-layout-overflow',
        `Section ${p.sec.index} (${label(p.sec)}) is placed at offset ${p.offset} of ` +
          `the ${p.region} region, which Xen sized to ${regionEnd[p.region]} bytes: copying it ` +
          `writes ${end - regionEnd[p.region]} bytes past it (an alignment of 0 reset the size).`,
        {
          section: label(p.sec),
          field: 'sh_addralign',
        },
      );
    }
  }
  for (const region of ['text', 'rw', 'ro'] as const) {
    const inRegion = placed
      .filter((p) => p.region === region && p.sec.size > 0n)
      .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    // Sorted by start: a section overlaps an earlier one iff it starts before the furthest end so far.
    let furthest = inRegion[0];
    for (let k = 1; k < inRegion.length; k++) {
      const prev = furthest!;
      const cur = inRegion[k]!;
      if (cur.offset + cur.sec.size > prev.offset + prev.sec.size) furthest = cur;
      if (cur.offset < prev.offset + prev.sec.size) {
        f.add(
          'section-layout-overlap',
          `Sections ${prev.sec.index} (${label(prev.sec)}) and ${cur.sec.index} (${label(cur.sec)}) are ` +
            `placed over each other in the ${region} region (an alignment of 0 puts a section at offset 0).`,
          {
            section: label(cur.sec),
            field: 'sh_addralign',
          },
        );
      }
    }
  }
  s.layout = { textSize: size.text, rwSize: size.rw, roSize: size.ro, base, pages };
}
