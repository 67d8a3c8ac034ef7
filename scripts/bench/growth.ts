/**
 * `npm run bench:growth`: how the cost of each command grows with the number of payloads loaded.
 *
 * A persisted mock (scripts/bench/fleet.ts) holds 10, 100 and 1,000 payloads, a tenth of them
 * applied as a stack xlp built (each on the one below it), the rest loaded and not applied. Each
 * command runs as a whole process (spawn to exit, as a shell script sees it), interleaved with
 * `node -e 0` measured in the same run, the floor any Node CLI pays. A command that changes the
 * hypervisor runs on a fresh copy of the mock each time (copied outside the measurement).
 *
 * Per command it prints the median over `node -e 0` at each size and the per-payload slope between
 * sizes (at most linear growth: the slope does not rise with the size). Then the hypercalls each
 * command makes, counted in-process on the same code path (the Livepatcher call the command makes,
 * over a counting backend): mutating ones (UPLOAD, ACTION) and `x` presses (each floods the
 * hypervisor's console); and whether the whole-process run rewrote the mock's state file at all
 * (the mock writes it on any hypercall that changes the hypervisor, an `x` press included).
 *
 * A command is one row of ROWS. `sync` runs with nothing to do: the fleet's applied stack is also
 * installed (`xlp install`, outside the measurement), so the installed set already is the stack.
 * Rows marked `mustNotChange` fail the benchmark (exit 1) if, at any size, the in-process run
 * makes a mutating hypercall or the whole-process run rewrites the mock's state file.
 *
 * Environment: BENCH_SIZES (default 10,100,1000), BENCH_RUNS (default 15). A run that fails is
 * reported with its exit code (and timed all the same), not hidden.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../lib/backend/backend.js';
import { InstalledStore, loadTrustedKeys, syncHost } from '../../lib/lifecycle/index.js';
import { openMockBackend } from '../../lib/mock/index.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { PayloadRegistry } from '../../lib/workflow/registry.js';
import { payloadStatus } from '../../lib/workflow/status.js';
import { type Fleet, setUpFleet } from './fleet.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const XLP = join(ROOT, 'bin', 'xlp.js');
const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

interface Row {
  readonly name: string;
  /** The command line, for a fleet. */
  readonly args: (f: Fleet) => string[];
  /** It changes the hypervisor: each run gets a fresh copy of the mock. */
  readonly mutates: boolean;
  /** The same work in-process (what the command calls), for counting hypercalls. */
  readonly inProcess: (lp: Livepatcher, backend: Backend, f: Fleet) => Promise<unknown>;
  /** It has nothing to do here: a mutating hypercall or a rewritten state file fails the benchmark. */
  readonly mustNotChange?: boolean;
  /** Makes the host this command runs on from a copy of the fleet (default: the fleet itself). */
  readonly host?: (f: Fleet, dir: string) => Promise<void>;
}

/** An empty directory of trusted keys: payloads need no signature (XLP_TRUST_DIR for every run). */
let trustDir = '';

const top = (f: Fleet) => f.stack.at(-1)!;
const ROWS: readonly Row[] = [
  { name: 'list', args: () => ['list'], mutates: false, inProcess: (_lp, b) => b.list() },
  {
    name: 'status NAME',
    args: (f) => ['status', f.checked[0]!],
    mutates: false,
    inProcess: (_lp, b, f) => payloadStatus(b, f.checked[0]!),
  },
  { name: 'stack', args: () => ['stack'], mutates: false, inProcess: (lp) => lp.stack() },
  {
    name: 'replace --dry-run',
    args: (f) => ['replace', '--dry-run', f.checked[0]!],
    mutates: false,
    inProcess: (lp, _b, f) => lp.planReplace(f.checked[0]!),
  },
  {
    name: 'replace --sequential --dry-run',
    args: (f) => ['replace', '--sequential', '--dry-run', f.checked[0]!],
    mutates: false,
    inProcess: (lp, _b, f) => lp.planReplace(f.checked[0]!, { sequential: true }),
  },
  { name: 'replace (atomic)', args: (f) => ['replace', f.checked[0]!], mutates: true, inProcess: (lp, _b, f) => lp.replace(f.checked[0]!) },
  { name: 'apply TOP (nothing to do)', args: (f) => ['apply', top(f)], mutates: false, inProcess: (lp, _b, f) => lp.apply(top(f)) },
  {
    name: 'revert SPARE (nothing to do)',
    args: (f) => ['revert', f.checked[0]!],
    mutates: false,
    inProcess: (lp, _b, f) => lp.revert(f.checked[0]!),
  },
  {
    name: 'sync (nothing to do)',
    args: () => ['sync'],
    mutates: false,
    mustNotChange: true,
    // A synced host: the applied stack is the installed set, and the payloads loaded besides it
    // are another tool's (no record in xlp's registry), which sync reports as drift and leaves.
    // (Had xlp uploaded them, sync would unload them: they are not installed.)
    host: async (f, dir) => {
      const registry = PayloadRegistry.inStateDir(join(dir, 'workflow'), { durable: false });
      for (const name of f.checked) await registry.forget(name);
      await installStack(f, dir);
    },
    // What `xlp sync` calls (lib/cli/commands/sync.ts), on the same installed store.
    inProcess: async (lp) => {
      const report = await syncHost(lp, new InstalledStore(lp.stateDir), await loadTrustedKeys(trustDir));
      if (report.changed || report.plan.steps.length)
        throw new Error(`sync had something to do: ${report.plan.steps.map((s) => `${s.action} ${s.payload}`).join(', ')}`);
    },
  },
];

/** Installs the fleet's applied stack (`xlp install`) on the host in `dir` (a copy of the fleet). */
async function installStack(f: Fleet, dir: string): Promise<void> {
  const files = join(dirname(dir), `${basename(dir)}-installed-files`);
  await mkdir(files, { recursive: true });
  const paths: string[] = [];
  for (const name of f.stack) {
    paths.push(join(files, `${name}.livepatch`));
    await writeFile(paths.at(-1)!, f.bytes.get(name)!);
  }
  const r = await run([XLP, 'install', ...paths], envFor(dir));
  if (r.code !== 0) throw new Error(`xlp install of the fleet's stack exited ${r.code}: ${r.err}`);
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; ms: number; err: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, ms: performance.now() - t0, err }));
  });
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function envFor(mockDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', XLP_BACKEND: 'mock', XLP_MOCK_STATE: mockDir, XLP_TRUST_DIR: trustDir };
  for (const k of Object.keys(env)) if (k.startsWith('XLP_FAULT')) delete env[k];
  return env;
}

async function stateStamp(mockDir: string): Promise<string> {
  const s = await stat(join(mockDir, 'state.json'), { bigint: true });
  return `${s.ino}:${s.mtimeNs}:${s.size}`;
}

/** Counts the backend calls made through it. */
function counting(backend: Backend): { backend: Backend; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const proxy = new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...args: unknown[]) => {
        counts.set(String(prop), (counts.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { backend: proxy, counts };
}

interface Measured {
  readonly medianMs: number;
  readonly overNodeMs: number;
  /** The exit code of a run that failed (a failure is reported, not hidden by a median). */
  readonly failedWith: number | null;
  readonly hypercalls: number;
  readonly mutating: number;
  readonly xPresses: number;
  /** The error the in-process run threw, if it did. */
  readonly threw: string | null;
  readonly stateWritten: boolean;
}

/**
 * What the simulator itself costs a process: opening the persisted mock and its first hypercall,
 * which reads and decodes its state file (every payload's record) and checks each payload's bytes
 * are there. A real hypervisor has no such cost; it is part of every command's time here.
 */
async function mockFirstCall(mockDir: string, f: Fleet): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    const mock = await openMockBackend({ stateDir: mockDir, ifMissing: 'error' });
    await mock.get(f.checked[0]!);
    samples.push(performance.now() - t);
    await mock.close();
  }
  return median(samples.slice(2));
}

const tmp = await mkdtemp(join(tmpdir(), 'xlp-growth-'));
trustDir = join(tmp, 'trusted-keys');
await mkdir(trustDir, { mode: 0o700 });
const results = new Map<number, Map<string, Measured>>();
const nodeFloor = new Map<number, number>();
const mockCost = new Map<number, { ms: number; stateBytes: number }>();
try {
  for (const size of SIZES) {
    const t0 = performance.now();
    const pristine = join(tmp, `fleet-${size}`, 'mock');
    const fleet = await setUpFleet(pristine, { loaded: size, applied: Math.max(1, Math.round(size / 10)) });
    // Each row's host: the fleet, or a copy made for it.
    const hostOf = new Map<string, string>();
    for (const row of ROWS) {
      if (!row.host) continue;
      const dir = join(tmp, `fleet-${size}`, `host-${hostOf.size}`);
      await cp(pristine, dir, { recursive: true });
      await row.host(fleet, dir);
      hostOf.set(row.name, dir);
    }
    console.error(`${size} payloads loaded, ${fleet.stack.length} applied (set up in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    mockCost.set(size, { ms: await mockFirstCall(pristine, fleet), stateBytes: Number((await stat(join(pristine, 'state.json'))).size) });

    // Hypercalls, in-process, each on a fresh copy.
    const counted = new Map<string, { hypercalls: number; mutating: number; xPresses: number; threw: string | null }>();
    for (const row of ROWS) {
      const dir = join(tmp, `count-${size}`);
      await cp(hostOf.get(row.name) ?? pristine, dir, { recursive: true });
      const mock = await openMockBackend({ stateDir: dir, ifMissing: 'error', durable: false });
      const { backend, counts } = counting(mock);
      const lp = await Livepatcher.open({ backend, stateDir: join(dir, 'workflow') });
      let threw: string | null = null;
      try {
        await row.inProcess(lp, backend, fleet);
      } catch (error) {
        threw = error instanceof Error ? error.name : String(error);
        if (row.mustNotChange)
          console.error(`${row.name} (${size} loaded), in-process: ${error instanceof Error ? error.message : String(error)}`);
      }
      await lp.close();
      await rm(dir, { recursive: true, force: true });
      const n = (k: string) => counts.get(k) ?? 0;
      counted.set(row.name, {
        hypercalls: [...counts.values()].reduce((a, b) => a + b, 0),
        mutating: n('upload') + n('action'),
        xPresses: n('sendDebugKeys'),
        threw,
      });
    }

    // Whole-process times, interleaved with node -e 0.
    const env = envFor(pristine);
    const samples = new Map<string, number[]>([['node -e 0', []], ...ROWS.map((r) => [r.name, []] as [string, number[]])]);
    const written = new Map<string, boolean>();
    const failed = new Map<string, number>();
    for (let i = 0; i < RUNS + 1; i++) {
      const floor = await run(['-e', '0'], env);
      if (i > 0) samples.get('node -e 0')!.push(floor.ms);
      for (const row of ROWS) {
        const host = hostOf.get(row.name) ?? pristine;
        let dir = host;
        if (row.mutates) {
          dir = join(tmp, `run-${size}`);
          await rm(dir, { recursive: true, force: true });
          await cp(host, dir, { recursive: true });
        }
        const before = await stateStamp(dir);
        const r = await run([XLP, ...row.args(fleet)], dir === pristine ? env : envFor(dir));
        if (r.code !== 0) {
          if (!failed.has(row.name)) console.error(`xlp ${row.args(fleet).join(' ')} (${size} loaded) exited ${r.code}: ${r.err.trim()}`);
          failed.set(row.name, r.code ?? -1);
        }
        if (i === 0) written.set(row.name, before !== (await stateStamp(dir)));
        else samples.get(row.name)!.push(r.ms);
      }
    }
    const floor = median(samples.get('node -e 0')!);
    nodeFloor.set(size, floor);
    const bySize = new Map<string, Measured>();
    for (const row of ROWS) {
      const m = median(samples.get(row.name)!);
      bySize.set(row.name, {
        medianMs: m,
        overNodeMs: m - floor,
        failedWith: failed.get(row.name) ?? null,
        ...counted.get(row.name)!,
        stateWritten: written.get(row.name)!,
      });
    }
    results.set(size, bySize);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report
const ms = (x: number) => `${x.toFixed(1)}`.padStart(7);
console.log(`cost growth: whole-process median of ${RUNS} runs each, ms over \`node -e 0\` measured alongside (node ${process.version})`);
console.log(`node -e 0 itself: ${SIZES.map((s) => `${ms(nodeFloor.get(s)!).trim()} ms at ${s}`).join(', ')}\n`);
const slopeHeads = SIZES.slice(1).map((s, i) => `µs/payload ${SIZES[i]}->${s}`);
console.log(
  `${'command'.padEnd(32)}${SIZES.map((s) => `${s} loaded`.padStart(16)).join('')}${slopeHeads.map((h) => h.padStart(24)).join('')}`,
);
for (const row of ROWS) {
  const m = SIZES.map((s) => results.get(s)!.get(row.name)!);
  const over = m.map((x) => x.overNodeMs);
  const slopes = SIZES.slice(1).map((s, i) => ((over[i + 1]! - over[i]!) * 1000) / (s - SIZES[i]!));
  const cell = (x: Measured) => `${x.failedWith === null ? '' : `exit ${x.failedWith} `}+${ms(x.overNodeMs).trim()}`.padStart(16);
  console.log(`${row.name.padEnd(32)}${m.map(cell).join('')}${slopes.map((x) => x.toFixed(1).padStart(24)).join('')}`);
}
console.log(
  `\nfor reference, the persisted mock's own start (open, read and decode its state file, first hypercall; in-process, warm): ` +
    SIZES.map(
      (s) => `${mockCost.get(s)!.ms.toFixed(1)} ms at ${s} (state file ${(mockCost.get(s)!.stateBytes / 1024).toFixed(0)} KiB)`,
    ).join(', '),
);
console.log(
  '\nhypercalls (in-process, same code path): total / mutating (UPLOAD, ACTION) / x presses; whole process: state file rewritten',
);
console.log(`${'command'.padEnd(32)}${SIZES.map((s) => `${s} loaded`.padStart(30)).join('')}`);
for (const row of ROWS) {
  const cells = SIZES.map((s) => {
    const m = results.get(s)!.get(row.name)!;
    return `${m.hypercalls} / ${m.mutating} / ${m.xPresses}${m.threw ? ` (${m.threw})` : ''} ${m.stateWritten ? 'written' : 'unchanged'}`.padStart(
      30,
    );
  });
  console.log(`${row.name.padEnd(32)}${cells.join('')}`);
}

// Commands with nothing to do must change nothing, at every size.
const changed = ROWS.filter((r) => r.mustNotChange).flatMap((row) =>
  SIZES.flatMap((size) => {
    const m = results.get(size)!.get(row.name)!;
    const why = [
      m.mutating ? `${m.mutating} mutating hypercall(s)` : '',
      m.stateWritten ? 'the state file rewritten' : '',
      m.threw ? `threw ${m.threw}` : '',
      m.failedWith !== null ? `exit ${m.failedWith}` : '',
    ].filter(Boolean);
    return why.length ? [`${row.name} with ${size} loaded: ${why.join(', ')}`] : [];
  }),
);
if (changed.length) {
  console.log(`\nNOT met: a command with nothing to do changed the hypervisor or failed:\n  ${changed.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(
    `\n${ROWS.filter((r) => r.mustNotChange)
      .map((r) => r.name)
      .join(', ')}: no mutating hypercall and the state file untouched at ${SIZES.join(', ')} payloads: met`,
  );
}
