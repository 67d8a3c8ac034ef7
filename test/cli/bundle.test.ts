/**
 * How `xlp` starts: the bundle run with the code cache the build made for it (bin/bundle.js), and
 * without the Node modules it does not need. A start that compiles from source, or that loads the
 * network streams, still works: these tests pin that it does not have to.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanEnv, mockHost, ROOT, tempDir } from './support/xlp.js';

const BUNDLE = join(ROOT, 'dist', 'xlp', 'xlp.cjs');

beforeAll(() => {
  assertBuilt();
});

/** Loads `file` with bin/bundle.js in a fresh Node, runs `xlp list --json` in it, and says what happened. */
function loadIn(file: string, mockState: string): { cacheUsed: boolean; code: number; payloads: unknown } {
  const script = `
    const { loadBundle } = require(${JSON.stringify(join(ROOT, 'bin', 'bundle.js'))});
    const { exports, cacheUsed } = loadBundle({ file: ${JSON.stringify(file)} });
    process.stderr.write(JSON.stringify({ cacheUsed }) + '\\n');
    exports.run(['list', '--json', '--backend', 'mock', '--mock-state', ${JSON.stringify(mockState)}]).then((code) => { process.exitCode = code; });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: cleanEnv() });
  expect(r.status, r.stderr).toBe(0);
  const { cacheUsed } = JSON.parse(r.stderr.split('\n')[0]!) as { cacheUsed: boolean };
  return { cacheUsed, code: r.status!, payloads: (JSON.parse(r.stdout) as { payloads: unknown }).payloads };
}

/** A copy of the bundle at its place in a package of its own (it reads ../../package.json). */
async function copyOfBundle(): Promise<string> {
  const dir = await tempDir('xlp-bundle-');
  mkdirSync(join(dir, 'dist', 'xlp'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  const file = join(dir, 'dist', 'xlp', 'xlp.cjs');
  copyFileSync(BUNDLE, file);
  return file;
}

/** The same, with the build's cache passed through `edit` beside it. */
async function copyWithCache(edit: (cache: Buffer) => Buffer): Promise<string> {
  const file = await copyOfBundle();
  writeFileSync(`${file}.cache`, edit(readFileSync(`${BUNDLE}.cache`)));
  return file;
}

describe('the code cache', () => {
  it('made by the build is taken by the Node that built it, and xlp answers from it', async () => {
    const host = await mockHost();
    const r = loadIn(BUNDLE, host.dir);
    expect(r.cacheUsed).toBe(true);
    expect(r.payloads).toEqual([]);
  });

  it('of another build (another token) is not used, even where V8 would take it, and xlp still answers', async () => {
    const host = await mockHost();
    // The same bytes V8 made for this bundle, under another build's token: only the token tells them apart.
    const file = await copyWithCache((c) => Buffer.concat([Buffer.from('0'.repeat(32)), c.subarray(32)]));
    const r = loadIn(file, host.dir);
    expect(r.cacheUsed).toBe(false);
    expect(r.payloads).toEqual([]);
  });

  it('that V8 refuses (damaged) is not used, and xlp compiles from source and answers', async () => {
    const host = await mockHost();
    const file = await copyWithCache((c) => {
      const d = Buffer.from(c);
      for (let i = 40; i < d.length; i += 97) d[i] = d[i]! ^ 0x5a;
      return d;
    });
    const r = loadIn(file, host.dir);
    expect(r.cacheUsed).toBe(false);
    expect(r.payloads).toEqual([]);
  });

  it('missing, or cut short inside its header, is not used, and xlp answers', async () => {
    const host = await mockHost();
    for (const edit of [(c: Buffer) => c.subarray(0, 10), (c: Buffer) => c.subarray(0, 33)]) {
      const file = await copyWithCache(edit);
      expect(loadIn(file, host.dir).cacheUsed).toBe(false);
    }
    expect(loadIn(await copyOfBundle(), host.dir)).toEqual({ cacheUsed: false, code: 0, payloads: [] });
  });

  it('belongs to this bundle: both carry the same build token, and the bundle is ASCII (read as Latin-1)', () => {
    const source = readFileSync(BUNDLE);
    const token = /^\/\/ xlp-build ([0-9a-f]{32})\n/.exec(source.toString('latin1'))?.[1];
    expect(token).toBeDefined();
    expect(readFileSync(`${BUNDLE}.cache`).subarray(0, 33).toString('latin1')).toBe(`${token}\n`);
    expect(source.findIndex((b) => b > 0x7f)).toBe(-1);
  });
});

describe('what a start loads', () => {
  /** The Node built-in modules a whole `xlp ARGS` run loaded, its stdout and stderr being pipes. */
  function builtinsLoaded(args: string[], env: NodeJS.ProcessEnv, stdout: 'pipe' | number = 'pipe'): string[] {
    const preload = join(ROOT, 'test', 'cli', 'support', 'report-builtins.cjs');
    const r = spawnSync(process.execPath, ['--require', preload, join(ROOT, 'bin', 'xlp.js'), ...args], {
      encoding: 'utf8',
      env,
      stdio: ['ignore', stdout, 'pipe'],
    });
    const line = r.stderr.split('\n').find((l) => l.startsWith('builtins: '));
    expect(line, r.stderr).toBeDefined();
    return JSON.parse(line!.slice('builtins: '.length)) as string[];
  }

  it('`xlp list` and `xlp status NAME` through pipes load none of child_process, net, tty, crypto and stream', async () => {
    const host = await mockHost();
    for (const args of [['list'], ['list', '--json'], ['status', 'nope'], ['status', 'nope', '--json']]) {
      const loaded = builtinsLoaded(args, host.env);
      expect(loaded).toContain('vm'); // the report sees the bundle's loader
      for (const m of ['child_process', 'net', 'tty', 'crypto', 'stream']) expect(loaded, `xlp ${args.join(' ')}`).not.toContain(m);
    }
  });

  it('output thrown away on /dev/null (a character device, not a terminal) does not load tty either', async () => {
    const host = await mockHost();
    const devNull = openSync('/dev/null', 'w');
    try {
      for (const args of [['list'], ['status', 'nope']]) expect(builtinsLoaded(args, host.env, devNull)).not.toContain('tty');
    } finally {
      closeSync(devNull);
    }
  });
});
