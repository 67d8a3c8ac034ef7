/**
 * The ELF target with blind mutations instead of targeted ones, for the planted-bug experiment
 * (scripts/fuzz/planted.ts): random bytes and absolute interesting values written into uniformly
 * chosen field slots (the generator `npm run fuzz` used before the targeted one). Not a target of
 * the default run.
 */
import type { Rng } from './rng.js';
import { ElfTarget } from './elf.js';
import type { FuzzTarget } from './target.js';
import { INTERESTING } from '../../test/properties/mutations.js';
import type { Edit, TargetedFixture, TargetedInput } from '../../test/properties/targeted.js';

class UntargetedElfTarget extends ElfTarget {
  protected override mutate(rng: Rng, fixtures: readonly TargetedFixture[]): TargetedInput {
    const f = rng.pick(fixtures);
    const edits: Edit[] = [];
    for (let n = rng.below(7); n > 0; n--) {
      if (rng.chance(0.5) || f.slots.length === 0) edits.push({ kind: 'byte', offset: rng.below(f.bytes.length), value: rng.below(256) });
      else {
        const slot = f.slots[rng.below(f.slots.length)]!;
        const value = BigInt.asUintN(slot.size * 8, rng.chance(0.5) ? rng.pick(INTERESTING) : rng.u64());
        edits.push({ kind: 'set', offset: slot.offset, size: slot.size, value, label: slot.label });
      }
    }
    return {
      fixture: f.name,
      edits,
      truncate: rng.chance(0.2) ? rng.below(f.bytes.length) : null,
      head: rng.chance(0.5),
      context: rng.chance(0.5),
    };
  }
}

export default (): FuzzTarget => new UntargetedElfTarget() as FuzzTarget;
