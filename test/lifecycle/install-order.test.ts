/** The order of a build's installed patches: the depends chain, install order where it does not decide, and the refusals. */
import { describe, expect, it } from 'vitest';
import { dependantsOf, InstallOrderError, orderPatches, stackOrder } from '../../lib/lifecycle/install-order.js';

const XEN = 'aa'.repeat(20);
const id = (n: number): string => n.toString(16).padStart(2, '0').repeat(20);
const p = (name: string, buildId: string | null, depends: string | null, installSeq = 1) => ({ name, buildId, depends, installSeq });

function refusal(fn: () => unknown): InstallOrderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InstallOrderError) return e;
    throw e;
  }
  throw new Error('expected an InstallOrderError');
}

describe('install order', () => {
  it('follows the depends chain whatever order the patches were installed in', () => {
    const set = [p('third', id(3), id(2), 1), p('base', id(1), XEN, 2), p('second', id(2), id(1), 3)];
    expect(stackOrder(XEN, set).map((x) => x.name)).toEqual(['base', 'second', 'third']);
    expect(orderPatches(XEN, set).map((x) => [x.position, x.basis])).toEqual([
      [1, 'chain'],
      [2, 'chain'],
      [3, 'chain'],
    ]);
  });

  it('puts patches without a depends note above the chain, in install order', () => {
    const set = [p('late', id(9), null, 7), p('early', id(8), null, 2), p('base', id(1), XEN, 5)];
    expect(orderPatches(XEN, set).map((x) => `${x.patch.name}:${x.basis}`)).toEqual([
      'base:chain',
      'early:install-order',
      'late:install-order',
    ]);
  });

  it('refuses two patches claiming the same base, naming both', () => {
    const e = refusal(() => stackOrder(XEN, [p('a', id(1), XEN), p('b', id(2), XEN)]));
    expect(e).toMatchObject({ problem: 'same-base', payloads: ['a', 'b'], code: 'EORDER' });
    expect(e.message).toContain("the hypervisor's build-id");
  });

  it('refuses a base that is neither the hypervisor nor a patch', () => {
    const e = refusal(() => stackOrder(XEN, [p('a', id(1), XEN), p('orphan', id(3), id(2))]));
    expect(e).toMatchObject({ problem: 'missing-base', payloads: ['orphan'], payload: 'orphan' });
    expect(e.message).toContain(id(2));
  });

  it('refuses a cycle', () => {
    const e = refusal(() => stackOrder(XEN, [p('base', id(1), XEN), p('x', id(2), id(3)), p('y', id(3), id(2))]));
    expect(e).toMatchObject({ problem: 'cycle', payloads: ['x', 'y'] });
  });

  it('refuses one build-id under two names, and a patch with the hypervisor build-id', () => {
    expect(refusal(() => stackOrder(XEN, [p('a', id(1), XEN), p('b', id(1), null)])).problem).toBe('duplicate-build-id');
    expect(refusal(() => stackOrder(XEN, [p('a', XEN, null)])).problem).toBe('duplicate-build-id');
    expect(refusal(() => stackOrder(XEN, [p('a', id(1), XEN), p('a', id(2), id(1))])).problem).toBe('duplicate-name');
  });

  it('names the dependants of a patch, directly and through others', () => {
    const set = [p('base', id(1), XEN), p('second', id(2), id(1)), p('third', id(3), id(2)), p('loose', id(9), null)];
    expect(dependantsOf(XEN, set, 'base').map((x) => x.name)).toEqual(['second', 'third']);
    expect(dependantsOf(XEN, set, 'third')).toEqual([]);
    expect(dependantsOf(XEN, set, 'loose')).toEqual([]);
  });
});
