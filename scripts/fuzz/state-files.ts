/**
 * `npm run fuzz` (second part): the readers of every state file, fed random JSON, mutations of real
 * files, truncations, flipped bytes, and other file types in a file's place. Each input is one
 * damaged file in a copy of real state directories (a mock with payloads, a symbol table and hook
 * rules; xlp's journal, registry, in-flight record and lock); the readers are then asked to open
 * and use it. Passing means: no crash, no hang, no raw Node error. Every failure must be one of
 * the project's typed errors (a MockStateError, a StateFileError, a XenError from the simulated
 * hypervisor, ...), and a state the readers accept must work for every operation tried on it.
 *
 *   XLP_FUZZ_STATE_RUNS  number of inputs (default 300: each one opens and uses whole state
 *                        directories, about 0.2 s; XLP_FUZZ_RUNS is the ELF run's budget)
 *   XLP_FUZZ_SEED        replay a run (the seed is printed at the start and on failure)
 *   XLP_FUZZ_STATE_PATH  replay one counterexample path (printed on failure)
 * A failing input's directory is kept under .cache/fuzz/ for a look with `xlp --mock-state`.
 */
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLockHolder } from '../../lib/fs/lock.js';
import { PrivateDirError } from '../../lib/fs/private-dir.js';
import { MockConfigError, MockPanicError, MockStateError } from '../../lib/mock/errors.js';
import { initMockState, openMockBackend } from '../../lib/mock/open.js';
import { WorkflowError } from '../../lib/workflow/errors.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { StateFileError } from '../../lib/workflow/state-file.js';
import { XenError } from '../../lib/xen/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES = join(ROOT, 'examples', 'payloads');
/** Longer than any operation takes on a healthy state: past this, an input hangs a reader. */
const HANG_MS = 10_000;

const runs = Number(process.env.XLP_FUZZ_STATE_RUNS ?? 300);
const seed = process.env.XLP_FUZZ_SEED !== undefined ? Number(process.env.XLP_FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const path = process.env.XLP_FUZZ_STATE_PATH;
if (!Number.isInteger(runs) || runs <= 0)
  throw new Error(`XLP_FUZZ_STATE_RUNS must be a positive integer, not ${process.env.XLP_FUZZ_STATE_RUNS}`);

// --- the template: real state directories, made by the project's own code --------------------------

const work = await mkdtemp(join(tmpdir(), 'xlp-fuzz-state-'));
const template = join(work, 'template');
const mockDir = join(template, 'mock');
const stateDir = join(mockDir, 'workflow');
{
  await initMockState(
    mockDir,
    {
      loglvl: 'all',
      quiesceMs: 0,
      symbols: new Map([
        ['xen_extra_version', 0xffff82d040d232e0n],
        ['printk', 0xffff82d040210000n],
      ]),
    },
    { durable: false },
  );
  const mock = await openMockBackend({ stateDir: mockDir, ifMissing: 'error', durable: false, timers: false });
  await mock.setHook({ payload: 'guarded', kind: 'preapply' }, { rc: [-22, 0], printk: ['checking {n}'] });
  const lp = await Livepatcher.open({ backend: mock, stateDir, waitTimeoutMs: 2_000 });
  await lp.load(join(EXAMPLES, 'hello.livepatch'));
  await lp.upload('guarded', join(EXAMPLES, 'guarded.livepatch'));
  await lp.upload('cumulative', join(EXAMPLES, 'cumulative.livepatch'));
  await lp.close();
  const journal = {
    version: 1,
    workflow: 'replace-sequential',
    command: 'replace --sequential cumulative',
    startedAt: '2026-01-01T10:00:00.000Z',
    pid: 4242,
    target: 'cumulative',
    originalStack: ['hello'],
    phase: 'forward',
    steps: [
      { action: 'REVERT', payload: 'hello', state: 'started' },
      { action: 'APPLY', payload: 'cumulative', state: 'pending' },
    ],
    uploadedByWorkflow: false,
  };
  await writeFile(join(stateDir, 'journal.json'), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  await writeFile(
    join(stateDir, 'in-flight.json'),
    JSON.stringify({ version: 1, payload: 'hello', action: 'REVERT', issuedAt: '2026-01-01T10:00:00.000Z', pid: 4242 }),
    { mode: 0o600 },
  );
  // A lock left by a process that died on this host: recognised as stale and broken at once.
  const dead = Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
  await writeFile(
    join(stateDir, 'lock'),
    JSON.stringify({ pid: dead, hostname: hostname(), startTime: null, bootId: null, acquiredAt: 't', purpose: 'xlp load', nonce: 'n' }),
    { mode: 0o600 },
  );
}

/** Every regular file of the template, relative to it: the targets of a mutation. */
async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else if (e.isFile() && e.name !== 'lock') out.push(r);
  }
  return out;
}
const targets = [...(await filesUnder(template)), join('mock', 'workflow', 'lock')].sort();
const originals = new Map<string, Buffer>();
for (const t of targets) originals.set(t, await readFile(join(template, t)));

// --- inputs -------------------------------------------------------------------------------------

/** Values that have broken readers before, or should not: paths, huge numbers, codec look-alikes. */
const nasty = fc.constantFrom<unknown>(
  null,
  true,
  -1,
  0,
  1e12,
  2 ** 53,
  -(2 ** 31),
  Number.MAX_VALUE,
  '',
  '../../../../etc/passwd',
  '/etc/shadow',
  'a'.repeat(300),
  'evil\u202eliah',
  'toString',
  '__proto__',
  { $big: 'zz' },
  { $big: '-1' },
  { $b64: '!!!' },
  { type: 'Buffer', data: [1, 2, 3] },
  [],
  {},
  [[[[[[[[]]]]]]]],
);
const value: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: nasty }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) });

/** One edit of a JSON document: `path` walks down from the root (each number picks a child), so shallow fields are hit as often as deep ones. */
type Edit = { readonly path: readonly number[]; readonly op: 'replace' | 'delete' | 'duplicate'; readonly value: unknown };
type Damage =
  | { readonly kind: 'random'; readonly value: unknown }
  | { readonly kind: 'mutate'; readonly edits: readonly Edit[] }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'type'; readonly as: 'directory' | 'symlink' | 'fifo' | 'empty' | 'missing' | 'huge-nesting' };

export interface StateInput {
  readonly target: string;
  readonly damage: Damage;
}

const edit = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
  op: fc.constantFrom('replace', 'replace', 'delete', 'duplicate'),
  value,
}) as fc.Arbitrary<Edit>;
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('random' as const), value }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('mutate' as const), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('type' as const),
      as: fc.constantFrom('directory', 'symlink', 'fifo', 'empty', 'missing', 'huge-nesting'),
    }),
  },
);
/** The JSON files the readers decode field by field get most of the inputs; blobs and the lock some. */
const weight = (t: string): number => (t.endsWith('state.json') ? 6 : t.endsWith('.json') ? 3 : 1);
const target = fc.oneof(...targets.map((t) => ({ weight: weight(t), arbitrary: fc.constant(t) })));
const inputArb: fc.Arbitrary<StateInput> = fc.record({ target, damage });

/** The node `path` leads to, as [parent, key]; null for the root or a document without children. */
function walk(doc: unknown, path: readonly number[]): [Record<string, unknown> | unknown[], string | number] | null {
  let at: [Record<string, unknown> | unknown[], string | number] | null = null;
  let v = doc;
  for (const step of path) {
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : v !== null && typeof v === 'object' ? Object.keys(v) : [];
    if (keys.length === 0) break;
    const key = keys[step % keys.length]!;
    at = [v as Record<string, unknown> | unknown[], key];
    v = (v as Record<string | number, unknown>)[key];
  }
  return at;
}

function damaged(original: Buffer, d: Damage): Buffer | null {
  switch (d.kind) {
    case 'random':
      return Buffer.from(JSON.stringify(d.value) ?? 'undefined');
    case 'truncate':
      return original.subarray(0, d.at % (original.length + 1));
    case 'flip': {
      const b = Buffer.from(original);
      if (b.length) b[d.at % b.length] = b[d.at % b.length]! ^ d.xor;
      return b;
    }
    case 'mutate': {
      let doc: unknown;
      try {
        doc = JSON.parse(original.toString('utf8'));
      } catch {
        return null; // not JSON (a payload blob): flip bytes instead
      }
      for (const e of d.edits) {
        const node = walk(doc, e.path);
        if (!node) {
          doc = e.value;
          continue;
        }
        const [parent, key] = node;
        if (e.op === 'replace') (parent as Record<string | number, unknown>)[key] = structuredClone(e.value);
        else if (e.op === 'delete') {
          if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete parent[key as string];
        } else if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
        else parent[`${String(key)}_`] = structuredClone(parent[key as string]);
      }
      return Buffer.from(JSON.stringify(doc));
    }
    case 'type':
      return null;
  }
}

async function applyDamage(dir: string, input: StateInput): Promise<void> {
  const file = join(dir, input.target);
  const original = originals.get(input.target)!;
  const d = input.damage;
  if (d.kind === 'type') {
    await rm(file, { recursive: true, force: true });
    if (d.as === 'directory') await mkdir(file, { mode: 0o700 });
    else if (d.as === 'symlink') {
      await writeFile(join(dir, 'elsewhere'), original, { mode: 0o600 });
      await symlink(join(dir, 'elsewhere'), file);
    } else if (d.as === 'fifo') spawnSync('mkfifo', ['-m', '600', file]);
    else if (d.as === 'empty') await writeFile(file, '', { mode: 0o600 });
    else if (d.as === 'huge-nesting') await writeFile(file, `${'['.repeat(200_000)}${']'.repeat(200_000)}`, { mode: 0o600 });
    return;
  }
  const bytes =
    damaged(original, d) ?? damaged(original, { kind: 'flip', at: d.kind === 'mutate' ? (d.edits[0]?.path[0] ?? 0) : 0, xor: 0x5a })!;
  await writeFile(file, bytes, { mode: 0o600 });
}

// --- the oracle -----------------------------------------------------------------------------------

/** The errors a reader may answer with: the project's own, typed. */
function typed(e: unknown): boolean {
  return (
    e instanceof MockStateError ||
    e instanceof MockPanicError ||
    e instanceof MockConfigError ||
    e instanceof XenError ||
    e instanceof StateFileError ||
    e instanceof WorkflowError ||
    e instanceof PrivateDirError
  );
}

/** Runs `fn`; a typed error is an answer, anything else thrown is a finding. */
async function answer(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await timed(what.split(' ')[0]!, fn);
  } catch (e) {
    if (!typed(e)) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new Error(
        `${what}: raw ${err.name}${(err as NodeJS.ErrnoException).code ? ` ${(err as NodeJS.ErrnoException).code}` : ''}: ${err.message}`,
        { cause: err },
      );
    }
  }
}

const timing = new Map<string, number>();
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    timing.set(what, (timing.get(what) ?? 0) + performance.now() - t);
  }
}

async function exercise(dir: string): Promise<void> {
  const mockState = join(dir, 'mock');
  const wf = join(mockState, 'workflow');
  await answer('readLockHolder', () => readLockHolder(join(wf, 'lock')));
  // The simulator's own files, through every kind of call.
  let mock: Awaited<ReturnType<typeof openMockBackend>> | null = null;
  await answer('openMockBackend', async () => {
    mock = await openMockBackend({ stateDir: mockState, ifMissing: 'error', durable: false, timers: false, lockTimeoutMs: 200 });
  });
  if (mock) {
    const m: Awaited<ReturnType<typeof openMockBackend>> = mock;
    let names: string[] = [];
    await answer('list', async () => (names = (await m.list()).map((p) => p.name)));
    await answer('inspect', () => m.inspect());
    await answer('xenVersion', () => m.xenVersion());
    await answer('readConsole', () => m.readConsole());
    await answer('hookCalls', () => m.hookCalls());
    await answer('warnings', () => m.warnings());
    for (const n of names.slice(0, 4)) {
      await answer(`get ${n}`, () => m.get(n));
      for (const action of ['APPLY', 'REVERT', 'REPLACE'] as const) await answer(`${action} ${n}`, () => m.action(n, action));
      await answer('idle loop', () => m.runIdleLoop());
    }
    await answer('sendDebugKeys', () => m.sendDebugKeys('x'));
    await answer('upload', async () => m.upload('fuzz', await readFile(join(EXAMPLES, 'hello.livepatch'))));
    await m.close();
  }
  // xlp's own files (journal, registry, in-flight record, lock), on a healthy simulator.
  const fresh = join(dir, 'fresh');
  await cp(join(template, 'mock'), fresh, { recursive: true, filter: (src) => !src.startsWith(join(template, 'mock', 'workflow')) });
  const backend = await openMockBackend({ stateDir: fresh, ifMissing: 'error', durable: false, timers: false });
  let lp: Livepatcher | null = null;
  await answer('Livepatcher.open', async () => {
    lp = await Livepatcher.open({ backend, stateDir: wf, waitTimeoutMs: 100, lockTimeoutMs: 200, settleTimeoutMs: 100 });
  });
  if (lp) {
    const l: Livepatcher = lp;
    await answer('pendingJournal', () => l.pendingJournal());
    await answer('interruptedJournal', () => l.interruptedJournal());
    await answer('stack', () => l.stack());
    await answer('planRecover', () => l.planRecover());
    await answer('planReplace', () => l.planReplace('cumulative', { sequential: true }));
    await answer('apply', () => l.apply('guarded', { nodeps: true }));
    await answer('recover', () => l.recover());
  }
  await backend.close();
}

async function check(input: StateInput): Promise<void> {
  const dir = await mkdtemp(join(work, 'run-'));
  try {
    await cp(template, dir, { recursive: true });
    await applyDamage(dir, input);
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`hang: no answer within ${HANG_MS} ms`)), HANG_MS)),
    );
    try {
      await Promise.race([exercise(dir), hang]);
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    lastDir = dir;
    throw e;
  }
  await rm(dir, { recursive: true, force: true });
}

let lastDir: string | undefined;
console.log(
  `fuzz: ${runs} state-file inputs over ${targets.length} files (${targets.join(', ')}), seed ${seed}${path ? `, path ${path}` : ''}`,
);
const started = performance.now();
const result = await fc.check(fc.asyncProperty(inputArb, check), { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: true });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (result.failed) {
  const keep = join(ROOT, '.cache', 'fuzz', `state-${seed}`);
  await mkdir(dirname(keep), { recursive: true });
  if (lastDir) await cp(lastDir, keep, { recursive: true, verbatimSymlinks: true, filter: () => true }).catch(() => undefined);
  console.error(fc.defaultReportMessage(result));
  console.error(
    `fuzz: the failure: ${result.errorInstance instanceof Error ? (result.errorInstance.stack ?? result.errorInstance.message) : String(result.errorInstance)}`,
  );
  console.error(
    `fuzz: state files FAILED after ${result.numRuns} inputs in ${seconds}s (seed ${seed}, path ${result.counterexamplePath}); the directory is in ${keep}`,
  );
  await rm(work, { recursive: true, force: true });
  process.exit(1);
}
await rm(work, { recursive: true, force: true });
console.log(`fuzz: ${result.numRuns} state-file inputs passed in ${seconds}s (seed ${seed})`);
if (process.env.XLP_FUZZ_TIMING)
  console.log(
    [...timing]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${Math.round(v)} ms`)
      .join(', '),
  );
