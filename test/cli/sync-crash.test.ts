/**
 * kill -9 of `xlp sync` right after each of its journal writes (XLP_FAULT_KILL_AFTER_JOURNAL_WRITES),
 * then `xlp recover` (the stack as it was) or `xlp recover --complete` (the installed set): the
 * stack is consistent either way, and nothing the sync uploaded is left behind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, type MockHost, mockHost, xlp } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

interface Scenario {
  readonly title: string;
  /** Sets the host up; the sync then has `steps` steps. */
  setup(host: MockHost): Promise<void>;
  readonly steps: readonly string[];
  /** The hypervisor after a rollback, and after a completion. */
  readonly original: Record<string, string>;
  readonly originalStack: readonly string[];
  readonly converged: Record<string, string>;
  readonly convergedStack: readonly string[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    title: 'sequential (revert, uploads, applies, unload)',
    async setup(host) {
      await host.ok('install', P.path('base'));
      await host.ok('sync');
      const lp = await host.livepatcher();
      await lp.load(P.path('guarded'));
      await host.ok('install', P.path('second'), P.path('third'));
    },
    steps: ['REVERT wf_guarded', 'UPLOAD wf_second', 'UPLOAD wf_third', 'APPLY wf_second', 'APPLY wf_third', 'UNLOAD wf_guarded'],
    original: { wf_base: 'APPLIED', wf_guarded: 'APPLIED' },
    originalStack: ['wf_base', 'wf_guarded'],
    converged: { wf_base: 'APPLIED', wf_second: 'APPLIED', wf_third: 'APPLIED' },
    convergedStack: ['wf_base', 'wf_second', 'wf_third'],
  },
  {
    title: 'one REPLACE',
    async setup(host) {
      const lp = await host.livepatcher();
      await lp.load(P.path('base'));
      await lp.load(P.path('second'));
      await host.ok('install', P.path('cumulative'));
    },
    steps: ['UPLOAD wf_cumulative', 'REPLACE wf_cumulative', 'UNLOAD wf_base', 'UNLOAD wf_second'],
    original: { wf_base: 'APPLIED', wf_second: 'APPLIED' },
    originalStack: ['wf_base', 'wf_second'],
    converged: { wf_cumulative: 'APPLIED' },
    convergedStack: ['wf_cumulative'],
  },
];

async function killAt(host: MockHost, n: number): Promise<void> {
  const r = await xlp(['sync'], { ...host.env, XLP_FAULT_KILL_AFTER_JOURNAL_WRITES: String(n) });
  expect(r.signal, `sync with a kill after journal write ${n}: ${r.err}`).toBe('SIGKILL');
}

for (const sc of SCENARIOS) {
  describe(`kill -9 of sync at each journal write: ${sc.title}`, () => {
    const writes = 1 + 2 * sc.steps.length;

    it('plans exactly these steps, and runs to the end past the last write', async () => {
      const host = await mockHost();
      await sc.setup(host);
      const plan = expectSchema<{ plan: { steps: { action: string; name: string }[] } }>(
        await host.ok('sync', '--dry-run', '--json'),
        'sync',
      );
      expect(plan.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual(sc.steps);
      const r = await xlp(['sync'], { ...host.env, XLP_FAULT_KILL_AFTER_JOURNAL_WRITES: String(writes + 1) });
      expect(r.code, r.err).toBe(0);
      expect(await hvState(host)).toEqual({ applied: sc.convergedStack, payloads: sc.converged });
    });

    for (let n = 1; n <= writes; n++) {
      it(`killed after write ${n}: reported, blocks mutations; recover restores the stack, recover --complete converges`, async () => {
        const host = await mockHost();
        await sc.setup(host);
        await killAt(host, n);

        const list = await host.run('list');
        expect(list.err).toMatch(/an interrupted `sync` \(pid \d+, .*\) left a journal; run `xlp recover`/);
        const blocked = await host.run('sync', '--json');
        expect(blocked.code).toBe(1);
        expect(expectSchema<{ error: Record<string, unknown> }>(blocked, 'error').error).toMatchObject({
          kind: 'JournalPendingError',
          command: 'sync',
        });
        const plan = await host.run('recover', '--dry-run', '--json');
        expect(plan.code, plan.err).toBe(0);
        expect(expectSchema<{ journal: { workflow: string } }>(plan, 'recoverPlan').journal.workflow).toBe('sync');

        // Rollback on one copy of the state, completion after it (the rollback leaves a clean host, which sync then converges).
        const r = await host.run('recover', '--json');
        expect(r.code, r.err).toBe(0);
        expect(expectSchema(r, 'recover')).toMatchObject({ mode: 'rollback' });
        expect(await hvState(host)).toEqual({ applied: sc.originalStack, payloads: sc.original });
        expect((await host.ok('recover')).out).toBe('nothing to recover\n');
        await host.ok('sync');
        expect(await hvState(host)).toEqual({ applied: sc.convergedStack, payloads: sc.converged });
      });

      it(`killed after write ${n}: recover --complete converges to the installed set`, async () => {
        const host = await mockHost();
        await sc.setup(host);
        await killAt(host, n);
        const r = await host.run('recover', '--complete', '--json');
        expect(r.code, r.err).toBe(0);
        expect(expectSchema(r, 'recover')).toMatchObject({ mode: 'complete' });
        expect(await hvState(host)).toEqual({ applied: sc.convergedStack, payloads: sc.converged });
        // Converged: a sync has nothing left to do.
        expect(expectSchema(await host.ok('sync', '--json'), 'sync')).toMatchObject({ changed: false });
      });
    }
  });
}
