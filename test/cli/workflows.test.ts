/** Every workflow through the compiled `xlp` on a persisted mock: exit codes, JSON schemas, human output. */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, hvState, mockHost, ROOT, tempDir } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

type ErrorJson = { error: Record<string, unknown> };

/** stdout and stderr of one run in one file, in the order xlp wrote them (as on a terminal). */
function merged(host: { env: NodeJS.ProcessEnv }, ...args: string[]): string[] {
  const r = spawnSync('/bin/bash', ['-c', '"$0" "$@" 2>&1', process.execPath, join(ROOT, 'bin', 'xlp.js'), ...args], {
    env: host.env,
    encoding: 'utf8',
  });
  return r.stdout.trimEnd().split('\n');
}

describe('output in the order things happen', () => {
  it('load: "uploaded" before the apply hooks; replace --sequential: each step\'s result as it completes', async () => {
    const host = await mockHost({ loglvl: 'all' });
    expect((await host.run('load', P.path('base'))).code).toBe(0);
    const load = merged(host, 'load', P.path('guarded'));
    const uploaded = load.findIndex((l) => l.startsWith('uploaded wf_guarded'));
    const hook = load.findIndex((l) => l.includes('preapply hook of wf_guarded'));
    const applied = load.findIndex((l) => l.startsWith('applied wf_guarded'));
    expect([uploaded >= 0, hook > uploaded, applied > hook]).toEqual([true, true, true]);

    await host.run('upload', 'wf_cumulative', P.path('cumulative'));
    const lines = merged(host, 'replace', 'wf_cumulative', '--sequential');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const order = [
      at(/^step 1\/3: REVERT wf_guarded/),
      at(/^reverted wf_guarded \(/),
      at(/^step 2\/3: REVERT wf_base/),
      at(/^reverted wf_base \(/),
      at(/^step 3\/3: APPLY wf_cumulative/),
      at(/^applied wf_cumulative \(/),
    ];
    expect(
      order.every((i) => i >= 0),
      lines.join('\n'),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('load, list, status, apply, revert, unload', () => {
  it('the everyday cycle, in JSON and as text', async () => {
    const host = await mockHost({ loglvl: 'all' });
    const load = await host.run('load', P.path('base'), '--json');
    expect(load.code, load.err).toBe(0);
    expect(expectSchema(load, 'load')).toMatchObject({
      name: 'wf_base',
      apply: { action: 'APPLY', outcome: 'done', state: 'APPLIED', rc: 0 },
    });
    expect(load.err).toBe('');

    const text = await host.run('load', P.path('guarded'));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/^uploaded wf_guarded \(\d+ bytes\)$/m);
    expect(text.out).toMatch(/^applied wf_guarded \(\d+\.\d ms\)$/m);
    expect(text.err).toMatch(/preapply hook of wf_guarded: called/);

    await host.ok('upload', 'wf_cumulative', P.path('cumulative'));
    const list = await host.ok('list', '--json');
    expect(expectSchema(list, 'list')).toEqual({
      payloads: [
        { name: 'wf_base', state: 'APPLIED', rc: 0, metadata: ['PURPOSE=workflow-test', 'VARIANT=base'] },
        { name: 'wf_guarded', state: 'APPLIED', rc: 0, metadata: ['PURPOSE=workflow-test', 'VARIANT=guarded'] },
        { name: 'wf_cumulative', state: 'CHECKED', rc: 0, metadata: ['PURPOSE=workflow-test', 'VARIANT=cumulative'] },
      ],
    });
    const table = (await host.ok('list')).out.trimEnd().split('\n');
    expect(table[0]).toMatch(/^NAME +STATE +RC +METADATA$/);
    expect(table[1]).toBe('wf_base        APPLIED  0   PURPOSE=workflow-test;VARIANT=base');
    const col = (line: string, word: string) => line.indexOf(word);
    expect(new Set(table.slice(1).map((l) => col(l, l.includes('APPLIED') ? 'APPLIED' : 'CHECKED')))).toEqual(
      new Set([col(table[0]!, 'STATE')]),
    );

    const status = await host.ok('status', 'wf_guarded', '--json');
    expect(expectSchema(status, 'status')).toEqual({ name: 'wf_guarded', state: 'APPLIED', rc: 0 });
    expect((await host.ok('status', 'wf_guarded')).out).toBe('wf_guarded: APPLIED, rc 0\n');

    const nothing = await host.run('apply', 'wf_base', '--json');
    expect(nothing.code).toBe(0);
    expect(expectSchema(nothing, 'apply')).toMatchObject({ outcome: 'nothing-to-do', state: 'APPLIED' });
    const nothing2 = await host.run('revert', 'wf_cumulative');
    expect(nothing2).toMatchObject({ code: 0, out: 'wf_cumulative is not applied: nothing to do\n' });

    const revert = await host.ok('revert', 'wf_guarded', '--json');
    expect(expectSchema(revert, 'revert')).toMatchObject({
      outcome: 'done',
      state: 'CHECKED',
      rc: 0,
      hooks: [{ hook: 'prerevert' }, { hook: 'postrevert', rc: 0 }],
    });
    const unload = await host.ok('unload', 'wf_guarded', '--json');
    expect(expectSchema(unload, 'unload')).toMatchObject({ action: 'UNLOAD', outcome: 'done', state: null, rc: null });
    const gone = await host.run('status', 'wf_guarded', '--json');
    expect(gone.code).toBe(1);
    expect(expectSchema<ErrorJson>(gone, 'error').error).toMatchObject({ code: 'ENOENT', errno: 2, kind: 'NotLoadedError', exitCode: 1 });
    expect(await hvState(host)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED', wf_cumulative: 'CHECKED' } });
    expect(expectSchema<{ lines: string[] }>(await host.ok('log', 'wf_guarded', '--json'), 'log').lines).toContain(
      '(XEN) livepatch: wf_guarded: Calling pre-apply hook function',
    );
  });

  it('preflight errors: exit 6, nothing uploaded; --force never uploads a fatal finding', async () => {
    const host = await mockHost();
    const r = await host.run('load', P.path('wrong_xen'), '--json');
    expect(r.code).toBe(6);
    expect(expectSchema<ErrorJson>(r, 'error').error).toMatchObject({
      code: 'PREFLIGHT',
      kind: 'PreflightError',
      fatal: false,
      exitCode: 6,
    });
    const fatal = await host.run('upload', 'x', P.path('fatal'), '--force');
    expect(fatal.code).toBe(6);
    expect(fatal.err).toMatch(/fatal: this payload would crash the hypervisor; it is never uploaded, --force included/);
    expect(fatal.err).toMatch(/fatal modinfo-empty/);
    // --force with an ordinary error does upload it: the (faithful) mock then refuses it as Xen would.
    const forced = await host.run('load', P.path('wrong_xen'), '--force', '--json');
    expect(forced.code).toBe(1);
    expect(expectSchema<ErrorJson>(forced, 'error').error).toMatchObject({ code: 'EINVAL', kind: 'UploadFailedError' });
    const m = await host.mock();
    expect(await m.list()).toEqual([]);
    expect((await m.inspect()).panic).toBeNull();
  });

  it('a file over 2 MiB is refused before it is read', async () => {
    const host = await mockHost();
    const big = join(await tempDir(), 'big.livepatch');
    await writeFile(big, Buffer.alloc(2 * 1024 * 1024 + 1));
    const r = await host.run('load', big, '--json');
    expect(r.code).toBe(6);
    expect(expectSchema<ErrorJson>(r, 'error').error.diagnostics).toMatchObject([{ code: 'payload-too-large' }]);
  });

  it('a vetoing hook: exit 4 naming hook, rc, errno name and the console line; the load is undone', async () => {
    const host = await mockHost();
    await host.ok('load', P.path('base'));
    await host.ok('mock', 'hook', 'wf_guarded', 'preapply', '--rc', '-22');
    const r = await host.run('load', P.path('guarded'), '--json');
    expect(r.code).toBe(4);
    const e = expectSchema<ErrorJson>(r, 'error').error;
    expect(e).toMatchObject({
      code: 'EINVAL',
      errno: 22,
      hook: 'preapply',
      rc: -22,
      kind: 'HookVetoError',
      payload: 'wf_guarded',
      exitCode: 4,
    });
    expect(e.console).toEqual(['(XEN) livepatch: wf_guarded: pre-apply hook failed (rc=-22), aborting!']);
    expect(e.notes).toEqual(['wf_guarded was unloaded again, leaving the hypervisor as it was']);
    const text = await host.run('load', P.path('guarded'));
    expect(text.code).toBe(4);
    expect(text.err.split('\n')[0]).toBe('  preapply hook of wf_guarded: vetoed (rc=-22)');
    expect(text.err.split('\n')[1]).toBe(
      'xlp: the pre-apply hook of "wf_guarded" vetoed the apply: it returned -22 (EINVAL: Invalid argument); the payload is unchanged',
    );
    expect(text.err).toContain('  console: (XEN) livepatch: wf_guarded: pre-apply hook failed (rc=-22), aborting!');
    expect(await hvState(host)).toEqual({ applied: ['wf_base'], payloads: { wf_base: 'APPLIED' } });
  });

  it('DependencyError, NotTopOfStackError (exit 1, names the top, no "retry"), unload of an applied payload refused', async () => {
    const host = await mockHost();
    await host.ok('upload', 'wf_second', P.path('second'));
    const dep = await host.run('apply', 'wf_second', '--json');
    expect(dep.code).toBe(1);
    expect(expectSchema<ErrorJson>(dep, 'error').error).toMatchObject({
      kind: 'DependencyError',
      code: 'EINVAL',
      dependsOn: P.buildId('base'),
      against: 'hypervisor',
    });
    await host.ok('load', P.path('base'));
    expect((await host.run('apply', 'wf_second')).code).toBe(0);
    const notTop = await host.run('revert', 'wf_base');
    expect(notTop.code).toBe(1);
    expect(notTop.err).toMatch(/^xlp: "wf_base" is not the top of the applied stack: "wf_second" is; .*retrying will not help/);
    expect(notTop.err).not.toMatch(/retry shortly/);
    const m = await host.mock();
    const before = (await m.inspect()).payloads.map((p) => p.state);
    const unload = await host.run('unload', 'wf_base', '--json');
    expect(unload.code).toBe(1);
    expect(expectSchema<ErrorJson>(unload, 'error').error).toMatchObject({ kind: 'WrongStateError', code: 'EINVAL' });
    expect((await m.inspect()).payloads.map((p) => p.state)).toEqual(before);
  });

  it('busy and timeouts exit 5; nothing is issued into an action still pending', async () => {
    const host = await mockHost({ quiesceMs: 60_000 });
    await host.ok('upload', 'wf_base', P.path('base'));
    await host.ok('upload', 'wf_cumulative_guarded', P.path('cumulative_guarded'));
    // The wait's deadline: the mock's idle loop takes a minute.
    const wait = await host.run('apply', 'wf_base', '--timeout', '150ms', '--json');
    expect(wait.code).toBe(5);
    expect(expectSchema<ErrorJson>(wait, 'error').error).toMatchObject({ kind: 'TimeoutError', where: 'wait', code: 'ETIME' });
    // The next command waits for that APPLY (up to its own --timeout) instead of issuing its own into it,
    // which would run its vetoing pre-apply hook for nothing and leave its rc at -EAGAIN for good.
    const busy = await host.run('apply', 'wf_cumulative_guarded', '--timeout', '300ms', '--json');
    expect(busy.code).toBe(5);
    expect(expectSchema<ErrorJson>(busy, 'error').error).toMatchObject({ kind: 'BusyError', code: 'EBUSY', errno: 16, payload: 'wf_base' });
    expect((busy.json() as ErrorJson).error.message).toMatch(
      /the APPLY of "wf_base" that xlp issued .* is still pending .*nothing else was issued/,
    );
    expect(busy.err).toMatch(
      /xlp: note: the APPLY of wf_base \(issued by pid \d+\) is still pending in the hypervisor; waiting up to 300 ms/,
    );
    expect((await host.run('status', 'wf_cumulative_guarded', '--json')).json()).toEqual({
      name: 'wf_cumulative_guarded',
      state: 'CHECKED',
      rc: 0,
    });
    expect((await (await host.mock()).hookCalls()).filter((c) => c.payload === 'wf_cumulative_guarded')).toEqual([]);
  });

  it('a command after a timed-out apply waits for it, then goes ahead', async () => {
    const host = await mockHost({ quiesceMs: 1500 });
    await host.ok('upload', 'wf_base', P.path('base'));
    await host.ok('upload', 'wf_second', P.path('second'));
    expect((await host.run('apply', 'wf_base', '--timeout', '100ms')).code).toBe(5);
    const next = await host.run('apply', 'wf_second');
    expect(next.code, next.err).toBe(0);
    expect(next.err).toMatch(
      /the APPLY of wf_base .* is still pending in the hypervisor; waiting up to 30 s for it to complete before issuing APPLY wf_second/,
    );
    expect((await hvState(host)).applied).toEqual(['wf_base', 'wf_second']);
  });

  it('the hypervisor timing out (rendezvous slower than the quiesce timeout): exit 5, promptly', async () => {
    const host = await mockHost({ rendezvousNs: 50_000_000 });
    await host.ok('upload', 'wf_base', P.path('base'));
    const r = await host.run('apply', 'wf_base', '--json');
    expect(r.code).toBe(5);
    expect(expectSchema<ErrorJson>(r, 'error').error).toMatchObject({ kind: 'TimeoutError', where: 'hypervisor', code: 'EBUSY' });
    expect(((r.json() as ErrorJson).error.console as string[]).join()).toMatch(/Timed out on semaphore in CPU quiesce phase 0\/1/);
    const ok = await host.run('apply', 'wf_base', '--quiesce-timeout', '100ms');
    expect(ok.code, ok.err).toBe(0);
  });
});

describe('replace', () => {
  it('refused before any REPLACE hypercall when vetoing hooks are involved, naming each payload and hook', async () => {
    const host = await mockHost({ loglvl: 'all' });
    await host.ok('load', P.path('base'));
    await host.ok('load', P.path('guarded'));
    await host.ok('upload', 'wf_cumulative', P.path('cumulative'));
    const m = await host.mock();
    const hooks = (await m.hookCalls()).length;
    const r = await host.run('replace', 'wf_cumulative', '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<ErrorJson>(r, 'error').error).toMatchObject({
      kind: 'ReplaceRefusedError',
      code: 'EOPNOTSUPP',
      beforeHypercall: true,
      offenders: [{ payload: 'wf_guarded', hooks: ['preapply', 'postapply', 'prerevert', 'postrevert'] }],
    });
    const text = await host.run('replace', 'wf_cumulative');
    expect(text.code).toBe(1);
    expect(text.out).toBe('');
    expect(text.err).toMatch(/"wf_guarded" \(preapply, postapply, prerevert, postrevert\); use `replace --sequential`/);
    expect((await m.hookCalls()).length).toBe(hooks);
    const ring = await m.readConsole();
    expect(ring).not.toMatch(/wf_cumulative: REPLACE action is not supported/);
    expect(ring).not.toMatch(/wf_cumulative finished REPLACE/);
    expect(await hvState(host)).toMatchObject({ applied: ['wf_base', 'wf_guarded'] });
  });

  it('--sequential, its dry-run plan, and then the stack', async () => {
    const host = await mockHost();
    await host.ok('load', P.path('base'));
    await host.ok('load', P.path('guarded'));
    await host.ok('upload', 'wf_cumulative_guarded', P.path('cumulative_guarded'));
    const plan = await host.run('replace', 'wf_cumulative_guarded', '--sequential', '--dry-run');
    expect(plan.code).toBe(0);
    expect(plan.out).toBe(
      [
        'plan for replace --sequential wf_cumulative_guarded:',
        '  1. REVERT wf_guarded',
        '       -> pre-revert hook of wf_guarded (may veto)',
        '       -> post-revert hook of wf_guarded',
        '  2. REVERT wf_base',
        '       hooks: none',
        '  3. APPLY wf_cumulative_guarded',
        '       -> pre-apply hook of wf_cumulative_guarded (may veto)',
        '       -> post-apply hook of wf_cumulative_guarded',
        '',
      ].join('\n'),
    );
    const r = await host.run('replace', 'wf_cumulative_guarded', '--sequential', '--json');
    expect(r.code, r.err).toBe(0);
    expect(expectSchema(r, 'replace')).toMatchObject({
      sequential: true,
      steps: [
        { action: 'REVERT', name: 'wf_guarded' },
        { action: 'REVERT', name: 'wf_base' },
        { action: 'APPLY', name: 'wf_cumulative_guarded' },
      ],
    });
    const stack = await host.ok('stack', '--json');
    expect(expectSchema(stack, 'stack')).toMatchObject({
      applied: [{ position: 1, name: 'wf_cumulative_guarded', hooks: ['preapply', 'postapply', 'prerevert', 'postrevert'], chained: true }],
      orderCertain: true,
    });
    // The persisted mock keeps .modinfo as bytes across processes, so LIST returns it.
    expect((stack.json() as { loaded: { name: string; metadata: string[] }[] }).loaded.find((p) => p.name === 'wf_base')!.metadata).toEqual(
      ['PURPOSE=workflow-test', 'VARIANT=base'],
    );
    const text = (await host.ok('stack')).out.split('\n');
    expect(text[0]).toBe('hypervisor build-id c0ffee00000000000000000000000000000000f5');
    expect(text[1]).toMatch(/^# +NAME +BUILD-ID +DEPENDS-ON +HOOKS$/);
    expect(text[2]).toMatch(/^1 +wf_cumulative_guarded +[0-9a-f]{40} +hypervisor +preapply,postapply,prerevert,postrevert$/);
    expect(text).toContain('loaded, not applied: wf_base, wf_guarded');
  });

  it('replace of the whole stack by its only payload, and with an empty stack', async () => {
    const host = await mockHost();
    await host.ok('upload', 'wf_cumulative', P.path('cumulative'));
    const first = await host.ok('replace', 'wf_cumulative', '--json');
    expect(expectSchema(first, 'replace')).toMatchObject({ steps: [{ outcome: 'done', state: 'APPLIED' }] });
    const again = await host.run('replace', 'wf_cumulative');
    expect(again).toMatchObject({ code: 0, out: 'wf_cumulative already is the only applied payload: nothing to do\n' });
  });
});

describe('--dry-run changes nothing, for every mutating command', () => {
  it('prints plans (JSON schema), exits as xlp would refuse, leaves the hypervisor as it was', async () => {
    const host = await mockHost();
    await host.ok('load', P.path('base'));
    await host.ok('load', P.path('guarded'));
    await host.ok('upload', 'wf_hooked', P.path('hooked'));
    const m = await host.mock();
    const before = JSON.stringify((await m.inspect()).payloads);
    const hooks = (await m.hookCalls()).length;
    const cases: [string[], number][] = [
      // wf_cumulative depends on the hypervisor, and the stack is not empty: Xen would refuse the APPLY.
      [['load', P.path('cumulative')], 1],
      [['load', P.path('cumulative'), '--nodeps'], 0],
      [['load', P.path('wrong_xen')], 6],
      [['upload', 'x', P.path('cumulative')], 0],
      [['apply', 'wf_hooked'], 1],
      [['apply', 'wf_hooked', '--nodeps'], 0],
      [['apply', 'wf_base'], 0],
      [['revert', 'wf_guarded'], 0],
      // Not the top of the stack: Xen refuses (EBUSY), xlp exits 1.
      [['revert', 'wf_base'], 1],
      [['unload', 'wf_hooked'], 0],
      [['unload', 'wf_base'], 1],
      [['replace', 'wf_hooked'], 1],
      [['replace', 'wf_hooked', '--sequential'], 0],
    ];
    for (const [args, code] of cases) {
      const r = await host.run(...args, '--dry-run', '--json');
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(code);
      expectSchema(r, 'plan');
    }
    const rec = await host.ok('recover', '--dry-run', '--json');
    expect(expectSchema(rec, 'recoverPlan')).toMatchObject({ journal: null, plan: { steps: [] } });
    expect(JSON.stringify((await m.inspect()).payloads)).toBe(before);
    expect((await m.hookCalls()).length).toBe(hooks);
    // The refusals the dry runs predicted are what the commands do (each changes nothing).
    for (const [args, code] of cases.filter(([, c]) => c !== 0)) {
      const r = await host.run(...args, '--json');
      expect(r.code, `${args.join(' ')} (for real): ${r.out}`).toBe(code);
    }
    expect(JSON.stringify((await m.inspect()).payloads.map((p) => [p.name, p.state]))).toBe(
      JSON.stringify(JSON.parse(before).map((p: { name: string; state: string }) => [p.name, p.state])),
    );
  });
});

describe('names', () => {
  it('spaces and unicode work end to end; nothing reaches a shell', async () => {
    const host = await mockHost();
    const dir = await tempDir();
    const evil = join(dir, '$(touch pwned) `id` ; ünï ✓.livepatch');
    await writeFile(evil, await P.bytes('base'));
    const r = await host.run('load', evil, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ name: '$(touch pwned) `id` ; ünï ✓' });
    expect((await host.ok('status', '$(touch pwned) `id` ; ünï ✓')).out).toBe('$(touch pwned) `id` ; ünï ✓: APPLIED, rc 0\n');
    expect((await host.ok('stack', '--json')).json()).toMatchObject({ applied: [{ name: '$(touch pwned) `id` ; ünï ✓' }] });
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync(join(host.dir, '..', 'pwned'))).toBe(false);
  });
});

describe('a persisted mock across xlp processes', () => {
  it('keeps payload bytes it checks at apply time (expectations) across processes', async () => {
    const { parityIdentity } = await import('../../lib/parity/identity.js');
    const { payloadBytes, TEST_XEN } = await import('../support/mock-payloads.js');
    const host = await mockHost({ ...parityIdentity(TEST_XEN), quiesceMs: 0 });
    const file = join(await tempDir(), 'expectations.livepatch');
    await writeFile(file, await payloadBytes('expectations'));
    expect((await host.run('upload', 'exp', file)).code).toBe(0);
    // Another process applies it: the expectation data must come back from the state as bytes.
    const r = await host.run('apply', 'exp', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ outcome: 'done', state: 'APPLIED' });
  });
});
