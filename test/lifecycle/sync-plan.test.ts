/** The sync planner: the exact steps from a host's state to the installed stack, and its refusals. */
import { describe, expect, it } from 'vitest';
import type { HostPayload, HostState } from '../../lib/lifecycle/host-state.js';
import { type DesiredPatch, planSync, SyncRefusedError } from '../../lib/lifecycle/sync-plan.js';

const XEN = 'aa'.repeat(20);
const id = (n: number): string => n.toString(16).padStart(2, '0').repeat(20);
const sha = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

/** A chain a(1) <- b(2) <- c(3) of installed patches, each on the previous. */
function desired(...names: string[]): DesiredPatch[] {
  return names.map((name, i) => ({
    name,
    buildId: id(i + 1),
    depends: i === 0 ? XEN : id(i),
    sha256: sha(i + 1),
    vetoingHooks: [],
    safeToReapply: true,
  }));
}

type Loaded = Partial<HostPayload> & { name: string };
function host(applied: string[], loaded: Loaded[]): HostState {
  const known = new Map(desired('a', 'b', 'c').map((d) => [d.name, d]));
  return {
    xenBuildId: XEN,
    applied,
    order: 'certain',
    orderNotes: [],
    loaded: loaded.map((l) => ({
      state: applied.includes(l.name) ? 'APPLIED' : 'CHECKED',
      buildId: known.get(l.name)?.buildId ?? null,
      sha256: known.get(l.name)?.sha256 ?? null,
      owner: 'xlp',
      reverted: applied.includes(l.name) ? false : false,
      safeToReapply: true,
      vetoingHooks: [],
      ...l,
    })),
  } as HostState;
}
const steps = (p: { steps: readonly { action: string; payload: string }[] }): string[] => p.steps.map((s) => `${s.action} ${s.payload}`);
const refused = (fn: () => unknown): SyncRefusedError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyncRefusedError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('sync plan', () => {
  it('uploads and applies a whole chain in order on an empty host', () => {
    const p = planSync(desired('a', 'b', 'c'), host([], []));
    expect(steps(p)).toEqual(['UPLOAD a', 'UPLOAD b', 'UPLOAD c', 'APPLY a', 'APPLY b', 'APPLY c']);
    expect(p).toMatchObject({ mode: 'sequential', changed: true, expectedApplied: ['a', 'b', 'c'], commonBase: [] });
  });

  it('is empty when the host already is as installed', () => {
    const p = planSync(desired('a', 'b'), host(['a', 'b'], [{ name: 'a' }, { name: 'b' }]));
    expect(p).toMatchObject({ mode: 'nothing-to-do', changed: false, steps: [], commonBase: ['a', 'b'] });
  });

  it('keeps the common base (same name AND build-id), reverts above it top first, applies the rest', () => {
    // b is applied with another build-id: the base ends below it.
    const h = host(
      ['a', 'b', 'x'],
      [{ name: 'a' }, { name: 'b', buildId: id(7), depends: undefined } as Loaded, { name: 'x', buildId: id(9) }],
    );
    const p = planSync(desired('a', 'b', 'c'), h);
    expect(p.commonBase).toEqual(['a']);
    expect(steps(p)).toEqual(['REVERT x', 'REVERT b', 'UNLOAD b', 'UPLOAD b', 'UPLOAD c', 'APPLY b', 'APPLY c', 'UNLOAD x']);
    expect(p.steps.find((s) => s.action === 'UNLOAD' && s.payload === 'b')!.reason).toBe('other-version');
  });

  it('re-applies a CHECKED copy it uploaded of the same bytes without uploading again', () => {
    const p = planSync(desired('a'), host([], [{ name: 'a', reverted: true }]));
    expect(steps(p)).toEqual(['APPLY a']);
    const unsafe = desired('a').map((d) => ({ ...d, safeToReapply: false }));
    expect(steps(planSync(unsafe, host([], [{ name: 'a', reverted: true }])))).toEqual(['UNLOAD a', 'UPLOAD a', 'APPLY a']);
  });

  it("unloads the CHECKED leftovers xlp uploaded, never another tool's without --prune", () => {
    const h = host(
      ['a'],
      [{ name: 'a' }, { name: 'old', buildId: id(8) }, { name: 'theirs', buildId: id(9), owner: 'foreign', sha256: null }],
    );
    const p = planSync(desired('a'), h);
    expect(steps(p)).toEqual(['UNLOAD old']);
    expect(p.untouched).toEqual([expect.objectContaining({ name: 'theirs', state: 'CHECKED' })]);
    expect(steps(planSync(desired('a'), h, { prune: true }))).toEqual(['UNLOAD old', 'UNLOAD theirs']);
  });

  it('uses one REPLACE when the base is empty, one patch is desired and nothing has vetoing hooks', () => {
    const d = [{ ...desired('a')[0]!, name: 'cumulative', buildId: id(5) }];
    const h = host(
      ['x', 'y'],
      [
        { name: 'x', buildId: id(8) },
        { name: 'y', buildId: id(9) },
      ],
    );
    const p = planSync(d, h);
    expect(p.mode).toBe('replace');
    expect(steps(p)).toEqual(['UPLOAD cumulative', 'REPLACE cumulative', 'UNLOAD x', 'UNLOAD y']);
    expect(p.steps[1]!.replaces).toEqual(['y', 'x']);
    // A vetoing hook anywhere: the sequential path (Xen refuses REPLACE then).
    const vetoed = host(
      ['x', 'y'],
      [
        { name: 'x', buildId: id(8) },
        { name: 'y', buildId: id(9), vetoingHooks: ['pre-apply' as never] },
      ],
    );
    expect(planSync(d, vetoed).mode).toBe('sequential');
    // An applied payload of unknown hooks (another tool's) is never replaced without --prune.
    expect(() => planSync(d, host(['x'], [{ name: 'x', buildId: id(8), owner: 'foreign', vetoingHooks: null }]))).toThrow(SyncRefusedError);
  });

  it('reports a foreign payload on top as drift when nothing moves under it, refuses to reorder under it', () => {
    const h = host(
      ['a', 'theirs'],
      [{ name: 'a' }, { name: 'theirs', buildId: id(9), owner: 'foreign', sha256: null, vetoingHooks: null }],
    );
    const p = planSync(desired('a'), h);
    expect(p).toMatchObject({ changed: false, expectedApplied: ['a', 'theirs'] });
    expect(p.untouched).toEqual([expect.objectContaining({ name: 'theirs', state: 'APPLIED' })]);
    const e = refused(() => planSync(desired('a', 'b'), h));
    expect(e).toMatchObject({ problem: 'foreign-in-the-way', payloads: ['theirs'], code: 'ESYNC' });
    expect(e.message).toContain('--prune');
    expect(steps(planSync(desired('a', 'b'), h, { prune: true }))).toEqual(['REVERT theirs', 'UPLOAD b', 'APPLY b', 'UNLOAD theirs']);
  });

  it('refuses a foreign namesake or a foreign holder of a needed build-id without --prune', () => {
    expect(refused(() => planSync(desired('a'), host([], [{ name: 'a', owner: 'foreign', sha256: null }]))).problem).toBe(
      'foreign-in-the-way',
    );
    expect(refused(() => planSync(desired('a'), host([], [{ name: 'other', buildId: id(1), owner: 'foreign' }]))).payloads).toEqual([
      'other',
    ]);
    expect(steps(planSync(desired('a'), host([], [{ name: 'other', buildId: id(1), owner: 'foreign' }]), { prune: true }))).toEqual([
      'UNLOAD other',
      'UPLOAD a',
      'APPLY a',
    ]);
  });

  it('the boot sync only adds: a plan that reverts is refused, and so is --prune', () => {
    expect(steps(planSync(desired('a', 'b'), host(['a'], [{ name: 'a' }]), { boot: true }))).toEqual(['UPLOAD b', 'APPLY b']);
    const h = host(['x'], [{ name: 'x', buildId: id(9) }]);
    expect(refused(() => planSync(desired('a'), h, { boot: true })).problem).toBe('boot-would-revert');
    expect(refused(() => planSync(desired('a'), host([], []), { boot: true, prune: true })).category).toBe('usage');
  });

  it('refuses an applied order it is not sure of, and a hypervisor without build-id', () => {
    expect(refused(() => planSync(desired('a'), { ...host(['a', 'b'], [{ name: 'a' }, { name: 'b' }]), order: 'uncertain' })).problem).toBe(
      'order-uncertain',
    );
    expect(refused(() => planSync(desired('a'), { ...host([], []), xenBuildId: null })).problem).toBe('no-xen-build-id');
  });
});
