/** REPLACE: the hook-aware precheck, atomic and sequential, rollback, and the stack it relies on. */
import { beforeAll, describe, expect, it } from 'vitest';
import { DependencyError, HookVetoError, NotLoadedError, RefusedError, ReplaceRefusedError } from '../../lib/workflow/errors.js';
import { harness, noConsole, snapshot } from './support/harness.js';
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

describe('atomic replace', () => {
  it('replaces a plain stack in one REPLACE', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('second'));
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const r = await h.lp.replace('wf_cumulative');
    expect(r.steps.map((s) => `${s.action} ${s.payload} ${s.outcome}`)).toEqual(['REPLACE wf_cumulative done']);
    expect(r.steps[0]!.console).toEqual(expect.arrayContaining(['(XEN) livepatch: wf_cumulative finished REPLACE with rc=0']));
    expect(await snapshot(h.xen)).toEqual({
      applied: ['wf_cumulative'],
      payloads: { wf_base: 'CHECKED', wf_second: 'CHECKED', wf_cumulative: 'APPLIED' },
    });
    // Again: it already is the stack.
    const again = await h.lp.replace('wf_cumulative');
    expect(again.steps[0]!.outcome).toBe('nothing-to-do');
    expect(h.actions().filter((a) => a.startsWith('REPLACE'))).toEqual(['REPLACE wf_cumulative']);
  });

  it('works on an empty stack', async () => {
    const h = await harness();
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    await h.lp.replace('wf_cumulative');
    expect((await snapshot(h.xen)).applied).toEqual(['wf_cumulative']);
  });

  it('is refused before the REPLACE hypercall when an applied payload has vetoing hooks, naming it and its hooks', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('guarded'));
    await h.lp.upload('wf_cumulative_guarded', P.path('cumulative_guarded'));
    const hooksBefore = (await h.xen.hookCalls()).length;
    const err = await caught(h.lp.replace('wf_cumulative_guarded'));
    expect(err).toBeInstanceOf(ReplaceRefusedError);
    expect(err).toMatchObject({
      beforeHypercall: true,
      code: 'EOPNOTSUPP',
      offenders: [
        { payload: 'wf_cumulative_guarded', hooks: ['preapply', 'postapply', 'prerevert', 'postrevert'] },
        { payload: 'wf_guarded', hooks: ['preapply', 'postapply', 'prerevert', 'postrevert'] },
      ],
    });
    expect((err as Error).message).toMatch(/"wf_guarded" \(preapply, postapply, prerevert, postrevert\)/);
    expect((err as Error).message).toMatch(/replace --sequential/);
    expect(h.actions().filter((a) => a.startsWith('REPLACE'))).toEqual([]);
    expect((await h.xen.hookCalls()).length).toBe(hooksBefore);
    expect(await h.xen.readConsole()).not.toMatch(/REPLACE action is not supported/);
  });

  it('payloads xlp did not upload: Xen judges, and its refusal names them', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    // Uploaded and applied by another tool: xlp knows nothing of its hooks.
    await h.xen.upload('other', await P.bytes('guarded_on_data'));
    await h.lp.load(P.path('data'));
    await h.xen.upload('other', await P.bytes('guarded_on_data')).catch(() => undefined);
    await h.xen.action('other', 'APPLY');
    h.clock.advance(10);
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const plan = await h.lp.planReplace('wf_cumulative');
    expect(plan.warnings.join('\n')).toMatch(/other was not uploaded by xlp/);
    const err = await caught(h.lp.replace('wf_cumulative'));
    expect(err).toBeInstanceOf(ReplaceRefusedError);
    expect(err).toMatchObject({ beforeHypercall: false, offenders: [{ payload: 'other', hooks: null }] });
    expect((err as ReplaceRefusedError).consoleLines.join('\n')).toMatch(
      /REPLACE action is not supported on livepatches with vetoing hooks/,
    );
    expect(await snapshot(h.xen)).toMatchObject({ applied: ['wf_data', 'other'] });
  });

  it('payloads xlp did not upload, and no console to read: the bare EOPNOTSUPP is still recognised as the REPLACE refusal', async () => {
    const h = await harness({ wrap: noConsole });
    await h.xen.upload('other', await P.bytes('guarded_on_data'));
    await h.lp.load(P.path('data'));
    await h.xen.action('other', 'APPLY');
    h.clock.advance(10);
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const err = await caught(h.lp.replace('wf_cumulative'));
    expect(err).toBeInstanceOf(ReplaceRefusedError);
    expect(err).toMatchObject({
      beforeHypercall: false,
      code: 'EOPNOTSUPP',
      offenders: [{ payload: 'other', hooks: null }],
      consoleLines: [],
    });
    expect((err as Error).message).toMatch(/"other"/);
    expect(h.actions().filter((a) => a.startsWith('REPLACE'))).toEqual(['REPLACE wf_cumulative']);
    expect(await snapshot(h.xen)).toMatchObject({ applied: ['wf_data', 'other'] });
  });

  it('refuses a target that does not depend on the hypervisor, before the hypercall', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.upload('wf_second', P.path('second'));
    const err = await caught(h.lp.replace('wf_second'));
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toMatchObject({ dependsOn: P.buildId('base'), against: 'hypervisor' });
    expect(h.actions().filter((a) => a.startsWith('REPLACE'))).toEqual([]);
    // A payload another tool uploaded: xlp does not know what it depends on, and presses no x key
    // for a payload that is not applied. Xen judges: its REPLACE checks the dependency before it
    // changes anything, and the refusal is explained from the console.
    await h.xen.upload('by-hand', await P.bytes('third'));
    await expect(h.lp.replace('by-hand')).rejects.toMatchObject({ name: 'DependencyError', against: 'hypervisor', errno: 22 });
    expect(h.debugKeys()).toEqual([]);
    expect(await snapshot(h.xen)).toMatchObject({ applied: ['wf_base'] });
  });

  it('a target that is applied with others on the stack: refused, pointing at --sequential', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('second'));
    const err = await caught(h.lp.replace('wf_base'));
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/already applied.*--sequential/);
    expect(h.actions().filter((a) => a.startsWith('REPLACE'))).toEqual([]);
  });

  it('a target that is not loaded: NotLoadedError', async () => {
    const h = await harness();
    expect(await caught(h.lp.replace('nope'))).toBeInstanceOf(NotLoadedError);
  });
});

describe('replace --sequential', () => {
  it('reverts the stack top-first with every hook, then applies', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('guarded'));
    await h.lp.upload('wf_cumulative_guarded', P.path('cumulative_guarded'));
    await h.xen.clearHookCalls();
    const r = await h.lp.replace('wf_cumulative_guarded', { sequential: true });
    expect(r.steps.map((s) => `${s.action} ${s.payload}`)).toEqual(['REVERT wf_guarded', 'REVERT wf_base', 'APPLY wf_cumulative_guarded']);
    expect((await h.xen.hookCalls()).map((c) => `${c.payload}:${c.kind}`)).toEqual([
      'wf_guarded:prerevert',
      'wf_guarded:postrevert',
      'wf_cumulative_guarded:preapply',
      'wf_cumulative_guarded:postapply',
    ]);
    expect((await snapshot(h.xen)).applied).toEqual(['wf_cumulative_guarded']);
    expect(await h.lp.pendingJournal()).toBeNull();
    const steps = h.events.filter((e) => e.phase === 'step').map((e) => (e as { description: string }).description);
    expect(steps).toEqual(['REVERT wf_guarded', 'REVERT wf_base', 'APPLY wf_cumulative_guarded']);
  });

  it('rolls back when a later step fails, restoring a payload Xen will not re-apply from the registry', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.lp.load(P.path('data'));
    await h.lp.load(P.path('guarded_on_data'));
    await h.lp.upload('wf_cumulative_guarded', P.path('cumulative_guarded'));
    await h.xen.setHook({ payload: 'wf_cumulative_guarded', kind: 'preapply' }, { rc: -22 });
    const err = await caught(h.lp.replace('wf_cumulative_guarded', { sequential: true }));
    expect(err).toBeInstanceOf(HookVetoError);
    expect((err as HookVetoError).notes.join('\n')).toMatch(
      /rolled back: the previous stack \(wf_data, wf_guarded_on_data\) is applied again/,
    );
    expect(await snapshot(h.xen)).toEqual({
      applied: ['wf_data', 'wf_guarded_on_data'],
      payloads: { wf_guarded_on_data: 'APPLIED', wf_cumulative_guarded: 'CHECKED -22', wf_data: 'APPLIED' },
    });
    // wf_data was unloaded and uploaded again (it moved to the end of the upload order).
    expect(h.calls.filter((c) => c.method === 'upload').map((c) => c.args[0])).toEqual([
      'wf_data',
      'wf_guarded_on_data',
      'wf_cumulative_guarded',
      'wf_data',
    ]);
    expect(await h.lp.pendingJournal()).toBeNull();
  });

  it('a revert failing mid-way: what was already reverted is applied again, in its old order (NODEPS where it had no chain)', async () => {
    const h = await harness();
    await h.lp.load(P.path('action'));
    await h.lp.load(P.path('base'), { nodeps: true }); // depends on the hypervisor, not on wf_action
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    await h.xen.setHook({ payload: 'wf_action', kind: 'revert' }, { rc: -22 });
    const err = await caught(h.lp.replace('wf_cumulative', { sequential: true }));
    expect(err).toMatchObject({ name: 'ActionFailedError', action: 'REVERT', payload: 'wf_action', code: 'EINVAL' });
    expect((err as Error).message).toMatch(/revert action hook failed with -22/);
    expect((err as HookVetoError).notes.join('\n')).toMatch(/rolled back/);
    expect((await snapshot(h.xen)).applied).toEqual(['wf_action', 'wf_base']);
    expect(h.actions().slice(-3)).toEqual(['REVERT wf_base', 'REVERT wf_action', 'APPLY wf_base']);
    expect(h.calls.filter((c) => c.method === 'action').at(-1)!.args[2]).toMatchObject({ nodeps: true });
  });

  it('refuses up front when a payload it reverts could not be restored, unless --force', async () => {
    const h = await harness();
    await h.xen.upload('foreign', await P.bytes('base'));
    await h.xen.action('foreign', 'APPLY');
    h.clock.advance(10);
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const err = await caught(h.lp.replace('wf_cumulative', { sequential: true }));
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/cannot restore foreign for certain.*--force/);
    expect(h.actions().filter((a) => !a.endsWith('foreign') || a.startsWith('REVERT'))).toEqual([]);
    const r = await h.lp.replace('wf_cumulative', { sequential: true, force: true });
    expect(r.steps.map((s) => `${s.action} ${s.payload}`)).toEqual(['REVERT foreign', 'APPLY wf_cumulative']);
  });

  it('with the target at the bottom of the stack: reverts what is above it', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('second'));
    await h.lp.load(P.path('third'));
    const r = await h.lp.replace('wf_base', { sequential: true });
    expect(r.steps.map((s) => `${s.action} ${s.payload} ${s.outcome}`)).toEqual([
      'REVERT wf_third done',
      'REVERT wf_second done',
      'APPLY wf_base nothing-to-do',
    ]);
    expect((await snapshot(h.xen)).applied).toEqual(['wf_base']);
  });

  it('with the target inside the stack and not safe to re-apply: reverted, reloaded and applied alone', async () => {
    const h = await harness();
    await h.lp.load(P.path('data'));
    await h.lp.load(P.path('guarded_on_data'));
    await h.lp.load(P.path('base'), { nodeps: true });
    const plan = await h.lp.planReplace('wf_guarded_on_data', { sequential: true, nodeps: true });
    expect(plan.steps.map((s) => `${s.action} ${s.payload}`)).toEqual([
      'REVERT wf_base',
      'REVERT wf_guarded_on_data',
      'REVERT wf_data',
      'APPLY wf_guarded_on_data',
    ]);
    const r = await h.lp.replace('wf_guarded_on_data', { sequential: true, nodeps: true });
    expect(r.steps.map((s) => `${s.action} ${s.payload}`)).toEqual([
      'REVERT wf_base',
      'REVERT wf_guarded_on_data',
      'REVERT wf_data',
      'APPLY wf_guarded_on_data',
    ]);
    expect((await snapshot(h.xen)).applied).toEqual(['wf_guarded_on_data']);
  });

  it('a reload cut short (unloaded, not uploaded again): the rollback uploads it from the registry', async () => {
    let failUploads = 0;
    const h = await harness({
      wrap: (b) =>
        new Proxy(b, {
          get(t, prop, r) {
            if (prop === 'upload') {
              return async (...args: Parameters<typeof b.upload>) => {
                if (failUploads > 0) {
                  failUploads--;
                  throw new Error('ENOSPC: simulated failure while reloading');
                }
                return t.upload(...args);
              };
            }
            const v = Reflect.get(t, prop, r) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        }),
    });
    await h.lp.load(P.path('cumulative'));
    await h.lp.load(P.path('data'), { nodeps: true });
    failUploads = 1;
    const err = await caught(h.lp.replace('wf_data', { sequential: true }));
    expect((err as Error).message).toMatch(/simulated failure/);
    expect(h.actions()).toEqual([
      'APPLY wf_cumulative',
      'APPLY wf_data',
      'REVERT wf_data',
      'REVERT wf_cumulative',
      'UNLOAD wf_data', // the reload: its upload failed
      'APPLY wf_cumulative', // rollback
      'APPLY wf_data', // uploaded again from the registry first, NODEPS as it had no chain
    ]);
    expect(await snapshot(h.xen)).toEqual({
      applied: ['wf_cumulative', 'wf_data'],
      payloads: { wf_cumulative: 'APPLIED', wf_data: 'APPLIED' },
    });
    expect(await h.lp.pendingJournal()).toBeNull();
  });

  it('with an empty stack: just applies', async () => {
    const h = await harness();
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const r = await h.lp.replace('wf_cumulative', { sequential: true });
    expect(r.steps.map((s) => `${s.action} ${s.payload}`)).toEqual(['APPLY wf_cumulative']);
  });
});

describe('stack', () => {
  it('orders the applied payloads by the build-id chain, with hooks xlp knows and payloads others uploaded', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.xen.upload('by-hand', await P.bytes('second'));
    await h.xen.action('by-hand', 'APPLY');
    h.clock.advance(10);
    await h.lp.load(P.path('third'));
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    const view = await h.lp.stack();
    expect(view.xenBuildId).toBe('c0ffee00000000000000000000000000000000f5');
    expect(view.orderCertain).toBe(true);
    expect(view.applied.map((e) => [e.position, e.name, e.buildId, e.dependsOn, e.hooks])).toEqual([
      [1, 'wf_base', P.buildId('base'), 'c0ffee00000000000000000000000000000000f5', []],
      [2, 'by-hand', P.buildId('second'), P.buildId('base'), null],
      [3, 'wf_third', P.buildId('third'), P.buildId('second'), []],
    ]);
    expect(view.loaded.map((p) => `${p.name}:${p.state}`)).toEqual([
      'wf_base:APPLIED',
      'by-hand:APPLIED',
      'wf_third:APPLIED',
      'wf_cumulative:CHECKED',
    ]);
  });

  it("a registry record for a payload replaced behind xlp's back is not trusted", async () => {
    const h = await harness();
    await h.lp.load(P.path('guarded')).catch(() => undefined); // depends on base: unloaded again
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('guarded'));
    // Another tool swaps wf_guarded for a payload without hooks under the same name.
    await h.xen.action('wf_guarded', 'REVERT');
    h.clock.advance(10);
    await h.xen.action('wf_guarded', 'UNLOAD');
    await h.xen.upload('wf_guarded', await P.bytes('second'));
    await h.xen.action('wf_guarded', 'APPLY');
    h.clock.advance(10);
    const view = await h.lp.stack();
    expect(view.applied.map((e) => [e.name, e.hooks])).toEqual([
      ['wf_base', []],
      ['wf_guarded', null],
    ]);
  });
});
