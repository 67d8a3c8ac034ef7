/**
 * Interrupting `xlp` while an action is pending in the hypervisor: a real SIGINT (the Ctrl-C the
 * CLI's handler turns into an abort) and a kill -9, sent to the process while the mock still runs
 * the action. Xen runs one action at a time; an action issued into a pending one runs its vetoing
 * pre-hook for nothing and never its post-hook. Nothing may be issued then: the rollback waits for
 * the pending action, and `recover` plans (and does) what its outcome requires.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MockHypervisor } from '../../lib/mock/hypervisor.js';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, type MockHost, mockHost, xlpSpawn } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

/** Long enough to interrupt a pending action by hand, short enough for a test. */
const QUIESCE_MS = 1500;

/** Polls the mock until `cmd` of `name` is pending in it. */
async function pendingIn(mock: MockHypervisor, cmd: string, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = (await mock.inspect()).pending;
    if (p?.cmd === cmd && p.name === name) return;
    if (Date.now() > deadline) throw new Error(`${cmd} ${name} never became pending`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every pre-hook call of a payload has its post-hook call after it: no hook was half-run. */
function hooksPaired(calls: readonly { payload: string; kind: string }[], payload: string): string[] {
  return calls.filter((c) => c.payload === payload && /^(pre|post)(apply|revert)$/.test(c.kind)).map((c) => c.kind);
}

/** [wf_base, wf_guarded] applied (wf_guarded has every vetoing hook), wf_cumulative uploaded. */
async function stackHost(): Promise<{ host: MockHost; mock: MockHypervisor }> {
  const host = await mockHost({ quiesceMs: QUIESCE_MS });
  for (const args of [
    ['load', P.path('base')],
    ['load', P.path('guarded')],
    ['upload', 'wf_cumulative', P.path('cumulative')],
  ]) {
    const r = await host.run(...args);
    expect(r.code, r.err).toBe(0);
  }
  const mock = await host.mock();
  await mock.clearHookCalls();
  return { host, mock };
}

describe('Ctrl-C (SIGINT) while an action is pending', () => {
  it('replace --sequential: the rollback waits for the pending REVERT, then restores the stack running every hook whole', async () => {
    const { host, mock } = await stackHost();
    const run = xlpSpawn(['replace', 'wf_cumulative', '--sequential'], host.env);
    // Step 2 (REVERT wf_base) issued and still running in the hypervisor.
    await pendingIn(mock, 'REVERT', 'wf_base');
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(
      /xlp: note: the REVERT of wf_base \(issued by pid \d+\) is still pending in the hypervisor; waiting up to 30 s for it to complete before restoring the stack \(wf_base, wf_guarded\) \(Ctrl-C again kills xlp/,
    );
    expect(r.err).toMatch(/xlp: REVERT of "wf_base" was cancelled while waiting/);
    expect(r.err).toMatch(/rolled back: the previous stack \(wf_base, wf_guarded\) is applied again/);
    expect(await hvState(host)).toEqual({
      applied: ['wf_base', 'wf_guarded'],
      payloads: { wf_base: 'APPLIED', wf_guarded: 'APPLIED', wf_cumulative: 'CHECKED' },
    });
    // wf_guarded was reverted (step 1) and applied again (the rollback): each pre-hook with its post-hook.
    expect(hooksPaired(await mock.hookCalls(), 'wf_guarded')).toEqual(['prerevert', 'postrevert', 'preapply', 'postapply']);
    // Nothing left for `xlp recover`, nothing recorded as in flight.
    expect((await host.run('recover')).out).toBe('nothing to recover\n');
    expect((await host.run('replace', 'wf_cumulative', '--sequential')).code).toBe(0);
  });

  it('load: the undo waits for the pending APPLY, then reverts and unloads; a second Ctrl-C leaves the rest to recover', async () => {
    const host = await mockHost({ quiesceMs: QUIESCE_MS });
    const mock = await host.mock();
    const run = xlpSpawn(['load', P.path('guarded'), '--nodeps'], host.env);
    await pendingIn(mock, 'APPLY', 'wf_guarded');
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/waiting up to 30 s for it to complete before undoing the load of wf_guarded/);
    expect(r.err).toMatch(/wf_guarded was applied after all; it was reverted/);
    expect(await hvState(host)).toEqual({ applied: [], payloads: {} });
    expect(hooksPaired(await mock.hookCalls(), 'wf_guarded')).toEqual(['preapply', 'postapply', 'prerevert', 'postrevert']);
    expect((await host.run('recover')).out).toBe('nothing to recover\n');

    // Twice: the second Ctrl-C kills xlp while it waits; the journal is left, and recover finishes.
    const again = xlpSpawn(['load', P.path('guarded'), '--nodeps'], host.env);
    await pendingIn(mock, 'APPLY', 'wf_guarded');
    process.kill(again.pid, 'SIGINT');
    const deadline = Date.now() + 10_000;
    // The first Ctrl-C has been handled once the undo has begun (the journal says so); it then waits.
    while ((await journalPhase(host)) !== 'rollback' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    await new Promise((res) => setTimeout(res, 100));
    process.kill(again.pid, 'SIGINT');
    const r2 = await again.done;
    expect(r2.signal).toBe('SIGINT');
    const list = await host.run('list');
    expect(list.err).toMatch(/an interrupted `load wf_guarded`/);
    const rec = await host.run('recover', '--json');
    expect(rec.code, rec.err).toBe(0);
    expect(await hvState(host)).toEqual({ applied: [], payloads: {} });
    expect(hooksPaired(await mock.hookCalls(), 'wf_guarded').slice(4)).toEqual(['preapply', 'postapply', 'prerevert', 'postrevert']);
  });
});

/** The phase the journal of xlp's state directory is in, or null when there is none. */
async function journalPhase(host: MockHost): Promise<string | null> {
  try {
    return (JSON.parse(await readFile(join(host.dir, 'workflow', 'journal.json'), 'utf8')) as { phase: string }).phase;
  } catch {
    return null;
  }
}

describe('kill -9 while an action is pending, then recover', () => {
  it('replace --sequential killed mid-REVERT: recover --dry-run says it waits, and plans both outcomes; recover then rolls back', async () => {
    const { host, mock } = await stackHost();
    const run = xlpSpawn(['replace', 'wf_cumulative', '--sequential'], host.env);
    await pendingIn(mock, 'REVERT', 'wf_base');
    process.kill(run.pid, 'SIGKILL');
    await run.done;

    const plan = await host.run('recover', '--dry-run', '--json');
    expect(plan.code, plan.err).toBe(0);
    const p = expectSchema<{
      plan: { pending: unknown; steps: { action: string; payload: string }[]; ifPendingFails: { action: string; payload: string }[] };
    }>(plan, 'recoverPlan').plan;
    expect(p.pending).toMatchObject({ action: 'REVERT', payload: 'wf_base' });
    // If the REVERT completes, both payloads must be applied again; if it fails, only wf_guarded.
    expect(p.steps.map((s) => `${s.action} ${s.payload}`)).toEqual(['APPLY wf_base', 'APPLY wf_guarded']);
    expect(p.ifPendingFails.map((s) => `${s.action} ${s.payload}`)).toEqual(['APPLY wf_guarded']);
    const text = await host.run('recover', '--dry-run');
    expect(text.out).toMatch(
      /first: wait for the REVERT of wf_base, still pending in the hypervisor[\s\S]*if it completes:\n {4}1\. APPLY wf_base[\s\S]*if it fails:\n {4}1\. APPLY wf_guarded/,
    );

    const r = await host.run('recover', '--json');
    expect(r.code, r.err).toBe(0);
    expect(expectSchema<{ steps: { action: string; name: string }[] }>(r, 'recover').steps.map((s) => `${s.action} ${s.name}`)).toEqual([
      'APPLY wf_base',
      'APPLY wf_guarded',
    ]);
    expect(await hvState(host)).toMatchObject({ applied: ['wf_base', 'wf_guarded'] });
    expect(hooksPaired(await mock.hookCalls(), 'wf_guarded')).toEqual(['prerevert', 'postrevert', 'preapply', 'postapply']);
  });

  it('load killed mid-APPLY: recover --dry-run plans REVERT+UNLOAD if it completes, UNLOAD if it fails; recover waits and does it', async () => {
    const host = await mockHost({ quiesceMs: QUIESCE_MS });
    const mock = await host.mock();
    const run = xlpSpawn(['load', P.path('base')], host.env);
    await pendingIn(mock, 'APPLY', 'wf_base');
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    const plan = await host.run('recover', '--dry-run', '--json');
    expect(plan.code, plan.err).toBe(0);
    const p = expectSchema<{ plan: { pending: unknown; steps: { action: string }[]; ifPendingFails: { action: string }[] } }>(
      plan,
      'recoverPlan',
    ).plan;
    expect(p.pending).toMatchObject({ action: 'APPLY', payload: 'wf_base' });
    expect(p.steps.map((s) => s.action)).toEqual(['REVERT', 'UNLOAD']);
    expect(p.ifPendingFails.map((s) => s.action)).toEqual(['UNLOAD']);
    const r = await host.run('recover');
    expect(r.code, r.err).toBe(0);
    expect(await hvState(host)).toEqual({ applied: [], payloads: {} });
  });
});
