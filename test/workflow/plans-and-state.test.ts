/** Dry-run plans, progress events, the state directory, the host lock, explanations without a console. */
import { chmod, chown, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../lib/fs/lock.js';
import { ManualClock, MockHypervisor } from '../../lib/mock/index.js';
import { preflight } from '../../lib/preflight/index.js';
import { LockedError } from '../../lib/workflow/errors.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { formatPlan } from '../../lib/workflow/plan.js';
import { loadedPayloadInfo } from '../../lib/payload/loaded-info.js';
import { harness, noConsole, snapshot, tempDir } from './support/harness.js';
import { WF_XEN, wfPayloads, type WfPayloads } from './support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

describe('dry-run plans change nothing and say what would happen, hooks in order', () => {
  it('every mutating command', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('guarded'));
    await h.lp.upload('wf_cumulative_guarded', P.path('cumulative_guarded'));
    await h.lp.upload('wf_hooked', P.path('hooked'));
    const before = { snap: await snapshot(h.xen), hooks: (await h.xen.hookCalls()).length, actions: h.actions().length };

    // wf_action depends on the hypervisor, not on the applied stack's top: --nodeps.
    const load = await h.lp.planLoad(P.path('action'), { nodeps: true });
    expect(load.steps.map((s) => [s.action, s.payload, s.hooks?.map((x) => x.hook)])).toEqual([
      ['UPLOAD', 'wf_action', []],
      ['APPLY', 'wf_action', ['apply']],
    ]);
    expect(load.refused).toBeUndefined();
    expect((await h.lp.planLoad(P.path('wrong_xen'))).refused).toMatchObject({ code: 'PREFLIGHT', category: 'preflight' });
    expect((await h.lp.planLoad(P.path('fatal'), { force: true })).refused).toMatchObject({ code: 'PREFLIGHT' });
    expect((await h.lp.planUpload('x', P.path('second'))).steps.map((s) => s.action)).toEqual(['UPLOAD']);
    // The same bytes under another name: Xen refuses a duplicate build-id (EEXIST).
    expect((await h.lp.planUpload('x', P.path('hooked'))).refused).toMatchObject({ code: 'PREFLIGHT' });

    // What Xen will refuse, the plan refuses: exit 1, as the apply would.
    const apply = await h.lp.planApply('wf_hooked');
    expect(apply.refused).toMatchObject({
      code: 'EINVAL',
      category: 'failed',
      message: expect.stringMatching(/wf_hooked" depends on .* the top of the applied stack is "wf_guarded"/),
    });
    const nodeps = await h.lp.planApply('wf_hooked', { nodeps: true });
    expect(nodeps.refused).toBeUndefined();
    expect(nodeps.steps[0]!.hooks!.map((x) => `${x.hook}${x.vetoing ? '!' : ''}`)).toEqual(['load']);
    expect((await h.lp.planApply('wf_base')).steps).toEqual([]);

    const revert = await h.lp.planRevert('wf_guarded');
    expect(revert.steps[0]!.hooks!.map((x) => `${x.hook}${x.vetoing ? '!' : ''}`)).toEqual(['prerevert!', 'postrevert']);
    expect((await h.lp.planRevert('wf_base')).refused).toMatchObject({
      code: 'EBUSY',
      category: 'failed',
      message: expect.stringMatching(/"wf_guarded" is/),
    });

    // A load Xen would refuse on the dependency check is refused before upload, dry run or not.
    const dependent = await h.lp.planLoad(P.path('second'));
    expect(dependent.refused).toMatchObject({ code: 'EINVAL', category: 'failed', message: expect.stringMatching(/nothing was uploaded/) });
    // Preflight's labels: warnings as warnings, errors only in the refusal.
    const data = await h.lp.planLoad(P.path('data'), { nodeps: true });
    expect(data.warnings.join('\n')).toMatch(/^not-safe-to-reapply: /m);
    expect(data.warnings.join('\n')).not.toMatch(/warning not-safe|^warning /m);
    const dup = await h.lp.planUpload('x', P.path('hooked'));
    expect(dup.warnings.join('\n')).not.toMatch(/duplicate/);

    expect((await h.lp.planUnload('wf_base')).refused).toMatchObject({ code: 'EINVAL' });
    expect((await h.lp.planUnload('wf_hooked')).steps.map((s) => s.action)).toEqual(['UNLOAD']);

    const atomic = await h.lp.planReplace('wf_cumulative_guarded');
    expect(atomic.refused).toMatchObject({ code: 'EOPNOTSUPP' });
    const seq = await h.lp.planReplace('wf_cumulative_guarded', { sequential: true });
    expect(seq.steps.map((s) => [s.action, s.payload, s.hooks?.map((x) => x.hook).join(',')])).toEqual([
      ['REVERT', 'wf_guarded', 'prerevert,postrevert'],
      ['REVERT', 'wf_base', ''],
      ['APPLY', 'wf_cumulative_guarded', 'preapply,postapply'],
    ]);
    expect(formatPlan(seq)).toContain('-> pre-revert hook of wf_guarded (may veto)');
    expect((await h.lp.planRecover()).warnings).toEqual(['no interrupted workflow: nothing to recover']);

    expect(await snapshot(h.xen)).toEqual(before.snap);
    expect((await h.xen.hookCalls()).length).toBe(before.hooks);
    expect(h.actions().length).toBe(before.actions);
    expect(h.calls.filter((c) => c.method === 'upload').length).toBe(4);
  });

  it('load refuses before upload what the APPLY dependency check will refuse (no upload, no unload)', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    const err = await h.lp.load(P.path('third')).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'DependencyError',
      code: 'EINVAL',
      against: 'wf_base',
      againstBuildId: P.buildId('base'),
      dependsOn: P.buildId('second'),
    });
    expect(h.calls.filter((c) => c.method === 'upload').length).toBe(1);
    expect(h.actions()).toEqual(['APPLY wf_base']);
    // --nodeps: the user says it is fine.
    expect((await h.lp.load(P.path('third'), { nodeps: true })).apply.outcome).toBe('done');
  });
});

describe('progress events', () => {
  it('load reports preflight, upload, apply, waiting, hooks and done, in order', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.lp.load(P.path('base'));
    h.events.length = 0;
    await h.lp.load(P.path('guarded'));
    const phases = h.events.map((e) => (e.phase === 'hook' ? `hook:${e.hook}` : e.phase === 'done' ? `done:${e.action}` : e.phase));
    expect(phases[0]).toBe('preflight');
    expect(phases.slice(1, 4)).toEqual(['uploading', 'done:UPLOAD', 'applying']);
    expect(phases).toContain('waiting');
    expect(phases.filter((p) => p.startsWith('hook:'))).toEqual(['hook:preapply', 'hook:postapply']);
    expect(phases.at(-1)).toBe('done:APPLY');
  });

  it("an action still pending at the first poll shows its pre-hook's line before the wait; one done at once reads the console once less", async () => {
    const slow = await harness({ identity: { loglvl: 'all', quiesceMs: 30 } });
    await slow.lp.load(P.path('base'));
    await slow.lp.upload('wf_guarded', P.path('guarded'));
    slow.events.length = 0;
    const reads = () => slow.calls.filter((c) => c.method === 'readConsole').length;
    let before = reads();
    await slow.lp.apply('wf_guarded');
    const phases = slow.events.map((e) => (e.phase === 'hook' ? `hook:${e.hook}` : e.phase));
    expect(phases.indexOf('hook:preapply')).toBeGreaterThanOrEqual(0);
    expect(phases.indexOf('hook:preapply')).toBeLessThan(phases.indexOf('waiting'));
    expect(reads() - before).toBe(3); // before the action, before the wait, after it

    const quick = await harness({ identity: { loglvl: 'all', quiesceMs: 0, rendezvousNs: 0 } });
    await quick.lp.load(P.path('base'));
    await quick.lp.upload('wf_guarded', P.path('guarded'));
    quick.events.length = 0;
    before = quick.calls.filter((c) => c.method === 'readConsole').length;
    const r = await quick.lp.apply('wf_guarded');
    expect(quick.calls.filter((c) => c.method === 'readConsole').length - before).toBe(2); // before the action, after it
    expect(quick.events.some((e) => e.phase === 'waiting')).toBe(false);
    // Nothing is lost by reading once: the hooks and Xen's lines are all there.
    expect(r.hooks.map((x) => x.hook)).toEqual(['preapply', 'postapply']);
    expect(quick.events.filter((e) => e.phase === 'hook').map((e) => (e.phase === 'hook' ? e.hook : ''))).toEqual([
      'preapply',
      'postapply',
    ]);
  });
});

describe('without a readable console (XSM may deny it)', () => {
  it('explains vetoes, dependencies, timeouts and re-apply refusals from the status and the registry', async () => {
    const h = await harness({ wrap: noConsole, identity: { rendezvousNs: 50_000_000 } });
    await h.xen.setHook({ payload: 'wf_guarded', kind: 'preapply' }, { rc: -13 });
    await h.lp.upload('wf_base', P.path('base'));
    await expect(h.lp.apply('wf_base')).rejects.toMatchObject({ name: 'TimeoutError', where: 'hypervisor' });
    await h.lp.apply('wf_base', { quiesceTimeoutNs: 100_000_000 });
    await h.lp.upload('wf_guarded', P.path('guarded'));
    const veto = await h.lp.apply('wf_guarded').catch((e: unknown) => e);
    expect(veto).toMatchObject({ name: 'HookVetoError', hook: 'preapply', rc: -13, code: 'EACCES', consoleLines: [] });
    // The same refusal again: the rc did not change, and the registry says the dependency holds.
    await expect(h.lp.apply('wf_guarded')).rejects.toMatchObject({ name: 'HookVetoError', rc: -13 });
    await h.xen.clearHooks();
    await h.lp.upload('wf_third', P.path('third'));
    await expect(h.lp.apply('wf_third')).rejects.toMatchObject({
      name: 'DependencyError',
      dependsOn: P.buildId('second'),
      against: 'wf_base',
    });
    await h.lp.upload('wf_data', P.path('data'));
    await h.lp.apply('wf_data', { nodeps: true, quiesceTimeoutNs: 100_000_000 });
    await h.lp.revert('wf_data', { quiesceTimeoutNs: 100_000_000 });
    await expect(h.lp.apply('wf_data', { nodeps: true })).rejects.toMatchObject({ name: 'NotReapplyableError' });
    // Not the top: the build-ids in the registry give the order (no x dump is needed, nor readable here).
    await h.lp.upload('wf_second', P.path('second'));
    await h.lp.apply('wf_second', { quiesceTimeoutNs: 100_000_000 });
    await expect(h.lp.revert('wf_base', { quiesceTimeoutNs: 100_000_000 })).rejects.toMatchObject({
      name: 'NotTopOfStackError',
      top: 'wf_second',
    });
  });
});

describe('the state directory', () => {
  it('is created 0700; a symlink, a foreign owner or a group-writable directory is refused', async () => {
    const xen = new MockHypervisor({ identity: { buildId: WF_XEN }, clock: new ManualClock() });
    const base = await tempDir();
    const dir = join(base, 'a', 'state');
    await Livepatcher.open({ backend: xen, stateDir: dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await symlink(dir, join(base, 'link'));
    await expect(Livepatcher.open({ backend: xen, stateDir: join(base, 'link') })).rejects.toMatchObject({ problem: 'symlink' });
    const foreign = join(base, 'foreign');
    await mkdir(foreign, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      await chown(foreign, 65534, 65534);
      await expect(Livepatcher.open({ backend: xen, stateDir: foreign })).rejects.toMatchObject({ problem: 'foreign-owner' });
    }
    const open = join(base, 'open');
    await mkdir(open);
    await chmod(open, 0o770);
    await expect(Livepatcher.open({ backend: xen, stateDir: open })).rejects.toMatchObject({ problem: 'group-or-world-writable' });
  });

  it("keeps the registry and journal private, and records what Xen keeps of a payload's symbols", async () => {
    const h = await harness();
    await h.lp.load(P.path('hooked'));
    const files = await import('node:fs/promises').then((fs) => fs.readdir(join(h.stateDir, 'payloads')));
    expect(files.length).toBe(2);
    for (const f of files) expect((await stat(join(h.stateDir, 'payloads', f))).mode & 0o777).toBe(0o600);
    const rec = JSON.parse(
      await readFile(
        join(
          h.stateDir,
          'payloads',
          files.find((f) => f.endsWith('.json'))!,
        ),
        'utf8',
      ),
    ) as { symbols: string[] };
    const model = preflight(await P.bytes('hooked'), {}).payload!;
    expect(rec.symbols).toEqual(loadedPayloadInfo('wf_hooked', model).symbols);
    expect(rec.symbols).not.toContain(model.symbols.find((s) => s.replacesFunction)!.name);
  });
});

describe('the host lock', () => {
  it('a second workflow waits, then fails naming the holder', async () => {
    const h = await harness({ livepatcher: { lockTimeoutMs: 50 } });
    await h.lp.upload('wf_base', P.path('base'));
    const held = await acquireLock(join(h.stateDir, 'lock'), { purpose: 'xlp replace --sequential other' });
    try {
      const err = await h.lp.apply('wf_base').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockedError);
      expect(err).toMatchObject({ category: 'busy', holder: { pid: process.pid, purpose: 'xlp replace --sequential other' } });
      expect((err as Error).message).toMatch(new RegExp(`pid ${process.pid} .*\\(xlp replace --sequential other\\).*--lock-timeout`));
      // Reading needs no lock.
      expect((await h.lp.status('wf_base')).state).toBe('CHECKED');
      // An abort while waiting for the lock.
      const ac = new AbortController();
      const slow = await Livepatcher.open({ backend: h.xen, stateDir: h.stateDir, lockTimeoutMs: 10_000 });
      setTimeout(() => ac.abort(), 30);
      await expect(slow.apply('wf_base', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortedError' });
    } finally {
      await held.release();
    }
    expect(h.actions()).toEqual([]);
    await h.lp.apply('wf_base');
  });
});

describe('a pending journal', () => {
  it('blocks every other mutation and is what recover reads', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await writeFile(
      join(h.stateDir, 'journal.json'),
      JSON.stringify({
        version: 1,
        workflow: 'replace-sequential',
        command: 'replace --sequential wf_base',
        startedAt: '2026-01-01T00:00:00.000Z',
        pid: 1,
        target: 'wf_base',
        originalStack: ['wf_base'],
        phase: 'forward',
        steps: [{ action: 'APPLY', payload: 'wf_base', state: 'started' }],
        uploadedByWorkflow: false,
      }),
    );
    for (const run of [
      () => h.lp.revert('wf_base'),
      () => h.lp.unload('wf_base'),
      () => h.lp.upload('x', P.path('second')),
      () => h.lp.replace('wf_base'),
    ]) {
      await expect(run()).rejects.toMatchObject({
        name: 'JournalPendingError',
        code: 'JOURNAL',
        message: expect.stringMatching(
          /interrupted `replace --sequential wf_base` .*step 1 of 1 \(APPLY wf_base\) was started.*xlp recover/,
        ),
      });
    }
    expect((await h.lp.planRevert('wf_base')).refused).toMatchObject({ code: 'JOURNAL' });
    expect(h.actions()).toEqual(['APPLY wf_base']);
    const r = await h.lp.recover({ complete: true });
    expect(r.steps.map((s) => `${s.action} ${s.outcome}`)).toEqual(['APPLY nothing-to-do']);
    expect(await h.lp.pendingJournal()).toBeNull();
    expect((await h.lp.recover()).mode).toBe('none');
  });
});
