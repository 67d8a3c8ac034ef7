/**
 * Mutations of valid payloads for property tests and the fuzz run: random bytes, interesting
 * values written into the structures' fields (header, section headers, symbols, relocations,
 * notes, functions), and truncations. Field slots are found once per fixture with the reader.
 */
import fc from 'fast-check';
import { EHDR_FIELDS, RELA_FIELDS, readElf, SHDR_FIELDS, SHT_RELA, SYM_FIELDS } from '../../lib/elf/index.js';
import { FUNC_FIELDS } from '../../lib/payload/index.js';
import type { Diagnostic, PreflightOptions, PreflightReport } from '../../lib/preflight/index.js';
import { RULES } from '../../lib/preflight/index.js';

export interface Slot {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
}

const SIZES = new Set([1, 2, 4, 8]);
const slot = (offset: number, size: number): Slot[] => (SIZES.has(size) ? [{ offset, size: size as Slot['size'] }] : []);

/** Every field of every structure the hypervisor reads, as byte ranges of the file. */
export function fieldSlots(bytes: Uint8Array): Slot[] {
  const out: Slot[] = [];
  for (const f of Object.values(EHDR_FIELDS)) out.push(...slot(f.offset, f.size));
  const elf = readElf(bytes).elf;
  if (!elf) return out;
  for (const s of elf.sections) {
    for (const f of Object.values(SHDR_FIELDS)) out.push(...slot(s.headerOffset + f.offset, f.size));
    if (s.type === SHT_RELA) {
      const v = elf.relocations(s.index);
      for (let i = 0; v && i < v.count; i++)
        for (const f of Object.values(RELA_FIELDS)) out.push(...slot(v.entryOffset(i) + f.offset, f.size));
    }
    if (s.name?.startsWith('.note') || (s.name?.startsWith('.livepatch.') && s.name.endsWith('depends'))) {
      for (const k of [0, 4, 8, 12]) out.push(...slot(Number(s.offset) + k, 4));
    }
    if (s.name === '.livepatch.funcs') {
      for (let e = 0; e * 104 < Number(s.size); e++)
        for (const f of Object.values(FUNC_FIELDS)) out.push(...slot(Number(s.offset) + e * 104 + f.offset, f.size));
    }
  }
  const t = elf.symbols(elf.symbolTableIndex());
  for (let i = 0; t && i < t.count; i++) for (const f of Object.values(SYM_FIELDS)) out.push(...slot(t.entryOffset(i) + f.offset, f.size));
  return out;
}

/** `at` and `slot` are taken modulo the file length / slot count. */
export type Mutation = { kind: 'byte'; at: number; value: number } | { kind: 'field'; slot: number; value: bigint };

export const INTERESTING = [
  0n,
  1n,
  2n,
  3n,
  4n,
  7n,
  8n,
  16n,
  24n,
  63n,
  64n,
  104n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x3ffn,
  0x400n,
  0xffffn,
  0xff00n,
  0xfff1n,
  0xfff2n,
  0x200000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  1n << 32n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // Positions without fast-check's bias towards small values: byte 0 (the magic) is not special.
  fc.record({ kind: fc.constant('byte' as const), at: fc.noBias(fc.nat()), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('field' as const),
    slot: fc.noBias(fc.nat()),
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
  }),
);

export interface MutatedInput {
  readonly fixture: string;
  readonly mutations: readonly Mutation[];
  /** Keep this many bytes (modulo the length), when set. */
  readonly truncate: number | null;
  readonly head: boolean;
  readonly context: boolean;
}

export const inputArb = (fixtures: readonly string[]): fc.Arbitrary<MutatedInput> =>
  fc.record({
    fixture: fc.constantFrom(...fixtures),
    mutations: fc.array(mutationArb, { minLength: 0, maxLength: 6 }),
    // One input in five is cut short; the others keep their length, so the mutations reach the checks.
    truncate: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: fc.noBias(fc.nat()), weight: 1 }),
    head: fc.boolean(),
    context: fc.boolean(),
  });

export function applyMutations(original: Uint8Array, slots: readonly Slot[], input: MutatedInput): Buffer {
  const b = Buffer.from(original);
  for (const m of input.mutations) {
    if (m.kind === 'byte') {
      if (b.length) b[m.at % b.length] = m.value;
    } else if (slots.length) {
      const s = slots[m.slot % slots.length]!;
      const v = BigInt.asUintN(s.size * 8, m.value);
      if (s.size === 1) b.writeUInt8(Number(v), s.offset);
      else if (s.size === 2) b.writeUInt16LE(Number(v), s.offset);
      else if (s.size === 4) b.writeUInt32LE(Number(v), s.offset);
      else b.writeBigUInt64LE(v, s.offset);
    }
  }
  return input.truncate === null || b.length === 0 ? b : b.subarray(0, input.truncate % b.length);
}

export function optionsFor(input: Pick<MutatedInput, 'fixture' | 'head' | 'context'>): PreflightOptions {
  return {
    name: input.fixture,
    ...(input.head ? { xenVersion: { major: 4, minor: 21 } } : {}),
    ...(input.context
      ? {
          context: {
            xenBuildId: 'c0ffee0000000000000000000000000000001700',
            xenSymbols: new Map([
              ['xen_extra_version', 0xffff82d040257a20n],
              ['printk', 0xffff82d040210000n],
            ]),
            loaded: [{ name: 'other', buildId: '00'.repeat(20), symbols: ['xlp_name'] }],
            appliedBuildIds: [],
          },
        }
      : {}),
  };
}

const SEVERITIES = new Set(['fatal', 'error', 'warning', 'info']);

/** What every report must look like, whatever the input: throws (with the reason) if it does not. */
export function assertWellFormed(report: PreflightReport): void {
  const fail = (why: string, d?: Diagnostic): never => {
    throw new Error(`malformed report: ${why}${d ? ` in ${JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}` : ''}`);
  };
  if (!Array.isArray(report.diagnostics)) fail('diagnostics is not an array');
  for (const d of report.diagnostics) {
    if (!(d.code in RULES)) fail(`unknown code ${d.code}`, d);
    if (!SEVERITIES.has(d.severity)) fail('bad severity', d);
    if (d.errno !== null && !(Number.isInteger(d.errno) && d.errno > 0)) fail('bad errno', d);
    if (typeof d.message !== 'string' || d.message.length === 0) fail('no message', d);
  }
  if (report.uploadError && !report.diagnostics.includes(report.uploadError)) fail('uploadError is not one of the diagnostics');
  if (report.fatal !== report.diagnostics.some((d) => d.severity === 'fatal')) fail('fatal flag inconsistent');
  // The model, lazily computed parts included, must be readable and serialisable.
  const p = report.payload;
  if (p) {
    void p.symbols.length;
    void p.undefinedSymbols.length;
  }
  JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v));
}
