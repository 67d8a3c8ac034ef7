/**
 * Targeted mutations of valid payloads: the fields the hypervisor reads, each with the values at
 * which a reader's bounds checks change their answer. Random bytes almost never land there (an
 * `sh_entsize` of exactly 0 in a RELA section, a section that ends one byte past the file), so
 * every field slot carries its "edges", computed from the file's own structure:
 *   offsets: the file end, the file end minus the section's size, wrap-around values (2^64 - size);
 *   sizes: what reaches exactly to the file end, 0, 2^32 + size (counts that overflow 32 bits);
 *   entry sizes: 0, 1, the structure's size and one either side, 2^32 + the size;
 *   indexes: the count of what they index (the first invalid one), the last valid one, SHN_*;
 *   name offsets: the string table's size and around it.
 * A mutation writes an edge, the field's own value, or an interesting constant, each nudged by a
 * small step, so the values just inside and just outside every bound come up all the time.
 * Inputs are plain data (absolute values), so a failing one can be printed and replayed.
 */
import {
  EHDR_FIELDS,
  readElf,
  RELA_FIELDS,
  SHDR_FIELDS,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SYM_FIELDS,
} from '../../lib/elf/index.js';
import { FUNC_FIELDS } from '../../lib/payload/index.js';
import type { Rng } from '../../scripts/fuzz/rng.js';

export type SlotGroup = 'ehdr' | 'shdr' | 'sym' | 'rela' | 'note' | 'funcs' | 'array';

export interface TargetedSlot {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
  readonly group: SlotGroup;
  /** `sh_entsize of section 5 (.rela.text)`: for people reading a counterexample. */
  readonly label: string;
  /** The values around which this field's checks change their answer. */
  readonly edges: readonly bigint[];
  /** How often it is picked within its group, relative to the others. */
  readonly weight: number;
}

export interface TargetedFixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly slots: readonly TargetedSlot[];
  /** The slots by group, for picking a group first (symbols would otherwise crowd out headers). */
  readonly groups: ReadonlyMap<SlotGroup, SlotGroupTable>;
  /** Offsets worth cutting the file at: where structures begin and end. */
  readonly cuts: readonly number[];
}

export type Edit =
  | { readonly kind: 'set'; readonly offset: number; readonly size: 1 | 2 | 4 | 8; readonly value: bigint; readonly label: string }
  | { readonly kind: 'byte'; readonly offset: number; readonly value: number };

export interface TargetedInput {
  readonly fixture: string;
  readonly edits: readonly Edit[];
  /** Keep only this many bytes, when set. */
  readonly truncate: number | null;
  /** Check as Xen head (otherwise 4.17). */
  readonly head: boolean;
  /** Check with a system context (build-id, symbols, loaded payloads). */
  readonly context: boolean;
}

const U64_MAX = (1n << 64n) - 1n;
const WIDE = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  1n << 32n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 63n) - 1n,
  1n << 63n,
  U64_MAX,
];

const SIZES = new Set([1, 2, 4, 8]);

/** The section header fields whose bounds the readers check most, picked more often. */
const SHDR_FIELD_WEIGHT: Readonly<Record<string, number>> = {
  sh_entsize: 6,
  sh_size: 6,
  sh_offset: 4,
  sh_link: 2,
  sh_info: 2,
  sh_addr: 0.5,
};

/** Sections of tables and of what Xen relocates are picked more often than plain ones. */
function sectionWeight(type: number, name: string | null): number {
  if (type === SHT_RELA || type === SHT_REL || type === SHT_SYMTAB) return 3;
  if (type === SHT_STRTAB || name?.startsWith('.livepatch.') || name?.startsWith('.note')) return 2;
  return 1;
}

/** Finds every field slot of a valid payload, with its edges. */
export function targetedFixture(name: string, bytes: Uint8Array): TargetedFixture {
  const len = BigInt(bytes.length);
  const slots: TargetedSlot[] = [];
  const cuts = new Set<number>([0, 16, 52, 64, bytes.length]);
  const add = (group: SlotGroup, offset: number, size: number, label: string, edges: readonly bigint[], weight = 1) => {
    if (SIZES.has(size) && offset + size <= bytes.length)
      slots.push({ offset, size: size as TargetedSlot['size'], group, label, edges, weight });
  };
  const { elf } = readElf(bytes);
  const shnum = BigInt(elf?.sections.length ?? 0);
  for (const [field, f] of Object.entries(EHDR_FIELDS)) {
    const edges: bigint[] = [];
    if (field === 'e_shoff') edges.push(len - 64n * shnum, len, len - 64n, 64n, len + 1n);
    if (field === 'e_shnum' || field === 'e_shstrndx') edges.push(shnum, shnum - 1n, 0n, 0xff00n, 0xffffn);
    if (field === 'e_shentsize' || field === 'e_ehsize') edges.push(64n, 63n, 65n, 0n);
    if (field === 'e_ident[EI_CLASS]' || field === 'e_ident[EI_DATA]' || field === 'e_ident[EI_VERSION]') edges.push(0n, 1n, 2n, 3n);
    if (field === 'e_type' || field === 'e_machine' || field === 'e_version') edges.push(0n, 1n, 2n, 3n, 62n, 0x3en);
    add('ehdr', f.offset, f.size, field, edges);
  }
  if (!elf) return { name, bytes, slots, groups: groupsOf(slots), cuts: [...cuts].sort((a, b) => a - b) };
  const shoff = Number(elf.header.shoff);
  cuts.add(shoff);
  const symtabIndex = elf.symbolTableIndex();
  const symtab = elf.symbols(symtabIndex);
  const symCount = BigInt(symtab?.count ?? 0);
  for (const s of elf.sections) {
    const where = `section ${s.index} (${s.name ?? '?'})`;
    cuts.add(s.headerOffset);
    cuts.add(s.headerOffset + 64);
    if (s.type !== SHT_NOBITS && s.offset + s.size <= len) {
      cuts.add(Number(s.offset));
      cuts.add(Number(s.offset + s.size));
    }
    const entry =
      s.type === SHT_SYMTAB ? 24n : s.type === SHT_RELA ? 24n : s.type === SHT_REL ? 16n : s.name === '.livepatch.funcs' ? 104n : s.entsize;
    for (const [field, f] of Object.entries(SHDR_FIELDS)) {
      const edges: bigint[] = [];
      switch (field) {
        case 'sh_offset':
          edges.push(len - s.size, len, len + 1n, BigInt.asUintN(64, -s.size), BigInt.asUintN(64, 1n - s.size), 0n, BigInt(shoff));
          break;
        case 'sh_size':
          edges.push(
            len - s.offset,
            len - s.offset + 1n,
            0n,
            BigInt.asUintN(64, -s.offset),
            (1n << 32n) + s.size,
            s.size + entry,
            s.size - entry,
          );
          if (entry > 0n) edges.push(entry * (1n << 32n), (entry * ((1n << 32n) + 1n)) & U64_MAX, entry - 1n);
          break;
        case 'sh_entsize':
          edges.push(0n, 1n, entry - 1n, entry, entry + 1n, (1n << 32n) + entry, s.size, s.size + 1n, 1n << 63n);
          break;
        case 'sh_link':
        case 'sh_info':
          edges.push(0n, shnum - 1n, shnum, BigInt(Math.max(symtabIndex, 0)), symCount, symCount + 1n, 0xffffffffn);
          if (s.type === SHT_SYMTAB && field === 'sh_info') edges.push(BigInt(s.info) - 1n, BigInt(s.info) + 1n);
          break;
        case 'sh_addralign':
          edges.push(0n, 1n, 2n, 3n, 4n, 8n, 16n, 4096n, 8192n, 1n << 32n, 1n << 63n, U64_MAX);
          break;
        case 'sh_type':
          edges.push(0n, 1n, 2n, 3n, 4n, 7n, 8n, 9n, 11n, 0x6ffffff0n, 0x70000001n);
          break;
        case 'sh_flags':
          edges.push(0n, 1n, 2n, 3n, 6n, 0x40n, 0x200n, 0x400n, 0x800n, 0x80000000n);
          break;
        case 'sh_name': {
          const names = elf.sections[elf.header.shstrndx];
          if (names) edges.push(names.size - 1n, names.size, names.size + 1n);
          break;
        }
        default:
          break;
      }
      add(
        'shdr',
        s.headerOffset + f.offset,
        f.size,
        `${field} of ${where}`,
        edges,
        (SHDR_FIELD_WEIGHT[field] ?? 1) * sectionWeight(s.type, s.name),
      );
    }
    if ((s.type === SHT_RELA || s.type === SHT_REL) && s.offset + s.size <= len) {
      const v = elf.relocations(s.index);
      const target = elf.sections[s.info];
      const tsize = target?.size ?? 0n;
      for (let i = 0; v && i < Math.min(v.count, 64); i++) {
        for (const [field, f] of Object.entries(RELA_FIELDS)) {
          if (field === 'r_info') continue; // r_type and r_sym cover it
          const edges: bigint[] = [];
          if (field === 'r_offset') edges.push(tsize - 4n, tsize - 8n, tsize - 1n, tsize, BigInt.asUintN(64, -4n), U64_MAX);
          if (field === 'r_sym') edges.push(0n, symCount - 1n, symCount, 0xffffffffn);
          if (field === 'r_type') edges.push(0n, 1n, 2n, 4n, 9n, 10n, 11n, 24n, 42n, 43n);
          if (field === 'r_addend')
            edges.push(0n, BigInt.asUintN(64, -4n), 1n << 31n, (1n << 31n) - 1n, BigInt.asUintN(64, -(1n << 31n)), 1n << 63n);
          add('rela', v.entryOffset(i) + f.offset, f.size, `${field} of relocation ${i} in ${where}`, edges);
        }
      }
    }
    const isNote = s.name?.startsWith('.note') || (s.name?.startsWith('.livepatch.') && s.name.endsWith('depends'));
    if (isNote && s.offset + s.size <= len && s.size >= 12n) {
      const o = Number(s.offset);
      const size = s.size;
      add('note', o, 4, `n_namesz of the note in ${where}`, [
        0n,
        3n,
        4n,
        5n,
        size - 12n,
        size - 11n,
        0xfffffffcn,
        0xfffffffdn,
        0xffffffffn,
      ]);
      add('note', o + 4, 4, `n_descsz of the note in ${where}`, [0n, 19n, 20n, 21n, size - 16n, size - 15n, 0xfffffffcn, 0xffffffffn]);
      add('note', o + 8, 4, `n_type of the note in ${where}`, [0n, 1n, 3n, 4n]);
    }
    if (s.name === '.livepatch.funcs' && s.offset + s.size <= len) {
      for (let e = 0; (BigInt(e) + 1n) * 104n <= s.size && e < 16; e++) {
        for (const [field, f] of Object.entries(FUNC_FIELDS)) {
          const edges: bigint[] =
            field === 'version'
              ? [0n, 1n, 2n, 3n]
              : field === 'expect'
                ? [0n, 1n, 2n, 0x3en, 0x40n, 0x41n]
                : [0n, 4n, 5n, 31n, 32n, 0xffffffffn];
          add('funcs', Number(s.offset) + e * 104 + f.offset, Math.min(f.size, 8), `${field} of function ${e} in ${where}`, edges);
        }
      }
    }
    if (s.name?.startsWith('.livepatch.hooks') || s.name === '.altinstructions' || s.name === '.ex_table') {
      if (s.offset + s.size <= len) {
        for (let at = 0n; at + 8n <= s.size && at < 256n; at += 4n)
          add('array', Number(s.offset + at), 4, `word at ${at} of ${where}`, [0n, 1n, 0xffffffffn]);
      }
    }
  }
  for (let i = 0; symtab && i < Math.min(symtab.count, 256); i++) {
    for (const [field, f] of Object.entries(SYM_FIELDS)) {
      const edges: bigint[] = [];
      const strtab = elf.sections[elf.sections[symtabIndex]!.link];
      if (field === 'st_name' && strtab) edges.push(strtab.size - 1n, strtab.size, strtab.size + 1n, 0n);
      if (field === 'st_shndx') edges.push(0n, shnum - 1n, shnum, 0xff00n, 0xfff1n, 0xfff2n, 0xffffn);
      if (field === 'st_info') edges.push(0x00n, 0x01n, 0x02n, 0x03n, 0x04n, 0x10n, 0x11n, 0x12n, 0x20n, 0x22n, 0x16n);
      if (field === 'st_value' || field === 'st_size') {
        const sec = elf.sections[symtab.shndx(i)];
        if (sec) edges.push(sec.size, sec.size - 1n, sec.size + 1n, BigInt.asUintN(64, -sec.size));
      }
      add('sym', symtab.entryOffset(i) + f.offset, f.size, `${field} of symbol ${i}`, edges);
    }
  }
  // String tables: their last byte (the terminator) and the first.
  for (const s of elf.sections) {
    if (s.type === SHT_STRTAB && s.size > 0n && s.offset + s.size <= len) {
      cuts.add(Number(s.offset + s.size - 1n));
      slots.push({
        offset: Number(s.offset + s.size - 1n),
        size: 1,
        group: 'array',
        label: `last byte of string table ${s.index}`,
        edges: [0n, 0x41n],
        weight: 4,
      });
    }
  }
  return { name, bytes, slots, groups: groupsOf(slots), cuts: [...cuts].filter((c) => c >= 0 && c <= bytes.length).sort((a, b) => a - b) };
}

/** A group's slots with their cumulative weights, for weighted picking by binary search. */
export interface SlotGroupTable {
  readonly slots: readonly TargetedSlot[];
  readonly cumulative: readonly number[];
}

function groupsOf(slots: readonly TargetedSlot[]): Map<SlotGroup, SlotGroupTable> {
  const out = new Map<SlotGroup, { slots: TargetedSlot[]; cumulative: number[] }>();
  for (const s of slots) {
    let g = out.get(s.group);
    if (!g) out.set(s.group, (g = { slots: [], cumulative: [] }));
    g.slots.push(s);
    g.cumulative.push((g.cumulative.at(-1) ?? 0) + s.weight);
  }
  return out;
}

function pickSlot(rng: Rng, g: SlotGroupTable): TargetedSlot {
  const total = g.cumulative[g.cumulative.length - 1]!;
  const r = (rng.u32() / 0x1_0000_0000) * total;
  let lo = 0;
  let hi = g.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (g.cumulative[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return g.slots[lo]!;
}

const GROUP_WEIGHTS: readonly (readonly [number, SlotGroup])[] = [
  [3, 'ehdr'],
  [14, 'shdr'],
  [3, 'sym'],
  [3, 'rela'],
  [1, 'note'],
  [2, 'funcs'],
  [1, 'array'],
];

/** A value for a slot: an edge exactly or nudged by a small step, its own value nudged, or a constant. */
function valueFor(rng: Rng, slot: TargetedSlot, original: bigint): bigint {
  // Edges are listed most telling first (an entry size of 0, a section that ends exactly at the
  // end of the file): the first is picked half the time.
  const edge = () => (slot.edges.length === 0 ? original : rng.chance(0.5) ? slot.edges[0]! : rng.pick(slot.edges));
  const v = rng.weighted<() => bigint>([
    [6, edge],
    [4, () => edge() + BigInt(rng.delta())],
    [3, () => original + BigInt(rng.delta())],
    [1, () => rng.pick(WIDE)],
    [1, () => rng.u64()],
  ])();
  return BigInt.asUintN(slot.size * 8, v);
}

function read(bytes: Uint8Array, offset: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]!);
  return v;
}

/** Input `rng` of a targeted run over `fixtures`. */
export function generateTargeted(rng: Rng, fixtures: readonly TargetedFixture[]): TargetedInput {
  const f = rng.pick(fixtures);
  const edits: Edit[] = [];
  const n = rng.weighted([
    [6, 1],
    [3, 2],
    [1, 3 + rng.below(4)],
  ]);
  const byGroup = f.groups;
  const groups = GROUP_WEIGHTS.filter(([, g]) => byGroup.has(g));
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.1) || groups.length === 0) {
      edits.push({ kind: 'byte', offset: rng.below(f.bytes.length), value: rng.below(256) });
      continue;
    }
    const slot = pickSlot(rng, byGroup.get(rng.weighted(groups))!);
    edits.push({
      kind: 'set',
      offset: slot.offset,
      size: slot.size,
      value: valueFor(rng, slot, read(f.bytes, slot.offset, slot.size)),
      label: slot.label,
    });
  }
  const truncate = rng.chance(0.08)
    ? Math.max(0, Math.min(f.bytes.length - 1, rng.pick(f.cuts) + (rng.chance(0.7) ? rng.delta() : 0)))
    : null;
  return { fixture: f.name, edits, truncate, head: rng.chance(0.5), context: rng.chance(0.5) };
}

export function applyEdits(original: Uint8Array, input: TargetedInput): Buffer {
  const b = Buffer.from(original);
  for (const e of input.edits) {
    if (e.kind === 'byte') {
      if (e.offset < b.length) b[e.offset] = e.value;
      continue;
    }
    let v = e.value;
    for (let i = 0; i < e.size && e.offset + i < b.length; i++) {
      b[e.offset + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return input.truncate === null ? b : b.subarray(0, input.truncate);
}

/** One line per edit, for a counterexample report. */
export function describeInput(input: TargetedInput): string {
  const edits = input.edits.map((e) =>
    e.kind === 'byte' ? `byte ${e.offset} = 0x${e.value.toString(16)}` : `${e.label} = 0x${e.value.toString(16)}`,
  );
  return `${input.fixture}: ${edits.join('; ') || 'unchanged'}${input.truncate === null ? '' : `; cut to ${input.truncate} bytes`}${input.head ? '; as Xen head' : ''}${input.context ? '; with system context' : ''}`;
}
