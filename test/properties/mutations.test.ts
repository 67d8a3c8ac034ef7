/**
 * Property: any mutation or truncation of a valid payload gives a well-formed report, never an
 * exception, with work linear in the size. (`npm run fuzz` runs the same property for longer.)
 */
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { readElf, readWork } from '../../lib/elf/index.js';
import { readPayload } from '../../lib/payload/index.js';
import { preflight } from '../../lib/preflight/index.js';
import { fixtures } from '../fixtures/catalogue.js';
import { Rng } from '../../scripts/fuzz/rng.js';
import { applyMutations, assertWellFormed, fieldSlots, inputArb, optionsFor, type Slot } from './mutations.js';
import { applyEdits, generateTargeted, type TargetedFixture, targetedFixture } from './targeted.js';

/** Work budget per byte: valid payloads need about 1.5 units a byte; adversarial ones stay under 128. */
export const UNITS_PER_BYTE = 128;
export const UNITS_FLOOR = 20_000;

const NAMES = [
  'func_normal',
  'func_nop',
  'expectations',
  'hooks_load_unload',
  'hooks_only_action',
  'modinfo_kv',
  'chain_2',
  'alternatives',
  'alt_no_text',
  'ex_table_12',
];
const originals = new Map<string, { bytes: Buffer; slots: Slot[] }>();
const targeted: TargetedFixture[] = [];

beforeAll(async () => {
  const all = await fixtures();
  for (const n of NAMES) {
    const bytes = all.get(n)!.bytes;
    originals.set(n, { bytes, slots: fieldSlots(bytes) });
  }
  for (const [n, f] of all) targeted.push(targetedFixture(n, f.bytes));
});

describe('mutated payloads', () => {
  test.prop([inputArb(NAMES)], { numRuns: Number(process.env.XLP_PROPERTY_RUNS ?? 300) })(
    'give a well-formed report in linear work',
    (input) => {
      const o = originals.get(input.fixture)!;
      const bytes = applyMutations(o.bytes, o.slots, input);
      readWork.units = 0;
      expect(() => readElf(bytes)).not.toThrow();
      const model = readPayload(bytes);
      if (model.payload) void model.payload.symbols.length;
      const report = preflight(bytes, optionsFor(input));
      assertWellFormed(report);
      expect(readWork.units).toBeLessThanOrEqual(UNITS_PER_BYTE * bytes.length + UNITS_FLOOR);
    },
  );

  test.prop([fc.integer(), fc.nat()], { numRuns: Number(process.env.XLP_PROPERTY_RUNS ?? 300) })(
    'mutated at the bounds the readers check, give a well-formed report in linear work',
    (seed, index) => {
      // The fuzz run's targeted generator (scripts/fuzz/elf.ts runs the same, with more oracles).
      const input = generateTargeted(new Rng(seed, index), targeted);
      const bytes = applyEdits(targeted.find((f) => f.name === input.fixture)!.bytes, input);
      readWork.units = 0;
      expect(() => readElf(bytes)).not.toThrow();
      const model = readPayload(bytes);
      if (model.payload) void model.payload.symbols.length;
      assertWellFormed(preflight(bytes, optionsFor(input)));
      expect(readWork.units).toBeLessThanOrEqual(UNITS_PER_BYTE * bytes.length + UNITS_FLOOR);
    },
  );

  test.prop([fc.constantFrom(...NAMES), fc.nat()], { numRuns: 100 })('truncated anywhere, are refused, not misread', (name, n) => {
    const o = originals.get(name)!;
    const bytes = o.bytes.subarray(0, n % o.bytes.length);
    const report = preflight(bytes, { name });
    assertWellFormed(report);
    // Cutting a payload always loses something the hypervisor needs (the section table is last).
    expect(report.uploadError).not.toBeNull();
  });

  test.prop([fc.uint8Array({ maxLength: 512 })], { numRuns: 300 })('random bytes are refused without an exception', (bytes) => {
    const report = preflight(bytes, { name: 'noise' });
    assertWellFormed(report);
    expect(report.uploadError).not.toBeNull();
  });
});
