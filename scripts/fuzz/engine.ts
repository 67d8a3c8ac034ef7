/**
 * Runs a fuzz target in a worker thread and watches it from this thread: an input that takes longer
 * than the time limit is a hang (a bug), so the worker is terminated (which stops even a tight
 * loop) and the input it was running is saved as a counterexample, like an input that threw.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TargetEntry } from './targets.js';
import type { WorkerInput, WorkerMessage } from './worker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Largest input kept in shared memory for the watchdog (bigger ones are replayed by index). */
const CURRENT_BYTES = 8 << 20;
/** A target's setup (building fixtures, a mock) may take this long before its first input. */
const SETUP_LIMIT_MS = 10 * 60_000;

export interface RunOptions {
  readonly entry: TargetEntry;
  readonly root: string;
  readonly lib: string;
  readonly seed: number;
  /** First input index, and how many inputs. */
  readonly start: number;
  readonly count: number;
  readonly timeLimitMs: number;
  /** Where counterexamples are written. */
  readonly outDir: string;
  /** Go on after a finding (the long run counts them all); otherwise stop at the first. */
  readonly keepGoing: boolean;
  /** Called about every `progressEveryMs` with the inputs done so far. */
  readonly onProgress?: (done: number) => void;
  readonly progressEveryMs?: number;
}

export interface Finding {
  readonly index: number;
  readonly kind: 'exception' | 'timeout' | 'crash';
  readonly message: string;
  /** The saved input, when it could be kept. */
  readonly file: string | null;
}

export interface TargetRun {
  readonly name: string;
  readonly seed: number;
  readonly start: number;
  /** Inputs that ran to the end of their check. */
  readonly inputs: number;
  readonly ms: number;
  readonly findings: readonly Finding[];
  readonly stats: Record<string, number>;
}

/** At most this many counterexample files per target and run. */
const KEEP_FILES = 5;

export async function runTarget(o: RunOptions): Promise<TargetRun> {
  const started = performance.now();
  const findings: Finding[] = [];
  const stats: Record<string, number> = {};
  let inputs = 0;
  let from = o.start;
  const end = o.start + o.count;
  const scratch = mkdtempSync(join(tmpdir(), `xlp-fuzz-${o.entry.name}-`));
  mkdirSync(o.outDir, { recursive: true });
  const save = (index: number, ext: string, data: Uint8Array | null): string | null => {
    if (!data || findings.length >= KEEP_FILES) return null;
    const file = join(o.outDir, `${o.entry.name}-seed${o.seed}-input${index}.${ext}`);
    writeFileSync(file, data);
    return file;
  };
  try {
    while (from < end) {
      const r = await runWorker(o, from, end - from, scratch, save);
      inputs += r.completed;
      for (const [k, v] of Object.entries(r.stats)) stats[k] = (stats[k] ?? 0) + v;
      findings.push(...r.findings);
      if (r.stoppedAt === null) break;
      if (!o.keepGoing) break;
      from = r.stoppedAt + 1; // a hang or crash ends the worker: go on after that input
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { name: o.entry.name, seed: o.seed, start: o.start, inputs, ms: performance.now() - started, findings, stats };
}

interface WorkerRun {
  readonly completed: number;
  readonly stats: Record<string, number>;
  readonly findings: Finding[];
  /** Index of the input the worker died on (hang or crash), or null when it ended normally. */
  readonly stoppedAt: number | null;
}

function runWorker(
  o: RunOptions,
  start: number,
  count: number,
  scratch: string,
  save: (index: number, ext: string, data: Uint8Array | null) => string | null,
): Promise<WorkerRun> {
  const progress = new SharedArrayBuffer(8);
  const current = new SharedArrayBuffer(8 + CURRENT_BYTES);
  const data: WorkerInput = {
    module: join(HERE, o.entry.module),
    root: o.root,
    lib: o.lib,
    scratch,
    seed: o.seed,
    start,
    count,
    keepGoing: o.keepGoing,
    progress,
    current,
  };
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
  const started = new Int32Array(progress);
  const header = new Int32Array(current, 0, 1);
  const findings: Finding[] = [];
  let ext = 'bin';
  const running = (): number => start + Atomics.load(started, 0) - 1;
  const runningInput = (): Uint8Array | null => {
    const n = header[0]!;
    return n < 0 ? null : new Uint8Array(current, 8, n).slice();
  };

  return new Promise<WorkerRun>((resolve) => {
    let settled = false;
    let lastSeen = 0;
    let lastChange = performance.now();
    let lastProgress = performance.now();
    const finish = (r: WorkerRun) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve(r);
    };
    const stopOn = (kind: 'timeout' | 'crash', message: string) => {
      const index = running();
      const input = Atomics.load(started, 0) > 0 ? runningInput() : null;
      findings.push({ index, kind, message, file: save(index, ext, input) });
      void worker.terminate();
      finish({ completed: Math.max(0, Atomics.load(started, 0) - 1), stats: {}, findings, stoppedAt: index });
    };
    const timer = setInterval(
      () => {
        const now = performance.now();
        const seen = Atomics.load(started, 0);
        if (seen !== lastSeen) {
          lastSeen = seen;
          lastChange = now;
        }
        const limit = seen === 0 ? SETUP_LIMIT_MS : o.timeLimitMs;
        if (now - lastChange > limit) {
          stopOn(
            'timeout',
            seen === 0
              ? `the target's setup took more than ${limit} ms`
              : `input ${running()} ran for more than ${o.timeLimitMs} ms: a hang`,
          );
        } else if (o.onProgress && now - lastProgress >= (o.progressEveryMs ?? 30_000)) {
          lastProgress = now;
          o.onProgress(start - o.start + Math.max(0, seen - 1));
        }
      },
      Math.max(10, Math.min(100, o.timeLimitMs / 4)),
    );
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') ext = m.ext;
      else if (m.kind === 'finding') {
        findings.push({ index: m.index, kind: 'exception', message: m.message, file: save(m.index, m.ext, m.data) });
      } else if (m.kind === 'done') {
        finish({ completed: m.completed, stats: m.stats, findings, stoppedAt: null });
        void worker.terminate();
      }
    });
    worker.on('error', (error) =>
      stopOn('crash', `the worker died: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    );
    worker.on('exit', (code) => {
      if (!settled) stopOn('crash', `the worker exited with code ${code} before finishing`);
    });
  });
}
