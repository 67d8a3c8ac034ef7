/**
 * The fuzzer finds what matters: two ELF-reader bugs a blind fuzzer missed over 50,000 inputs,
 * planted one at a time in a copy of lib/ (scripts/fuzz/planted.ts), are found by the targeted
 * `elf` target within a small budget, each in the way it shows (a hang caught by the per-input time
 * limit, a throw), while the same inputs pass on the real lib/.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstFinding, GENERATORS, PLANTS, plantedLib } from '../../scripts/fuzz/planted.js';
import { runTarget } from '../../scripts/fuzz/engine.js';
import { scratchDir } from '../support/scratch.js';

const BUDGET = 2_000;
const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const targeted = GENERATORS.find((g) => g.description === 'targeted')!;

describe.each(PLANTS.map((p) => [p.name, p] as const))('planted bug %s', (_name, plant) => {
  it(`is found by the targeted generator within ${BUDGET} inputs, as ${plant.shows === 'timeout' ? 'a hang' : 'an exception'}`, async () => {
    const lib = plantedLib(plant);
    try {
      const found = await firstFinding(plant, lib, targeted, 1, BUDGET);
      expect(found, plant.description).not.toBeNull();
      expect(found!.kind).toBe(plant.shows);
      if (plant.shows === 'timeout') expect(found!.message).toMatch(/ran for more than \d+ ms: a hang/);
      else expect(found!.message).toMatch(/threw (RangeError|TypeError)/);
      expect(found!.file, 'the input is saved').not.toBeNull();
      // The same inputs, up to and including that one, pass on the real lib/.
      const clean = await runTarget({
        entry: targeted,
        root: ROOT,
        lib: join(ROOT, 'lib'),
        seed: 1,
        start: 0,
        count: found!.index + 1,
        timeLimitMs: targeted.timeLimitMs,
        outDir: scratchDir('xlp-planted-'),
        keepGoing: false,
      });
      expect(clean.findings).toEqual([]);
      expect(clean.inputs).toBe(found!.index + 1);
    } finally {
      rmSync(dirname(lib), { recursive: true, force: true });
    }
  }, 300_000);
});
