/**
 * Running the compiled `xlp` (bin/xlp.js over dist/xlp/xlp.cjs, which `npm test` builds first) as users do,
 * against a mock hypervisor kept in a temporary state directory, and validating its JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { CLI_SCHEMAS, type CliSchemaName, validateJson } from '../../../lib/cli/json-schema.js';
import { initMockState, type MockIdentityInput, openMockBackend } from '../../../lib/mock/index.js';
import type { MockHypervisor } from '../../../lib/mock/hypervisor.js';
import { Livepatcher } from '../../../lib/workflow/livepatcher.js';
import { WF_XEN } from '../../workflow/support/payloads.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const XLP = join(ROOT, 'bin', 'xlp.js');

/** Sources under `lib` (relative paths) whose compiled `.js` under `dist` is missing or older than they are. */
export function staleOutputs(lib = join(ROOT, 'lib'), dist = join(ROOT, 'dist')): string[] {
  const stale: string[] = [];
  for (const rel of readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts') || rel.endsWith('.test.ts')) continue;
    const out = join(dist, rel.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(lib, rel)).mtimeMs) stale.push(rel);
  }
  return stale.sort();
}

/**
 * The sources under `lib` (relative paths) newer than the bundled CLI, `dist/xlp/xlp.cjs` (all of
 * them when it is missing): it is built from most of lib/, so any of them may be in it.
 */
export function sourcesNewerThanBundle(lib = join(ROOT, 'lib'), bundle = join(ROOT, 'dist', 'xlp', 'xlp.cjs')): string[] {
  const builtAt = existsSync(bundle) ? statSync(bundle).mtimeMs : -Infinity;
  return readdirSync(lib, { recursive: true, encoding: 'utf8' })
    .filter(
      (rel) => rel.endsWith('.ts') && !rel.endsWith('.d.ts') && !rel.endsWith('.test.ts') && statSync(join(lib, rel)).mtimeMs > builtAt,
    )
    .sort();
}

/** Fails early and clearly when dist/ is missing or older than any source under lib/ (the CLI tests run dist/). */
export function assertBuilt(): void {
  const stale = [...new Set([...staleOutputs(), ...sourcesNewerThanBundle()])].sort();
  if (stale.length > 0) {
    throw new Error(
      `dist/ is missing or older than ${stale.length} file(s) under lib/ (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}): ` +
        'run `npm test` (or `npm run build:ts`) first',
    );
  }
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  readonly ms: number;
  /** stdout parsed as JSON. */
  json<T = Record<string, unknown>>(): T;
}

/** The environment of a child `xlp`: nothing inherited that would steer it, colours off. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('XLP_') || k === 'XEN_LIVEPATCH_LIBXENCTRL') delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function xlp(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Run> {
  return xlpSpawn(args, env).done;
}

/** Starts `xlp` and returns its pid at once, with a promise of how it ended. */
export function xlpSpawn(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): { pid: number; done: Promise<Run> } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [XLP, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<Run>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        out,
        err,
        ms: performance.now() - t0,
        json<T>() {
          try {
            return JSON.parse(out) as T;
          } catch {
            throw new Error(`xlp ${args.join(' ')}: stdout is not JSON:\n${out}\nstderr:\n${err}`);
          }
        },
      }),
    );
  });
  return { pid: child.pid ?? -1, done };
}

/** Asserts that a run's stdout is JSON of the named schema, and returns it. */
export function expectSchema<T = Record<string, unknown>>(run: Run, schema: CliSchemaName): T {
  const value = run.json<T>();
  expect(validateJson(CLI_SCHEMAS[schema], value), `${schema} schema; stdout: ${run.out}`).toEqual([]);
  return value;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

export async function tempDir(prefix = 'xlp-cli-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A mock hypervisor in a fresh state directory, for `xlp --backend mock` runs and for the test itself. */
export interface MockHost {
  readonly dir: string;
  /** The environment for xlp runs on this mock. */
  readonly env: NodeJS.ProcessEnv;
  run(...args: string[]): Promise<Run>;
  /** `run`, asserting that xlp exited 0 (for setup steps and reads whose exit code is not the point). */
  ok(...args: string[]): Promise<Run>;
  /** The same hypervisor, opened in the test process. */
  mock(): Promise<MockHypervisor>;
  /** A Livepatcher on it sharing xlp's state directory (registry, journal, lock), for quick setups. */
  livepatcher(): Promise<Livepatcher>;
}

export async function mockHost(identity: MockIdentityInput = {}, extraEnv: Record<string, string> = {}): Promise<MockHost> {
  const dir = join(await tempDir(), 'mock');
  await initMockState(dir, { buildId: WF_XEN, quiesceMs: 0, ...identity });
  const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: dir, ...extraEnv });
  const opened: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const o of opened) await o.close();
  });
  return {
    dir,
    env,
    run: (...args) => xlp(args, env),
    ok: async (...args) => {
      const r = await xlp(args, env);
      expect(r.code, `xlp ${args.join(' ')}: ${r.err}`).toBe(0);
      return r;
    },
    mock: async () => {
      const m = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
      opened.push(m);
      return m;
    },
    livepatcher: async () => {
      const m = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
      const lp = await Livepatcher.open({ backend: m, stateDir: join(dir, 'workflow') });
      opened.push(lp);
      return lp;
    },
  };
}

/** Each payload's state and rc (and the applied stack) as the mock holds them. */
export async function hvState(host: MockHost): Promise<{ applied: string[]; payloads: Record<string, string> }> {
  const m = await host.mock();
  const s = await m.inspect();
  return { applied: [...s.applied], payloads: Object.fromEntries(s.payloads.map((p) => [p.name, `${p.state}${p.rc ? ` ${p.rc}` : ''}`])) };
}
