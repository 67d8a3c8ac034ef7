/** apply/revert/unload: nothing to do, typed failures, the hypervisor's quirks. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  BusyError,
  DependencyError,
  HookVetoError,
  NotTopOfStackError,
  TimeoutError,
  WrongStateError,
  ActionFailedError,
} from '../../lib/workflow/errors.js';
import { harness, snapshot } from './support/harness.js';
import { wfPayloads, type WfPayloads } from './support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );

describe.each(['warning', 'all'] as const)('actions at loglvl=%s', (loglvl) => {
  it('apply on APPLIED and revert on CHECKED: nothing to do, no hypercall', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const before = h.actions().length;
    expect(await h.lp.apply('wf_base')).toMatchObject({ outcome: 'nothing-to-do', status: { state: 'APPLIED', rc: 0 } });
    expect(await h.lp.revert('wf_cumulative')).toMatchObject({ outcome: 'nothing-to-do', status: { state: 'CHECKED', rc: 0 } });
    expect(h.actions().length).toBe(before);
  });

  it('revert of a payload that is not on top: NotTopOfStackError naming the top', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('second'));
    const err = await caught(h.lp.revert('wf_base'));
    expect(err).toBeInstanceOf(NotTopOfStackError);
    expect(err).toMatchObject({ top: 'wf_second', code: 'EBUSY', category: 'failed' });
    expect((err as Error).message).toMatch(/retrying will not help/);
    expect((err as Error).message).not.toMatch(/retry shortly/);
  });

  it('apply of a payload whose dependency is not on top: DependencyError', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.upload('wf_second', P.path('second'));
    const err = await caught(h.lp.apply('wf_second'));
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toMatchObject({ dependsOn: P.buildId('base'), against: 'hypervisor', code: 'EINVAL' });
    await h.lp.load(P.path('cumulative'));
    const err2 = await caught(h.lp.apply('wf_second'));
    expect(err2).toMatchObject({ dependsOn: P.buildId('base'), against: 'wf_cumulative', againstBuildId: P.buildId('cumulative') });
    // --nodeps skips the check.
    expect(await h.lp.apply('wf_second', { nodeps: true })).toMatchObject({ outcome: 'done' });
  });

  it('a vetoing pre-revert hook: HookVetoError with hook, rc and errno name', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('guarded'));
    await h.xen.setHook({ payload: 'wf_guarded', kind: 'prerevert' }, { rc: [-1, 0] });
    const err = await caught(h.lp.revert('wf_guarded'));
    expect(err).toBeInstanceOf(HookVetoError);
    expect(err).toMatchObject({ hook: 'prerevert', rc: -1, code: 'EPERM', errno: 1 });
    expect((err as Error).message).toMatch(/pre-revert hook of "wf_guarded" vetoed the revert: it returned -1 \(EPERM/);
    expect((err as HookVetoError).consoleLines).toEqual(
      expect.arrayContaining(['(XEN) livepatch: wf_guarded: pre-revert hook failed (rc=-1), aborting!']),
    );
    // The second attempt succeeds (the stale rc -1 does not confuse it).
    expect(await h.lp.revert('wf_guarded')).toMatchObject({ outcome: 'done', status: { state: 'CHECKED', rc: 0 } });
  });

  it('another action pending: BusyError; the payload rc left at -EAGAIN does not fool later commands', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    await h.lp.upload('wf_guarded', P.path('guarded'));
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    // Someone else's APPLY is pending (the clock does not move).
    await h.xen.action('wf_cumulative', 'REPLACE');
    const err = await caught(h.lp.apply('wf_guarded'));
    expect(err).toBeInstanceOf(BusyError);
    expect(err).toMatchObject({ code: 'EBUSY', category: 'busy' });
    // Xen's quirk: the pre-apply hook ran and the rc stays -EAGAIN, though nothing is pending for it.
    expect(await h.xen.get('wf_guarded')).toEqual({ state: 'CHECKED', rc: -11 });
    expect((err as BusyError).message).toMatch(/pre-apply hook (already )?ran/);
    h.clock.advance(10);
    // revert of the CHECKED payload with its stale -EAGAIN: nothing to do, at once.
    const t0 = performance.now();
    expect(await h.lp.revert('wf_guarded')).toMatchObject({ outcome: 'nothing-to-do' });
    expect(performance.now() - t0).toBeLessThan(500);
    // unload works: nothing is pending for it.
    expect(await h.lp.unload('wf_guarded')).toMatchObject({ outcome: 'done' });
  });

  it('an action pending on the payload itself: BusyError, even where the state says nothing to do', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    await h.xen.action('wf_base', 'REVERT'); // pending: APPLIED with rc -EAGAIN
    const err = await caught(h.lp.apply('wf_base'));
    expect(err).toBeInstanceOf(BusyError);
    expect(await h.xen.get('wf_base')).toEqual({ state: 'APPLIED', rc: -11 });
  });

  it('the hypervisor timing out (rendezvous slower than the quiesce timeout): TimeoutError where=hypervisor', async () => {
    const h = await harness({ identity: { loglvl, rendezvousNs: 50_000_000 } });
    await h.lp.upload('wf_base', P.path('base'));
    const t0 = performance.now();
    const err = await caught(h.lp.apply('wf_base'));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ where: 'hypervisor', code: 'EBUSY', category: 'busy' });
    expect(performance.now() - t0).toBeLessThan(150);
    expect(await snapshot(h.xen)).toEqual({ applied: [], payloads: { wf_base: 'CHECKED -16' } });
    // A longer quiesce timeout succeeds.
    expect(await h.lp.apply('wf_base', { quiesceTimeoutNs: 100_000_000 })).toMatchObject({ outcome: 'done' });
  });

  it('the wait passing its deadline: TimeoutError where=wait; the action is still pending', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.upload('wf_base', P.path('base'));
    h.autoAdvance = false;
    const err = await caught(h.lp.apply('wf_base', { timeout: 30 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ where: 'wait', category: 'busy' });
    expect(await h.xen.get('wf_base')).toEqual({ state: 'CHECKED', rc: -11 });
  });

  it('an AbortSignal stops the wait (and one already aborted stops before any hypercall)', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.upload('wf_base', P.path('base'));
    h.autoAdvance = false;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err = await caught(h.lp.apply('wf_base', { signal: ac.signal }));
    expect(err).toBeInstanceOf(AbortedError);
    h.clock.advance(10);
    expect(await h.xen.get('wf_base')).toEqual({ state: 'APPLIED', rc: 0 });
    const n = h.actions().length;
    const err2 = await caught(h.lp.revert('wf_base', { signal: AbortSignal.abort() }));
    expect(err2).toBeInstanceOf(AbortedError);
    expect(h.actions().length).toBe(n);
  });

  it('unload of an APPLIED payload is refused before the hypercall', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('base'));
    const err = await caught(h.lp.unload('wf_base'));
    expect(err).toBeInstanceOf(WrongStateError);
    expect(err).toMatchObject({ code: 'EINVAL' });
    expect(h.actions()).toEqual(['APPLY wf_base']);
  });

  it('re-apply of a reverted payload with writable data: explained, with the fix', async () => {
    const h = await harness({ identity: { loglvl } });
    await h.lp.load(P.path('data'));
    await h.lp.revert('wf_data');
    const err = await caught(h.lp.apply('wf_data'));
    expect(err).toBeInstanceOf(ActionFailedError);
    expect(err).toMatchObject({ code: 'EINVAL' });
    expect((err as Error).message).toMatch(/writable data.*unload it and upload it afresh/);
    expect(await h.xen.get('wf_data')).toEqual({ state: 'CHECKED', rc: -22 });
  });

  it('a payload that is not loaded: ENOENT, said plainly', async () => {
    const h = await harness({ identity: { loglvl } });
    const err = await caught(h.lp.apply('nope'));
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect((err as Error).message).toMatch(/not loaded/);
  });
});
