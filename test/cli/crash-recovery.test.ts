/**
 * kill -9 of `xlp replace --sequential` (and `xlp load`) right after each of its journal writes
 * (XLP_FAULT_KILL_AFTER_JOURNAL_WRITES=N makes the process SIGKILL itself there), then the next
 * `xlp` reporting the journal and refusing to mutate, and `xlp recover` rolling back or completing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, type MockHost, mockHost, xlp } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

/** A stack of [wf_data (not safe to re-apply), wf_guarded_on_data (vetoing hooks)] and wf_cumulative uploaded. */
async function stackHost(): Promise<MockHost> {
  const host = await mockHost();
  const lp = await host.livepatcher();
  await lp.load(P.path('data'));
  await lp.load(P.path('guarded_on_data'));
  await lp.upload('wf_cumulative', P.path('cumulative'));
  return host;
}

const ORIGINAL = { applied: ['wf_data', 'wf_guarded_on_data'] };
/** Journal writes of `replace --sequential wf_cumulative` on that stack: the plan, then started/done per step. */
const WRITES = 1 + 2 * 3;
/** The applied stack each kill leaves (the step after a `started` write has not been issued yet). */
const LEFT: Record<number, string[]> = {
  1: ['wf_data', 'wf_guarded_on_data'],
  2: ['wf_data', 'wf_guarded_on_data'],
  3: ['wf_data'],
  4: ['wf_data'],
  5: [],
  6: [],
  7: ['wf_cumulative'],
};

async function killAt(host: MockHost, n: number, ...args: string[]) {
  const r = await xlp(args, { ...host.env, XLP_FAULT_KILL_AFTER_JOURNAL_WRITES: String(n) });
  expect(r.signal, `${args.join(' ')} with a kill after journal write ${n}: ${r.err}`).toBe('SIGKILL');
  return r;
}

describe('kill -9 of replace --sequential at each journal write', () => {
  it('runs to the end when the fault point is past the last write', async () => {
    const host = await stackHost();
    const r = await xlp(['replace', 'wf_cumulative', '--sequential'], {
      ...host.env,
      XLP_FAULT_KILL_AFTER_JOURNAL_WRITES: String(WRITES + 1),
    });
    expect(r.code, r.err).toBe(0);
    expect((await hvState(host)).applied).toEqual(['wf_cumulative']);
  });

  for (let n = 1; n <= WRITES; n++) {
    it(`killed after write ${n}: reported, blocks mutations, \`xlp recover\` rolls back`, async () => {
      const host = await stackHost();
      await killAt(host, n, 'replace', 'wf_cumulative', '--sequential');
      expect((await hvState(host)).applied).toEqual(LEFT[n]);

      const list = await host.run('list', '--json');
      expect(list.code).toBe(0);
      expectSchema(list, 'list');
      expect(list.err).toMatch(
        /^xlp: warning: an interrupted `replace --sequential wf_cumulative` \(pid \d+, .*\) left a journal; run `xlp recover`/,
      );
      const blocked = await host.run('apply', 'wf_cumulative', '--json');
      expect(blocked.code).toBe(1);
      expect(expectSchema<{ error: Record<string, unknown> }>(blocked, 'error').error).toMatchObject({
        code: 'JOURNAL',
        kind: 'JournalPendingError',
        command: 'replace --sequential wf_cumulative',
      });

      const plan = await host.run('recover', '--dry-run', '--json');
      expect(plan.code).toBe(0);
      expect(expectSchema<{ journal: { steps: unknown[] } }>(plan, 'recoverPlan').journal.steps).toHaveLength(3);

      const r = await host.run('recover', '--json');
      expect(r.code, r.err).toBe(0);
      expect(expectSchema(r, 'recover')).toMatchObject({ mode: 'rollback' });
      expect(await hvState(host)).toMatchObject(ORIGINAL);
      expect((await hvState(host)).payloads).toMatchObject({ wf_cumulative: 'CHECKED', wf_data: 'APPLIED', wf_guarded_on_data: 'APPLIED' });
      expect((await host.ok('recover')).out).toBe('nothing to recover\n');
      // And the hypervisor is usable again.
      expect((await host.run('replace', 'wf_cumulative', '--sequential')).code).toBe(0);
    });

    it(`killed after write ${n}: \`xlp recover --complete\` finishes the plan`, async () => {
      const host = await stackHost();
      await killAt(host, n, 'replace', 'wf_cumulative', '--sequential');
      const r = await host.run('recover', '--complete', '--json');
      expect(r.code, r.err).toBe(0);
      expect(expectSchema(r, 'recover')).toMatchObject({ mode: 'complete' });
      expect(await hvState(host)).toEqual({
        applied: ['wf_cumulative'],
        payloads: { wf_data: 'CHECKED', wf_guarded_on_data: 'CHECKED', wf_cumulative: 'APPLIED' },
      });
    });
  }

  it('killed during the rollback of a failed step: only a rollback is possible', async () => {
    const host = await stackHost();
    await host.ok('upload', 'wf_cumulative_guarded', P.path('cumulative_guarded'));
    await host.ok('mock', 'hook', 'wf_cumulative_guarded', 'preapply', '--rc', '-1');
    // plan, 2 x (started, done), apply started, then the rollback phase: write 7.
    await killAt(host, 7, 'replace', 'wf_cumulative_guarded', '--sequential');
    expect((await hvState(host)).applied).toEqual([]);
    const complete = await host.run('recover', '--complete', '--json');
    expect(complete.code).toBe(1);
    expect((complete.json() as { error: { message: string } }).error.message).toMatch(
      /had already failed .*pre-apply hook.* only be rolled back/,
    );
    const r = await host.run('recover');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^rolled back the interrupted `replace --sequential wf_cumulative_guarded`$/m);
    expect(await hvState(host)).toMatchObject(ORIGINAL);
  });
});

/** A stack of [wf_action, wf_third applied with --nodeps] (wf_third depends on wf_second, which is not loaded) and wf_cumulative uploaded. */
async function nodepsHost(): Promise<MockHost> {
  const host = await mockHost();
  const lp = await host.livepatcher();
  await lp.load(P.path('action'));
  await lp.load(P.path('third'), { nodeps: true });
  await lp.upload('wf_cumulative', P.path('cumulative'));
  return host;
}

describe('kill -9 of replace --sequential over a stack holding a payload applied with --nodeps', () => {
  // Writes: 1 plan, 2/3 REVERT wf_third, 4/5 REVERT wf_action, 6/7 APPLY wf_cumulative. From write 3 on,
  // wf_third is reverted, and only NODEPS puts it back on top of wf_action.
  const LEFT_NODEPS: Record<number, string[]> = { 3: ['wf_action'], 5: [], 7: ['wf_cumulative'] };
  for (const n of [3, 5, 7]) {
    it(`killed after write ${n}: \`xlp recover\` re-applies wf_third with NODEPS, in its old place`, async () => {
      const host = await nodepsHost();
      await killAt(host, n, 'replace', 'wf_cumulative', '--sequential');
      expect((await hvState(host)).applied).toEqual(LEFT_NODEPS[n]);
      const plan = await host.run('recover', '--dry-run', '--json');
      expect(plan.code, plan.err).toBe(0);
      const steps = expectSchema<{ plan: { steps: { action: string; payload: string; note?: string }[] } }>(plan, 'recoverPlan').plan.steps;
      expect(steps.filter((s) => s.action === 'APPLY').map((s) => `${s.payload} ${s.note ?? ''}`.trim())).toEqual([
        ...(n >= 5 ? ['wf_action'] : []),
        'wf_third NODEPS',
      ]);
      const r = await host.run('recover', '--json');
      expect(r.code, r.err).toBe(0);
      expect(expectSchema(r, 'recover')).toMatchObject({ mode: 'rollback' });
      expect(await hvState(host)).toEqual({
        applied: ['wf_action', 'wf_third'],
        payloads: { wf_action: 'APPLIED', wf_third: 'APPLIED', wf_cumulative: 'CHECKED' },
      });
      expect((await host.ok('recover')).out).toBe('nothing to recover\n');
    });
  }

  it('a rollback that has two payloads to revert reverts the top one first', async () => {
    const host = await nodepsHost();
    await killAt(host, 7, 'replace', 'wf_cumulative', '--sequential');
    // Before anyone runs `xlp recover`, another tool (which knows nothing of xlp's journal) applies a payload on top.
    const m = await host.mock();
    await m.upload('foreign', await P.bytes('cumulative2'));
    await m.action('foreign', 'APPLY', { nodeps: true });
    await expect.poll(async () => (await m.get('foreign')).state).toBe('APPLIED');
    expect((await hvState(host)).applied).toEqual(['wf_cumulative', 'foreign']);

    const plan = await host.run('recover', '--dry-run', '--json');
    expect(plan.code, plan.err).toBe(0);
    expect(
      expectSchema<{ plan: { steps: { action: string; payload: string; note?: string }[] } }>(plan, 'recoverPlan').plan.steps.map((s) =>
        `${s.action} ${s.payload} ${s.note ?? ''}`.trim(),
      ),
    ).toEqual(['REVERT foreign', 'REVERT wf_cumulative', 'APPLY wf_action', 'APPLY wf_third NODEPS']);
    const r = await host.run('recover', '--json');
    expect(r.code, r.err).toBe(0);
    const done = expectSchema<{ steps: { action: string; name: string }[] }>(r, 'recover').steps;
    expect(done.map((s) => `${s.action} ${s.name}`)).toEqual([
      'REVERT foreign',
      'REVERT wf_cumulative',
      'APPLY wf_action',
      'APPLY wf_third',
    ]);
    expect(await hvState(host)).toEqual({
      applied: ['wf_action', 'wf_third'],
      payloads: { wf_action: 'APPLIED', wf_third: 'APPLIED', wf_cumulative: 'CHECKED', foreign: 'CHECKED' },
    });
  });
});

describe('kill -9 of load at each journal write', () => {
  for (const n of [1, 2, 3]) {
    it(`killed after write ${n}: recover undoes it, recover --complete applies it (once uploaded)`, async () => {
      const back = await mockHost();
      await killAt(back, n, 'load', P.path('base'));
      const r = await back.run('recover');
      expect(r.code, r.err).toBe(0);
      expect(await hvState(back)).toEqual({ applied: [], payloads: {} });

      const fwd = await mockHost();
      await killAt(fwd, n, 'load', P.path('base'));
      const c = await fwd.run('recover', '--complete');
      if (n === 1) {
        // Never uploaded: nothing to complete (the journal stays until `xlp recover`).
        expect(c.code).toBe(1);
        expect(c.err).toMatch(/never uploaded "wf_base"/);
        expect((await fwd.run('recover')).code).toBe(0);
        expect((await fwd.run('load', P.path('base'))).code).toBe(0);
      } else {
        expect(c.code, c.err).toBe(0);
      }
      expect(await hvState(fwd)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED' } });
    });
  }
});
