/** Livepatcher.load/upload/apply/revert/unload on the in-process mock: successes and every failure path. */
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../lib/preflight/index.js';
import type { PreflightReport } from '../../lib/preflight/types.js';
import { type BusyError, HookVetoError, PreflightError } from '../../lib/workflow/errors.js';
import { harness, snapshot, tempDir } from './support/harness.js';
import { wfPayloads, type WfPayloads } from './support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

describe('load', () => {
  it('preflights, uploads, applies and waits; the registry learns the payload', async () => {
    const h = await harness();
    const r = await h.lp.load(P.path('base'));
    expect(r.payload).toBe('wf_base');
    expect(r.apply).toMatchObject({ action: 'APPLY', outcome: 'done', status: { state: 'APPLIED', rc: 0 } });
    expect(await snapshot(h.xen)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED' } });
    expect(h.actions()).toEqual(['APPLY wf_base']);
    expect(await h.lp.pendingJournal()).toBeNull();
  });

  it('refuses on preflight errors with nothing uploaded', async () => {
    const h = await harness();
    const err = await h.lp.load(P.path('wrong_xen')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    expect(err).toMatchObject({ category: 'preflight', fatal: false });
    expect(h.calls.filter((c) => c.method === 'upload')).toEqual([]);
    expect(await h.xen.list()).toEqual([]);
  });

  it('--force uploads despite errors, but never a fatal finding', async () => {
    // A hypervisor that accepts what preflight calls an error (so the forced upload can succeed).
    const lenient = (bytes: Uint8Array, o: Parameters<typeof preflight>[1]): PreflightReport => {
      const r = preflight(bytes, o);
      return r.fatal ? r : { ...r, uploadError: null, diagnostics: r.diagnostics.filter((d) => d.severity !== 'error') };
    };
    const h = await harness({ mock: { preflight: lenient } });
    const r = await h.lp.load(P.path('wrong_xen'), { force: true });
    expect(r.apply.outcome).toBe('done');
    const fatal = await h.lp.load(P.path('fatal'), { force: true }).catch((e: unknown) => e);
    expect(fatal).toBeInstanceOf(PreflightError);
    expect(fatal).toMatchObject({ fatal: true });
    expect(h.calls.filter((c) => c.method === 'upload').map((c) => c.args[0])).toEqual(['wf_wrong_xen']);
    expect((await h.xen.inspect()).panic).toBeNull();
  });

  it('unloads what it uploaded when the apply is vetoed, unless --keep', async () => {
    const h = await harness({ identity: { loglvl: 'all' } });
    await h.xen.setHook({ payload: 'wf_guarded', kind: 'preapply' }, { rc: -22 });
    await h.lp.load(P.path('base'));
    const err = await h.lp.load(P.path('guarded')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookVetoError);
    expect(err).toMatchObject({ hook: 'preapply', rc: -22, code: 'EINVAL', errno: 22, payload: 'wf_guarded', category: 'vetoed' });
    expect((err as HookVetoError).consoleLines).toContain('(XEN) livepatch: wf_guarded: pre-apply hook failed (rc=-22), aborting!');
    expect((err as HookVetoError).notes.join('\n')).toMatch(/unloaded again/);
    expect(await snapshot(h.xen)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED' } });
    expect(await h.lp.pendingJournal()).toBeNull();

    const kept = await h.lp.load(P.path('guarded'), { keep: true }).catch((e: unknown) => e);
    expect(kept).toBeInstanceOf(HookVetoError);
    expect(await snapshot(h.xen)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED', wf_guarded: 'CHECKED -22' } });
    expect(await h.lp.pendingJournal()).toBeNull();
  });

  it('an apply refused because another action is pending: unloaded again, no journal left (the -EAGAIN is stale)', async () => {
    const h = await harness();
    await h.lp.upload('wf_cumulative', P.path('cumulative'));
    await h.xen.action('wf_cumulative', 'REPLACE'); // pending: the clock does not move
    const err = await h.lp.load(P.path('hooked')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BusyError', category: 'busy' });
    expect((err as BusyError).notes.join('\n')).toMatch(/unloaded again/);
    expect(await h.lp.pendingJournal()).toBeNull();
    expect((await h.xen.list()).map((p) => p.name)).toEqual(['wf_cumulative']);
  });

  it('an apply still pending when the wait gives up: the undo waits for it, reverts and unloads it, and closes the journal', async () => {
    const h = await harness();
    h.autoAdvance = false;
    // The hypervisor completes the APPLY only once the undo is waiting for it.
    h.lp.on('progress', (e) => {
      if (e.phase === 'settling') h.autoAdvance = true;
    });
    const err = await h.lp.load(P.path('base'), { timeout: 20 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError', where: 'wait', category: 'busy' });
    expect((err as BusyError).notes.join('\n')).toMatch(/applied after all; it was reverted[\s\S]*unloaded again/);
    expect(h.events.find((e) => e.phase === 'settling')).toMatchObject({
      payload: 'wf_base',
      action: 'APPLY',
      before: 'undoing the load of wf_base',
    });
    // Nothing was issued while the APPLY was pending: the REVERT came after it completed, and succeeded.
    expect(h.actions()).toEqual(['APPLY wf_base', 'REVERT wf_base', 'UNLOAD wf_base']);
    expect(await h.xen.list()).toEqual([]);
    expect(await h.lp.pendingJournal()).toBeNull();
    // Exit 5 says "retry": and the retry works.
    expect((await h.lp.load(P.path('base'))).apply.outcome).toBe('done');
  });

  it('an apply still pending after the undo waited its bound: the journal is kept, marked as ended, and recover finishes once it completes', async () => {
    const h = await harness({ livepatcher: { settleTimeoutMs: 30 } });
    h.autoAdvance = false;
    const err = await h.lp.load(P.path('base'), { timeout: 20 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError', where: 'wait' });
    expect((err as BusyError).notes.join('\n')).toMatch(/still pending in the hypervisor.*journal is kept: run `xlp recover`/);
    // Only the APPLY was issued: no UNLOAD into the pending action.
    expect(h.actions()).toEqual(['APPLY wf_base']);
    const j = await h.lp.pendingJournal();
    expect(j).toMatchObject({ phase: 'rollback', endedAt: expect.any(String) });
    const refused = await h.lp.apply('wf_base').catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'JournalPendingError' });
    // The process ended: it is not called interrupted.
    expect((refused as Error).message).toMatch(
      /^`load wf_base` \(pid \d+, started .*\) failed at .* and could not undo everything, so it left a journal/,
    );
    expect((refused as Error).message).not.toMatch(/interrupted/);
    h.clock.advance(10);
    h.autoAdvance = true;
    const r = await h.lp.recover();
    expect(r.mode).toBe('rollback');
    expect(r.steps.map((s) => `${s.action} ${s.outcome}`)).toEqual(['REVERT done', 'UNLOAD done']);
    expect(await h.xen.list()).toEqual([]);
    expect(await h.lp.pendingJournal()).toBeNull();
  });

  it('an upload the hypervisor refuses ends the load cleanly: no journal is left behind', async () => {
    const h = await harness();
    // A payload preflight lets through with --force, and the hypervisor refuses (EINVAL).
    const err = await h.lp.load(P.path('wrong_xen'), { force: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UploadFailedError', code: 'EINVAL' });
    expect(await h.lp.pendingJournal()).toBeNull();
    expect(await h.lp.interruptedJournal()).toBeNull();
    // The next mutating workflow is not blocked.
    expect((await h.lp.load(P.path('base'))).apply.outcome).toBe('done');
  });

  it('names: from the file name (any characters but controls), or given; bad ones refused before any use', async () => {
    const h = await harness();
    const dir = await tempDir();
    const spaced = join(dir, 'fix ünïcode ✓.v2.livepatch');
    await writeFile(spaced, await P.bytes('base'));
    const r = await h.lp.load(spaced);
    expect(r.payload).toBe('fix ünïcode ✓.v2');
    expect((await h.lp.stack()).applied.map((e) => e.name)).toEqual(['fix ünïcode ✓.v2']);
    expect(await h.lp.log('fix ünïcode ✓.v2')).toEqual([]);
    for (const bad of ['', 'a\nb', 'tab\there', 'x'.repeat(128), 'é'.repeat(64), '\u0085', 'lone\ud800']) {
      await expect(h.lp.upload(bad, await P.bytes('second'))).rejects.toMatchObject({ name: 'InvalidNameError', category: 'usage' });
      await expect(h.lp.apply(bad)).rejects.toMatchObject({ name: 'InvalidNameError' });
    }
    expect(h.calls.filter((c) => c.method === 'upload').length).toBe(1);
    // 127 bytes is the limit.
    await h.lp.upload('é'.repeat(63) + 'x', await P.bytes('cumulative'));
  });

  it('refuses a file over 2 MiB before reading it', async () => {
    const h = await harness();
    const big = join(await tempDir(), 'big.livepatch');
    await writeFile(big, '');
    await truncate(big, 64 * 1024 ** 3); // sparse: reading it whole would need 64 GiB
    expect((await stat(big)).size).toBe(64 * 1024 ** 3);
    const err = await h.lp.load(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    expect((err as PreflightError).diagnostics[0]).toMatchObject({ code: 'payload-too-large' });
    expect(h.calls.filter((c) => c.method === 'upload')).toEqual([]);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const h = await harness();
    const fifo = join(await tempDir(), 'pipe.livepatch');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    await expect(h.lp.load(fifo)).rejects.toMatchObject({
      name: 'PayloadFileError',
      category: 'usage',
      code: 'EINVAL',
      message: expect.stringMatching(/not a regular file/),
    });
  });

  it('says which file it cannot read, with its errno, before touching the hypervisor', async () => {
    const h = await harness();
    const missing = join(await tempDir(), 'gone.livepatch');
    await expect(h.lp.load(missing)).rejects.toMatchObject({
      name: 'PayloadFileError',
      code: 'ENOENT',
      errno: 2,
      payload: 'gone',
      file: missing,
    });
    expect(h.calls).toEqual([]);
  });
});
