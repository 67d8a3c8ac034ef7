/**
 * The host lifecycle on the mock, through the compiled `xlp`: install a chain, sync, reboot, the
 * boot sync restores the stack; a second sync changes nothing; drift and --prune; signatures made
 * by openssl; kill switches and the crash-loop guard; status for people, JSON and Prometheus.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, type WfPayload, type WfPayloads, WF_XEN } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, type MockHost, mockHost, tempDir } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

/** A mock host with its own trust dir, unit dir and kill-switch files, and copies of the payloads to sign. */
interface LifecycleHost extends MockHost {
  readonly work: string;
  readonly trust: string;
  readonly systemd: string;
  readonly disableFile: string;
  readonly cmdline: string;
  /** A copy of a workflow payload in the host's own directory (its .sig goes beside it). */
  file(id: WfPayload): string;
  mockState(): string;
}

async function lifecycleHost(): Promise<LifecycleHost> {
  const work = await tempDir('xlp-life-');
  chmodSync(work, 0o755);
  const trust = join(work, 'trust');
  const systemd = join(work, 'systemd');
  const cmdline = join(work, 'cmdline');
  const disableFile = join(work, 'disable');
  writeFileSync(cmdline, 'root=/dev/xvda1 ro quiet\n');
  const host = await mockHost(
    {},
    { XLP_TRUST_DIR: trust, XLP_SYSTEMD_DIR: systemd, XLP_CMDLINE_FILE: cmdline, XLP_DISABLE_FILE: disableFile },
  );
  return {
    ...host,
    work,
    trust,
    systemd,
    cmdline,
    disableFile,
    file: (id) => {
      const f = join(work, `wf_${id}.livepatch`);
      if (!existsSync(f)) copyFileSync(P.path(id), f);
      return f;
    },
    mockState: () => readFileSync(join(host.dir, 'state.json'), 'utf8'),
  };
}

const CHAIN = ['wf_base', 'wf_second', 'wf_third'];

describe('install, sync, reboot, boot sync', () => {
  it('a chain of three installed in any order is applied in stack order, and comes back after a reboot', async () => {
    const h = await lifecycleHost();
    const inst = await h.ok('install', h.file('third'), h.file('base'), h.file('second'), '--json');
    const ij = expectSchema<{ installed: { name: string; outcome: string }[]; changed: boolean; xenBuildId: string }>(inst, 'install');
    expect(ij).toMatchObject({ changed: true, xenBuildId: WF_XEN });
    expect(ij.installed.map((i) => `${i.name}:${i.outcome}`)).toEqual(['wf_third:installed', 'wf_base:installed', 'wf_second:installed']);
    // Nothing is applied by install itself.
    expect((await hvState(h)).applied).toEqual([]);

    const listed = expectSchema<{ builds: { xenBuildId: string; running: boolean; patches: { name: string }[] }[] }>(
      await h.ok('list', '--installed', '--json'),
      'listInstalled',
    );
    expect(listed.builds).toEqual([expect.objectContaining({ xenBuildId: WF_XEN, running: true })]);
    expect(listed.builds[0]!.patches.map((p) => p.name)).toEqual(CHAIN);

    const dry = expectSchema<{ plan: { steps: { action: string; name: string }[] }; dryRun: boolean }>(
      await h.ok('sync', '--dry-run', '--json'),
      'sync',
    );
    expect(dry.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual([
      'UPLOAD wf_base',
      'UPLOAD wf_second',
      'UPLOAD wf_third',
      'APPLY wf_base',
      'APPLY wf_second',
      'APPLY wf_third',
    ]);
    expect((await hvState(h)).applied).toEqual([]);

    const s1 = expectSchema<{ changed: boolean; before: string[]; after: string[] }>(await h.ok('sync', '--json'), 'sync');
    expect(s1).toMatchObject({ changed: true, before: [], after: CHAIN });
    expect((await hvState(h)).applied).toEqual(CHAIN);

    // Idempotent: no step, no hypercall that changes the simulated hypervisor's state.
    const before = h.mockState();
    const s2 = await h.ok('sync', '--json');
    expect(expectSchema(s2, 'sync')).toMatchObject({
      changed: false,
      steps: [],
      drift: { installedNotApplied: [], appliedNotInstalled: [], orderDiffers: false },
    });
    expect(h.mockState()).toBe(before);
    expect((await h.ok('sync')).out).toMatch(
      /^nothing changed: the applied stack \(wf_base, wf_second, wf_third\) already is the installed set/,
    );

    await h.ok('mock', 'reboot');
    expect((await hvState(h)).applied).toEqual([]);
    const boot = expectSchema<{ changed: boolean; after: string[] }>(await h.ok('sync', '--boot', '--json'), 'sync');
    expect(boot).toMatchObject({ changed: true, after: CHAIN });
    expect((await hvState(h)).applied).toEqual(CHAIN);

    const st = expectSchema<Record<string, unknown>>(await h.ok('status', '--json'), 'hostStatus');
    expect(st).toMatchObject({
      xen: { buildId: WF_XEN },
      stack: { applied: CHAIN, certainty: 'certain' },
      drift: { installedNotApplied: [], appliedNotInstalled: [], orderDiffers: false },
      lastSync: { result: 'ok', changed: true, boot: true },
      bootGuard: { tripped: false },
    });
  });

  it('installing the same bytes again changes nothing; other bytes under the name need --replace', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('cumulative'));
    const again = expectSchema<{ changed: boolean; installed: { outcome: string }[] }>(
      await h.ok('install', h.file('cumulative'), '--json'),
      'install',
    );
    expect(again).toMatchObject({ changed: false, installed: [{ outcome: 'unchanged' }] });
    const other = join(h.work, 'other');
    mkdirSync(other);
    copyFileSync(P.path('cumulative2'), join(other, 'wf_cumulative.livepatch'));
    const refused = await h.run('install', join(other, 'wf_cumulative.livepatch'), '--json');
    expect(refused.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(refused, 'error').error).toMatchObject({
      kind: 'InstallRefusedError',
      problem: 'name-taken',
      payload: 'wf_cumulative',
    });
    expect(
      expectSchema<{ installed: { outcome: string }[] }>(
        await h.ok('install', join(other, 'wf_cumulative.livepatch'), '--replace', '--json'),
        'install',
      ).installed[0]!.outcome,
    ).toBe('replaced');
  });

  it('refuses a set that cannot form one stack, installing none of it', async () => {
    const h = await lifecycleHost();
    const r = await h.run('install', h.file('base'), h.file('second'), h.file('guarded'), '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(r, 'error').error).toMatchObject({
      kind: 'InstallOrderError',
      code: 'EORDER',
      problem: 'same-base',
      payloads: ['wf_second', 'wf_guarded'],
    });
    expect(expectSchema<{ builds: unknown[] }>(await h.ok('list', '--installed', '--json'), 'listInstalled').builds).toEqual([]);
    const missing = await h.run('install', h.file('third'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/depends on build-id [0-9a-f]+, which is neither the hypervisor's/);
  });

  it('refuses a payload preflight refuses, as load does (exit 6)', async () => {
    const h = await lifecycleHost();
    const fatal = await h.run('install', h.file('fatal'), '--json');
    expect(fatal.code).toBe(6);
    expect(expectSchema<{ error: Record<string, unknown> }>(fatal, 'error').error).toMatchObject({ kind: 'PreflightError', fatal: true });
  });

  it('uninstall: absent is nothing to do; a patch others depend on needs --with-dependants', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('base'), h.file('second'));
    const dep = await h.run('uninstall', 'wf_base', '--json');
    expect(dep.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(dep, 'error').error).toMatchObject({
      kind: 'DependedOnError',
      dependants: ['wf_second'],
    });
    expect(expectSchema(await h.ok('uninstall', 'wf_base', '--with-dependants', '--json'), 'uninstall')).toEqual({
      name: 'wf_base',
      xenBuildId: WF_XEN,
      changed: true,
      removed: ['wf_base', 'wf_second'],
    });
    expect(expectSchema(await h.ok('uninstall', 'wf_base', '--json'), 'uninstall')).toMatchObject({ changed: false, removed: [] });
  });
});

describe('drift and --prune', () => {
  it('a payload another tool applied on top is drift: left alone, reported, refused to reorder under; --prune takes it off', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('base'), h.file('second'));
    await h.ok('sync');
    // Another tool (a Livepatcher on another state directory) applies its own payload on top.
    const { Livepatcher } = await import('../../lib/workflow/livepatcher.js');
    const other = await Livepatcher.open({ backend: await h.mock(), stateDir: join(h.work, 'other-tool') });
    await other.load(P.path('third'), { name: 'theirs' });
    expect((await hvState(h)).applied).toEqual(['wf_base', 'wf_second', 'theirs']);

    const s = expectSchema<{ changed: boolean; drift: Record<string, unknown>; plan: { untouched: { name: string }[] } }>(
      await h.ok('sync', '--json'),
      'sync',
    );
    expect(s).toMatchObject({ changed: false, drift: { appliedNotInstalled: ['theirs'] } });
    expect(s.plan.untouched.map((u) => u.name)).toEqual(['theirs']);
    expect(expectSchema(await h.ok('status', '--json'), 'hostStatus')).toMatchObject({
      drift: { appliedNotInstalled: ['theirs'], installedNotApplied: [] },
    });

    // Something has to move under it: refused, naming it.
    await h.ok('uninstall', 'wf_second');
    const refused = await h.run('sync', '--json');
    expect(refused.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(refused, 'error').error).toMatchObject({
      kind: 'SyncRefusedError',
      code: 'ESYNC',
      problem: 'foreign-in-the-way',
      payloads: ['theirs'],
    });
    expect((await hvState(h)).applied).toEqual(['wf_base', 'wf_second', 'theirs']);

    const pruned = expectSchema<{ after: string[] }>(await h.ok('sync', '--prune', '--json'), 'sync');
    expect(pruned.after).toEqual(['wf_base']);
    expect(await hvState(h)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED' } });
  });

  it('the boot sync refuses --prune, and a plan that would revert', async () => {
    const h = await lifecycleHost();
    expect((await h.run('sync', '--boot', '--prune')).code).toBe(2);
    await h.ok('install', h.file('cumulative'));
    const lp = await h.livepatcher();
    await lp.load(P.path('base'));
    const r = await h.run('sync', '--boot', '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(r, 'error').error).toMatchObject({ problem: 'boot-would-revert' });
    // One REPLACE does it when not at boot (no vetoing hooks, xlp uploaded wf_base).
    const s = expectSchema<{ plan: { mode: string }; after: string[] }>(await h.ok('sync', '--json'), 'sync');
    expect(s).toMatchObject({ plan: { mode: 'replace' }, after: ['wf_cumulative'] });
    expect((await hvState(h)).payloads).toEqual({ wf_cumulative: 'APPLIED' });
  });
});

describe('signatures', () => {
  function keys(h: LifecycleHost): { key: string; other: string } {
    const key = join(h.work, 'ops.key');
    const other = join(h.work, 'stranger.key');
    for (const k of [key, other]) execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', k], { stdio: 'ignore' });
    mkdirSync(h.trust, { mode: 0o755 });
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', join(h.trust, 'ops.pem')], { stdio: 'ignore' });
    chmodSync(join(h.trust, 'ops.pem'), 0o644);
    return { key, other };
  }
  const sign = (key: string, file: string) =>
    execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', key, '-in', file, '-out', `${file}.sig`], { stdio: 'ignore' });

  it('with a trusted key: unsigned, wrong key and tampered payloads are refused by install, load and upload; a good one goes in', async () => {
    const h = await lifecycleHost();
    const { key, other } = keys(h);
    const base = h.file('base');

    const unsigned = await h.run('install', base, '--json');
    expect(unsigned.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(unsigned, 'error').error).toMatchObject({
      kind: 'SignatureRejectedError',
      code: 'ESIGNATURE',
      problem: 'missing',
      file: base,
      signatureFile: `${base}.sig`,
    });
    expect((await h.run('load', base)).code).toBe(1);
    expect((await h.run('upload', 'wf_base', base)).code).toBe(1);

    sign(other, base);
    const wrong = await h.run('install', base, '--json');
    expect(expectSchema<{ error: Record<string, unknown> }>(wrong, 'error').error).toMatchObject({ problem: 'bad' });

    sign(key, base);
    const bytes = readFileSync(base);
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    writeFileSync(base, tampered);
    expect(expectSchema<{ error: Record<string, unknown> }>(await h.run('install', base, '--json'), 'error').error).toMatchObject({
      problem: 'bad',
    });
    expect((await h.run('load', base)).code).toBe(1);
    expect((await hvState(h)).payloads).toEqual({});

    writeFileSync(base, bytes);
    const good = expectSchema<{ installed: { signature: { keyId: string; algorithm: string } | null }[] }>(
      await h.ok('install', base, '--json'),
      'install',
    );
    expect(good.installed[0]!.signature).toMatchObject({ algorithm: 'ed25519', keyId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await h.ok('sync');
    expect((await hvState(h)).applied).toEqual(['wf_base']);
  });

  it('sync verifies the stored copy again: a key removed from the trust dir since install stops it', async () => {
    const h = await lifecycleHost();
    const { key } = keys(h);
    sign(key, h.file('base'));
    await h.ok('install', h.file('base'));
    // The operator now trusts another key only.
    execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', join(h.work, 'new.key')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', join(h.work, 'new.key'), '-pubout', '-out', join(h.trust, 'ops.pem')], { stdio: 'ignore' });
    const r = await h.run('sync', '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(r, 'error').error).toMatchObject({
      kind: 'SignatureRejectedError',
      problem: 'bad',
      payload: 'wf_base',
    });
    expect((await hvState(h)).payloads).toEqual({});
  });

  it('a trust dir others can write to is refused, not silently ignored', async () => {
    const h = await lifecycleHost();
    keys(h);
    chmodSync(h.trust, 0o777);
    const r = await h.run('install', h.file('base'), '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(r, 'error').error).toMatchObject({
      kind: 'TrustDirError',
      problem: 'group-or-world-writable',
    });
  });
});

describe('kill switches and the crash-loop guard', () => {
  it('the disable file and the kernel command line word make the boot sync do nothing and say why', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('base'));
    writeFileSync(h.disableFile, '');
    const f = expectSchema<{ skipped: { by: string; reason: string } }>(await h.ok('sync', '--boot', '--json'), 'syncSkipped');
    expect(f.skipped).toEqual({ by: 'file', reason: `${h.disableFile} exists` });
    expect((await h.ok('sync', '--boot')).out).toContain('boot sync skipped');
    rmSync(h.disableFile);
    writeFileSync(h.cmdline, 'root=/dev/xvda1 xen-livepatch.enable=0\n');
    expect(expectSchema<{ skipped: { by: string } }>(await h.ok('sync', '--boot', '--json'), 'syncSkipped').skipped.by).toBe('cmdline');
    expect((await hvState(h)).applied).toEqual([]);
    expect(expectSchema(await h.ok('status', '--json'), 'hostStatus')).toMatchObject({ lastSync: { result: 'skipped', boot: true } });
    // A plain sync is the operator's: switches do not apply.
    await h.ok('sync');
    expect((await hvState(h)).applied).toEqual(['wf_base']);
  });

  it('a boot sync killed mid-way trips the guard: the next boot sync does nothing until cleared', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('base'), h.file('second'));
    const killed = await h.run('sync', '--boot');
    expect(killed.code).toBe(0);
    await h.ok('mock', 'reboot');
    const { xlp } = await import('./support/xlp.js');
    const k = await xlp(['sync', '--boot'], { ...h.env, XLP_FAULT_KILL_AFTER_JOURNAL_WRITES: '3' });
    expect(k.signal).toBe('SIGKILL');
    await h.ok('mock', 'reboot');

    const tripped = await h.run('sync', '--boot', '--json');
    expect(tripped.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(tripped, 'error').error).toMatchObject({
      kind: 'BootGuardTrippedError',
      code: 'EBOOTGUARD',
    });
    expect((await hvState(h)).applied).toEqual([]);
    expect(expectSchema(await h.ok('status', '--json'), 'hostStatus')).toMatchObject({ bootGuard: { tripped: true } });
    const prom = (await h.ok('status', '--format', 'prometheus')).out;
    expect(prom).toContain('xen_livepatch_boot_guard_tripped 1');
    expect(expectSchema(await h.ok('boot', 'status', '--json'), 'bootStatus')).toMatchObject({ bootGuard: { tripped: true } });

    expect(expectSchema(await h.ok('boot', 'clear-guard', '--json'), 'clearGuard')).toEqual({ changed: true });
    expect(expectSchema(await h.ok('status', '--json'), 'hostStatus')).toMatchObject({ bootGuard: { tripped: false } });
    // The killed sync's journal is still there: recover first, then the boot sync runs again.
    await h.ok('recover');
    await h.ok('sync', '--boot');
    expect((await hvState(h)).applied).toEqual(['wf_base', 'wf_second']);
  });
});

describe('status and boot unit', () => {
  it('prometheus metrics for the textfile collector', async () => {
    const h = await lifecycleHost();
    await h.ok('install', h.file('base'), h.file('second'));
    await h.ok('sync');
    const prom = (await h.ok('status', '--format', 'prometheus')).out;
    expect(prom).toContain('# TYPE xen_livepatch_applied gauge');
    expect(prom).toContain('xen_livepatch_applied{name="wf_base",position="1",installed="true"} 1');
    expect(prom).toContain('xen_livepatch_applied{name="wf_second",position="2",installed="true"} 1');
    expect(prom).toMatch(/^xen_livepatch_drift 0$/m);
    expect(prom).toMatch(/^xen_livepatch_last_sync_success 1$/m);
    expect(prom).toMatch(/^xen_livepatch_last_sync_timestamp_seconds \d{10}$/m);
    await h.ok('uninstall', 'wf_second');
    expect((await h.ok('status', '--format', 'prometheus')).out).toMatch(/^xen_livepatch_drift 1$/m);
    expect((await h.run('status', '--format', 'xml')).code).toBe(2);
  });

  it('xlp status reads and creates nothing: no state directory where there is none; an unsafe one is still refused', async () => {
    const host = await mockHost();
    const stateDir = join(await tempDir(), 'never', 'made');
    const r = await host.run('status', '--state-dir', stateDir, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ stack: { applied: [] }, installed: [], lastSync: null, journal: null });
    expect(existsSync(join(stateDir, '..'))).toBe(false);
    const open = join(await tempDir(), 'open');
    mkdirSync(open, { mode: 0o700 });
    chmodSync(open, 0o777);
    const unsafe = await host.run('status', '--state-dir', open, '--json');
    expect(unsafe.code).not.toBe(0);
    expect(unsafe.json<{ error: { message: string } }>().error.message).toContain(open);
  });

  it('boot enable writes a unit systemd-analyze verify accepts, running this node and xlp; disable removes it', async () => {
    const h = await lifecycleHost();
    const en = expectSchema<{ bootUnit: { enabled: boolean; path: string; execStart: string }; changed: boolean }>(
      await h.ok('boot', 'enable', '--json'),
      'bootUnit',
    );
    expect(en).toMatchObject({ changed: true, bootUnit: { enabled: true, path: join(h.systemd, 'xen-livepatch-sync.service') } });
    expect(en.bootUnit.execStart).toMatch(/\/bin\/xlp\.js sync --boot$/);
    expect(existsSync(join(h.systemd, 'multi-user.target.wants', 'xen-livepatch-sync.service'))).toBe(true);
    execFileSync('systemd-analyze', ['verify', '--man=no', en.bootUnit.path], { stdio: 'pipe' });
    expect(expectSchema(await h.ok('boot', 'enable', '--json'), 'bootUnit')).toMatchObject({ changed: false });
    expect(expectSchema(await h.ok('status', '--json'), 'hostStatus')).toMatchObject({ bootUnit: { enabled: true } });
    expect(expectSchema(await h.ok('boot', 'disable', '--json'), 'bootUnit')).toMatchObject({
      changed: true,
      bootUnit: { enabled: false, installed: false },
    });
    expect(existsSync(en.bootUnit.path)).toBe(false);
  });
});
