/**
 * Every answer in the documented form: argument-parser errors with --json, the shared options on
 * either side of the command, names that would make the output lie, arguments that are not UTF-8,
 * mock init's validation, a clean failure that leaves nothing behind, and directories that are not
 * a simulator's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WF_XEN, wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, cleanEnv, expectSchema, mockHost, ROOT, tempDir, xlp } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

type ErrorJson = { error: Record<string, unknown> };

describe('--json anywhere on the line: argument-parser errors are the documented JSON too', () => {
  it('missing arguments, unknown options and commands, no command: {"error"} on stdout, exit 2, nothing on stderr', async () => {
    const host = await mockHost();
    for (const args of [
      ['upload', 'x', '--json'],
      ['list', '--json', '--bogus'],
      ['bogus', '--json'],
      ['check', '--json'],
      ['--json'],
      ['--json', 'mock', 'hook', 'x'],
      ['apply', 'x', '--json', '--quiesce-timeout'],
    ]) {
      const r = await xlp(args, host.env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toBe('');
      expect(expectSchema<ErrorJson>(r, 'error').error, args.join(' ')).toMatchObject({
        code: 'USAGE',
        kind: 'UsageError',
        exitCode: 2,
        message: expect.any(String),
      });
    }
    // (`xlp status` without a name is the host's status: issue 10.)
    expect((await xlp(['upload', 'x', '--json'], host.env)).json<ErrorJson>().error.message).toBe("missing required argument 'file'");
    expect((await xlp(['bogus', '--json'], host.env)).json<ErrorJson>().error.message).toBe("unknown command 'bogus'");
    // Without --json, commander's sentence on stderr, in xlp's form.
    const text = await xlp(['list', '--bogus'], host.env);
    expect(text).toMatchObject({ code: 2, out: '' });
    expect(text.err).toMatch(/^xlp: unknown option '--bogus'/);
    // After `--`, --json is an argument, not the option.
    expect((await xlp(['status', '--', '--json'], host.env)).out).toBe('');
  });
});

describe('the shared options before or after the command', () => {
  it('xlp --json list, xlp --backend mock list, xlp mock init --backend mock', async () => {
    const host = await mockHost();
    const env = cleanEnv();
    const before = await xlp(['--json', '--backend', 'mock', '--mock-state', host.dir, 'list']);
    expect(before.code, before.err).toBe(0);
    expect(expectSchema(before, 'list')).toEqual({ payloads: [] });
    expect((await xlp(['--backend', 'mock', 'list', '--mock-state', host.dir], env)).out).toBe('no payloads loaded\n');
    const dir = join(await tempDir(), 'm');
    const init = await xlp(['mock', 'init', '--backend', 'mock', '--mock-state', dir, '--json'], env);
    expect(init.code, init.err).toBe(0);
    expect((await xlp(['--mock-state', dir, '-q', 'mock', 'status'], env)).code).toBe(0);
    // Where an option makes no sense it is a usage error, never silently ignored.
    for (const args of [
      ['mock', 'init', '--backend', 'native', '--mock-state', dir],
      ['check', '--backend', 'mock', P.path('base')],
      ['--timeout', '5s', 'check', P.path('base')],
      ['mock', 'status', '--state-dir', dir],
    ]) {
      const r = await xlp([...args, '--json'], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json<ErrorJson>().error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/does not apply/) });
    }
  });

  it('a bad XLP_BACKEND is blamed on XLP_BACKEND, a bad --backend on --backend', async () => {
    const env = cleanEnv({ XLP_BACKEND: 'bogus' });
    const r = await xlp(['list', '--json'], env);
    expect(r.code).toBe(2);
    expect(r.json<ErrorJson>().error.message).toBe('XLP_BACKEND: unknown backend "bogus" (native or mock)');
    expect((await xlp(['list', '--backend', 'xen', '--json'])).json<ErrorJson>().error.message).toBe(
      '--backend: unknown backend "xen" (native or mock)',
    );
  });
});

describe('names that would make the output lie', () => {
  it('bidirectional and other invisible formatting characters in a name: refused with exit 2, before any use', async () => {
    const host = await mockHost();
    const dir = await tempDir();
    const spoof = join(dir, 'fix\u202egnp.livepatch');
    await writeFile(spoof, await P.bytes('base'));
    for (const args of [
      ['load', P.path('base'), '--name', 'evil\u202eliah'],
      ['load', spoof],
      ['upload', 'a\u2066b', P.path('base')],
      ['apply', 'zero\u200bwidth'],
      ['status', 'bom\ufeff'],
      ['mock', 'hook', 'x\u202ey', 'preapply'],
    ]) {
      const r = await host.run(...args, '--json');
      expect(r.code, args.join(' ')).toBe(2);
      expect(expectSchema<ErrorJson>(r, 'error').error, args.join(' ')).toMatchObject({
        code: 'EINVAL',
        kind: 'InvalidNameError',
        message: expect.stringMatching(/contains U\+(202E|2066|200B|FEFF)/),
      });
    }
    expect((await host.run('list', '--json')).json()).toEqual({ payloads: [] });
  });

  it('names another tool uploaded are shown with those characters escaped', async () => {
    const host = await mockHost();
    const mock = await host.mock();
    await mock.upload('evil\u202eliah', await P.bytes('base'));
    const r = await host.run('list');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^evil\\u\{202e\}liah +CHECKED +0 /m);
    expect(r.out).not.toContain('\u202e');
    // JSON keeps the name as it is.
    expect((await host.run('list', '--json')).json<{ payloads: { name: string }[] }>().payloads[0]!.name).toBe('evil\u202eliah');
  });

  it('an argument that is not UTF-8 is refused (exit 2), not passed on with U+FFFD in place of its bytes', async () => {
    const host = await mockHost();
    const run = (tail: string) =>
      spawnSync('/bin/bash', ['-c', `exec "$0" bin/xlp.js ${tail}`, process.execPath], { cwd: ROOT, env: host.env, encoding: 'utf8' });
    const r = run(`status $'bad\\xffname' --json`);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'USAGE',
      message: 'argument 2 is not valid UTF-8 (bad\\xffname); xlp takes names and paths as UTF-8 text',
    });
    const t = run(`load $'/tmp/\\xfe.livepatch'`);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/^xlp: argument 2 is not valid UTF-8 \(\/tmp\/\\xfe\.livepatch\)/);
    // The same for the variables xlp takes directories from.
    const e = spawnSync('/bin/bash', ['-c', `XLP_MOCK_STATE=$'/tmp/\\xff' exec "$0" bin/xlp.js list --json`, process.execPath], {
      cwd: ROOT,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(e.status, e.stderr).toBe(2);
    expect(JSON.parse(e.stdout).error.message).toBe('XLP_MOCK_STATE is not valid UTF-8; xlp takes names and paths as UTF-8 text');
  });
});

describe('mock init: every refusal is a usage error (exit 2) with a documented code', () => {
  it('bad identities and unreadable files', async () => {
    const env = cleanEnv();
    const dir = join(await tempDir(), 'm');
    for (const [args, message] of [
      [['--build-id', 'abc'], /build-id must be an even number of hex digits/],
      [['--cpus', '0'], /cpus must be an integer from 1 to 4096/],
      [['--cpus', '-1'], /--cpus must be a non-negative number/],
      [['--cpus', '1.5'], /cpus must be an integer/],
      [['--loglvl', 'bogus'], /not a Xen loglvl/],
      [['--loglvl', 'toString'], /not a Xen loglvl/],
      [['--quiesce-ms', '1e12'], /quiesceMs must be a number from 0 to 3600000/],
      [['--memory', 'nothex'], /--memory takes SYMBOL=HEXBYTES/],
      [['--memory', 'f=zz'], /memory of f must be an even number of hex digits/],
      [['--symbols', '/nonexistent'], /--symbols: cannot read \/nonexistent: no such file/],
      [['--symbols', ROOT], /--symbols: cannot read .*EISDIR/],
    ] as const) {
      const r = await xlp(['mock', 'init', '--mock-state', dir, ...args, '--json'], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(expectSchema<ErrorJson>(r, 'error').error, args.join(' ')).toMatchObject({
        code: 'USAGE',
        kind: 'UsageError',
        message: expect.stringMatching(message),
      });
      // Nothing was created for a refused init.
      expect(existsSync(dir), args.join(' ')).toBe(false);
    }
  });
});

describe('check -q', () => {
  it('prints nothing for a good payload, and only the errors of a bad one, on stderr', async () => {
    const good = await xlp(['check', '-q', '--offline', '--xen-build-id', WF_XEN, P.path('base')]);
    expect(good).toMatchObject({ code: 0, out: '', err: '' });
    const bad = await xlp(['check', '-q', '--offline', '--xen-build-id', WF_XEN, P.path('wrong_xen')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(
      new RegExp(`^xlp: ${P.path('wrong_xen').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1 error\n  error \\S+ \\(EINVAL\\): `),
    );
  });
});

describe('a clean failure leaves nothing behind', () => {
  it('load of a payload the hypervisor refuses: exit 1, no journal, the next command is not blocked', async () => {
    const host = await mockHost();
    const random = join(await tempDir(), 'random.livepatch');
    await writeFile(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
    const r = await host.run('load', random, '--force', '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<ErrorJson>(r, 'error').error).toMatchObject({ kind: 'UploadFailedError', code: 'EINVAL' });
    expect(existsSync(join(host.dir, 'workflow', 'journal.json'))).toBe(false);
    const next = await host.run('load', P.path('base'));
    expect(next.code, next.err).toBe(0);
    expect(next.err).not.toMatch(/journal/);
  });

  it('load --timeout that exits 5 ("retryable") can be retried', async () => {
    const host = await mockHost({ quiesceMs: 1000 });
    const r = await host.run('load', P.path('base'), '--timeout', '100ms', '--json');
    expect(r.code, r.err).toBe(5);
    expect(existsSync(join(host.dir, 'workflow', 'journal.json'))).toBe(false);
    const again = await host.run('load', P.path('base'));
    expect(again.code, again.err).toBe(0);
  });
});

describe('directories that are not a simulator', () => {
  it('a reading command never creates or deletes anything in --mock-state', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'payloads'));
    await writeFile(join(dir, 'payloads', 'keep'), 'x');
    const env = cleanEnv();
    for (const cmd of ['list', 'status', 'stack', 'info']) {
      const r = await xlp([cmd, ...(cmd === 'status' ? ['p'] : []), '--backend', 'mock', '--mock-state', dir, '--json'], env);
      expect(r.code, cmd).toBe(3);
      expect(r.json<ErrorJson>().error, cmd).toMatchObject({
        code: 'EMOCKSTATE',
        problem: 'not-initialized',
        message: expect.stringContaining(`xlp mock init --mock-state ${dir}`),
      });
    }
    expect(await readdir(dir)).toEqual(['payloads']);
    expect(await readFile(join(dir, 'payloads', 'keep'), 'utf8')).toBe('x');
    // The root directory included: no /state.json appears.
    const root = await xlp(['list', '--backend', 'mock', '--mock-state', '/'], env);
    expect(root.code).toBe(3);
    expect(existsSync('/state.json')).toBe(false);
  });

  it('mock init refuses a directory with other files in it (exit 1), and leaves them', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'thesis.tex'), 'months of work');
    const r = await xlp(['mock', 'init', '--mock-state', dir, '--force', '--json']);
    expect(r.code).toBe(1);
    expect(expectSchema<ErrorJson>(r, 'error').error).toMatchObject({ code: 'EMOCKSTATE', problem: 'not-empty', path: dir });
    expect(await readdir(dir)).toEqual(['thesis.tex']);
  });
});
