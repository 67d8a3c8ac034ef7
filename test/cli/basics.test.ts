/** The `xlp` command line itself: help, version, usage errors, exit codes, no Xen on this machine. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, cleanEnv, expectSchema, mockHost, ROOT, sourcesNewerThanBundle, staleOutputs, tempDir, xlp } from './support/xlp.js';

let P_BASE: () => string;
beforeAll(async () => {
  assertBuilt();
  const P = await wfPayloads();
  P_BASE = () => P.path('base');
});

describe('the CLI tests run what lib/ compiles to', () => {
  it('any source under lib/ newer than its dist/ output, or without one, makes dist/ stale', async () => {
    const root = await tempDir();
    const lib = join(root, 'lib');
    const dist = join(root, 'dist');
    for (const d of [join(lib, 'cli'), join(lib, 'workflow'), join(dist, 'cli'), join(dist, 'workflow')]) mkdirSync(d, { recursive: true });
    const at = (path: string, seconds: number) => {
      writeFileSync(path, '');
      utimesSync(path, seconds, seconds);
    };
    at(join(lib, 'cli', 'main.ts'), 1000);
    at(join(lib, 'workflow', 'restore.ts'), 1000);
    at(join(lib, 'types.d.ts'), 5000); // declarations compile to nothing
    at(join(dist, 'cli', 'main.js'), 2000);
    at(join(dist, 'workflow', 'restore.js'), 2000);
    expect(staleOutputs(lib, dist)).toEqual([]);
    at(join(lib, 'workflow', 'restore.ts'), 3000); // edited after the build, though lib/cli/main.ts was not
    at(join(lib, 'workflow', 'replace.ts'), 1000); // new, never built
    expect(staleOutputs(lib, dist)).toEqual(['workflow/replace.ts', 'workflow/restore.ts']);
    expect(staleOutputs()).toEqual([]); // and this checkout's dist/ is current (npm test builds it first)
  });

  it('the bundled xlp (dist/xlp/xlp.cjs) is stale when missing or older than any source under lib/', async () => {
    const root = await tempDir();
    const lib = join(root, 'lib');
    const bundle = join(root, 'dist', 'xlp', 'xlp.cjs');
    for (const d of [join(lib, 'cli'), join(lib, 'mock'), dirname(bundle)]) mkdirSync(d, { recursive: true });
    const at = (path: string, seconds: number) => {
      writeFileSync(path, '');
      utimesSync(path, seconds, seconds);
    };
    at(join(lib, 'cli', 'main.ts'), 1000);
    at(join(lib, 'mock', 'machine.ts'), 1000);
    at(join(lib, 'mock', 'machine.test.ts'), 9000); // tests are not in it
    expect(sourcesNewerThanBundle(lib, bundle)).toEqual(['cli/main.ts', 'mock/machine.ts']); // never built
    at(bundle, 2000);
    expect(sourcesNewerThanBundle(lib, bundle)).toEqual([]);
    at(join(lib, 'mock', 'machine.ts'), 3000); // edited after the bundle was built
    expect(sourcesNewerThanBundle(lib, bundle)).toEqual(['mock/machine.ts']);
    expect(sourcesNewerThanBundle()).toEqual([]); // this checkout's bundle is current (npm test builds it first)
  });
});

describe('xlp', () => {
  it('--version and --help; help lists every command and the exit codes', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const v = await xlp(['--version']);
    expect(v).toMatchObject({ code: 0, out: `${version}\n`, err: '' });
    const help = await xlp(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of [
      'list',
      'status',
      'upload',
      'apply',
      'revert',
      'replace',
      'unload',
      'load',
      'stack',
      'log',
      'info',
      'recover',
      'check',
      'mock',
    ]) {
      expect(help.out).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
    for (const line of ['0  success, or nothing to do', '4  vetoed by a hook', '5  busy or timed out (retryable)', '6  preflight errors'])
      expect(help.out).toContain(line);
    const replace = await xlp(['replace', '--help']);
    expect(replace.code).toBe(0);
    for (const opt of [
      '--sequential',
      '--dry-run',
      '--force',
      '--nodeps',
      '--json',
      '--backend',
      '--mock-state',
      '--state-dir',
      '--lock-timeout',
      '--timeout',
      '--quiesce-timeout',
    ]) {
      expect(replace.out).toContain(opt);
    }
    const loadHelpRun = await xlp(['load', '--help']);
    expect(loadHelpRun.code).toBe(0);
    const loadHelp = loadHelpRun.out;
    for (const opt of ['--keep', '--name', '--force', '--nodeps', '--dry-run']) expect(loadHelp).toContain(opt);
  });

  it('without --backend on a machine without Xen: the simulator, said on stderr; none created yet is exit 3 saying how', async () => {
    const home = await tempDir();
    const env = cleanEnv({ XDG_STATE_HOME: home });
    const dir = join(home, 'xen-livepatch', 'mock');
    const r = await xlp(['info'], env);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toEqual([
      `xlp: note: no Xen here (/dev/xen/privcmd is missing): using the simulated hypervisor in ${dir} (--backend mock; --backend native insists on Xen)`,
      `xlp: no mock hypervisor in ${dir} (create one with \`xlp mock init --mock-state ${dir}\`)`,
    ]);
    const j = await xlp(['info', '--json'], env);
    expect(j.code).toBe(3);
    expect(expectSchema(j, 'error')).toMatchObject({
      error: { code: 'EMOCKSTATE', kind: 'MockStateError', problem: 'not-initialized', exitCode: 3 },
    });
    // Reading commands never create a simulator.
    expect(existsSync(join(home, 'xen-livepatch'))).toBe(false);
    expect((await xlp(['mock', 'init'], env)).code).toBe(0);
    const ok = await xlp(['info'], env);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^backend: +mock \(state /m);
    expect(ok.err).toMatch(/^xlp: note: no Xen here .*using the simulated hypervisor/);
    // -q leaves only errors.
    expect((await xlp(['info', '-q'], env)).err).toBe('');
    // The native backend asked for explicitly: there is no Xen here, exit 3 with one line, never the simulator.
    const n = await xlp(['list', '--backend', 'native'], env);
    expect(n.code).toBe(3);
    expect(n.err.trimEnd().split('\n')).toHaveLength(1);
    expect(n.err).not.toMatch(/simulated/);
  });

  it('info on the mock', async () => {
    const host = await mockHost();
    const r = await host.run('info', '--json');
    expect(r.code, r.err).toBe(0);
    expect(expectSchema(r, 'info')).toMatchObject({
      backend: 'mock',
      xen: { major: 4, minor: 17, buildId: 'c0ffee00000000000000000000000000000000f5' },
      mockState: host.dir,
      stateDir: join(host.dir, 'workflow'),
    });
    expect((await host.ok('info')).out).toMatch(/^backend: +mock/m);
  });

  it('usage errors exit 2', async () => {
    const host = await mockHost();
    for (const args of [
      ['frobnicate'],
      ['apply'],
      ['apply', 'x', '--bogus'],
      ['list', '--timeout', 'soon'],
      ['list', '--backend', 'xen'],
      ['apply', 'bad\tname'],
      ['status', 'x'.repeat(128)],
      ['apply', 'x', '--quiesce-timeout', '-1'],
      ['apply', 'x', '--quiesce-timeout', '5s'],
      ['apply', 'x', '--state-dir'],
    ]) {
      const r = await xlp(args, host.env);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
    const j = await host.run('apply', 'bad\tname', '--json');
    expect(j.code).toBe(2);
    expect(expectSchema(j, 'error')).toMatchObject({ error: { code: 'EINVAL', kind: 'InvalidNameError', exitCode: 2 } });
  });

  it('usage errors the command line parser finds are the documented JSON error with --json, and nothing on stderr', async () => {
    const host = await mockHost();
    for (const [args, message] of [
      [['apply', 'x', '--bogus', '--json'], /^unknown option '--bogus'$/],
      [['apply', '--json'], /^missing required argument 'name'$/],
      [['list', '--json', '--timeout'], /^option '--timeout <duration>' argument missing$/],
      [['list', '--json', '--json=1'], /^unknown option '--json=1' \(Did you mean --json\?\)$/],
      [['frobnicate', '--json'], /^unknown command 'frobnicate'$/],
    ] as const) {
      const r = await xlp(args, host.env);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err, args.join(' ')).toBe('');
      expect(expectSchema<{ error: { message: string } }>(r, 'error').error, args.join(' ')).toMatchObject({
        code: 'USAGE',
        exitCode: 2,
        message: expect.stringMatching(message),
      });
    }
    // Without --json: commander's own line on stderr, as before.
    const text = await xlp(['apply', 'x', '--bogus'], host.env);
    expect(text).toMatchObject({ code: 2, out: '', err: "xlp: unknown option '--bogus'\n" });
  });

  it("a --state-dir that is the mock's own state directory is refused at once (both would lock the same file)", async () => {
    const host = await mockHost();
    for (const dir of [host.dir, `${host.dir}/`, join(host.dir, '..', 'mock')]) {
      const r = await host.run('upload', 'p', P_BASE(), '--state-dir', dir, '--json');
      expect(r.code, r.err).toBe(2);
      expect(r.ms).toBeLessThan(5_000); // not after waiting for its own lock
      expect(expectSchema<{ error: Record<string, unknown> }>(r, 'error').error).toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/--state-dir .* is the mock hypervisor's state directory/),
      });
    }
    expect((await host.ok('list', '--json')).json()).toEqual({ payloads: [] });
  });

  it('an unsafe --state-dir is refused', async () => {
    const host = await mockHost();
    const { mkdir, symlink } = await import('node:fs/promises');
    const real = join(host.dir, '..', 'real');
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(host.dir, '..', 'link'));
    const r = await host.run('list', '--state-dir', join(host.dir, '..', 'link'), '--json');
    // list reads only; a mutating command opens (and checks) the state directory.
    expect(r.code).toBe(0);
    const m = await host.run('apply', 'x', '--state-dir', join(host.dir, '..', 'link'), '--json');
    expect(m.code).toBe(1);
    expect(expectSchema<{ error: Record<string, unknown> }>(m, 'error').error).toMatchObject({
      code: 'EPRIVATEDIR',
      message: expect.stringMatching(/is a symbolic link; refusing/),
    });
  });

  it('colours on a terminal only, and never with NO_COLOR', async () => {
    // util-linux's script(1) gives xlp a pseudo-terminal; it is in bsdutils, an essential Debian package.
    expect(existsSync('/usr/bin/script'), '/usr/bin/script (bsdutils) is needed to test terminal output').toBe(true);
    const host = await mockHost();
    await host.ok('upload', 'p', P_BASE());
    const tty = (env: NodeJS.ProcessEnv) =>
      spawnSync(
        '/usr/bin/script',
        ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'xlp.js'))} list`, '/dev/null'],
        { env, encoding: 'utf8' },
      ).stdout;
    const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: host.dir });
    delete env.NO_COLOR;
    expect(tty(env)).toMatch(/\x1b\[36mCHECKED\x1b\[39m/);
    expect(tty({ ...env, NO_COLOR: '1' })).not.toMatch(/\x1b\[/);
    expect(
      tty(env)
        .replace(/\x1b\[\d+m/g, '')
        .split(/\r?\n/)[1],
    ).toMatch(/^p +CHECKED +0 +PURPOSE=workflow-test;VARIANT=base$/);
  });

  it('stops quietly, with its exit code, when the reader of its output goes away (xlp list | head -0)', async () => {
    const host = await mockHost();
    await host.ok('upload', 'p', P_BASE());
    const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: host.dir });
    for (const args of [['list', '--json'], ['--help']]) {
      // `true` exits at once, long before xlp (a node start-up later) writes: the pipe is closed by then.
      const r = spawnSync(
        '/bin/bash',
        ['-c', '"$0" "$@" | true; echo "status=${PIPESTATUS[0]}"', process.execPath, join(ROOT, 'bin', 'xlp.js'), ...args],
        { env, encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('status=0');
    }
  });

  it('human output has no ANSI escapes when not on a terminal', async () => {
    const host = await mockHost();
    const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: host.dir }); // NO_COLOR left set by cleanEnv; also check without it
    delete env.NO_COLOR;
    for (const [args, code] of [
      [['list'], 0],
      [['status', 'nope'], 1],
      [['info'], 0],
      [['apply', 'nope'], 1],
      [['stack'], 0],
    ] as const) {
      const r = await xlp(args, env);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(code);
      expect(r.out + r.err).not.toMatch(/\x1b\[/);
    }
  });
});
