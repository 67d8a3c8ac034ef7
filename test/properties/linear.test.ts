/**
 * The reader's work grows linearly with the input, on inputs built to make it quadratic. Work is
 * counted in read units (lib/elf readWork), not time, so the test does not depend on the load of
 * the machine; a time bound catches hangs.
 */
import { describe, expect, it } from 'vitest';
import { readWork } from '../../lib/elf/index.js';
import { readPayload } from '../../lib/payload/index.js';
import { preflight } from '../../lib/preflight/index.js';
import { funcsInManySections, manyBadRelocations, oneLongName, sectionsSharingOneName } from './adversarial.js';

function work(bytes: Buffer): { units: number; ms: number } {
  readWork.units = 0;
  const t0 = performance.now();
  const r = preflight(bytes, {
    name: 'adversarial',
    context: {
      xenBuildId: 'c0ffee0000000000000000000000000000001700',
      xenSymbols: new Map([['xen_extra_version', 0xffff82d040257a20n]]),
      loaded: [{ name: 'other', buildId: null, symbols: ['f1'] }],
    },
  });
  const p = readPayload(bytes).payload;
  void p?.symbols.length;
  void p?.undefinedSymbols.length;
  void r.diagnostics.length;
  return { units: readWork.units, ms: performance.now() - t0 };
}

describe.each([
  ['undefined symbols sharing one long name', oneLongName, 5_000],
  ['functions relocated into many sections', funcsInManySections, 250],
  ['relocations all refused', manyBadRelocations, 20_000],
  ['sections sharing one long name', sectionsSharingOneName, 2_000],
] as const)('%s', (_title, make, n) => {
  it('costs about 4x the work for 4x the entries', () => {
    const small = make(n);
    const big = make(4 * n);
    const a = work(small);
    const b = work(big);
    const perByteSmall = a.units / small.length;
    const perByteBig = b.units / big.length;
    // Linear: the work per byte does not grow with the size (a quadratic reader's would, 4x).
    expect(perByteBig).toBeLessThan(perByteSmall * 1.5 + 1);
    expect(perByteBig).toBeLessThan(128);
    expect(b.ms).toBeLessThan(5_000);
  });
});
