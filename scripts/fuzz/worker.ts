/**
 * Runs one fuzz target over a range of input indexes, in a worker thread. Before each input it
 * publishes the input's index and bytes in shared memory, so that the engine, which watches the
 * clock from the main thread, can save an input that never finishes (a hang) after terminating
 * this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { FuzzTarget, TargetFactory } from './target.js';

export interface WorkerInput {
  readonly module: string;
  readonly root: string;
  readonly lib: string;
  readonly scratch: string;
  readonly seed: number;
  readonly start: number;
  readonly count: number;
  readonly keepGoing: boolean;
  /** Int32 [0]: inputs started so far (the one running is start + value - 1). */
  readonly progress: SharedArrayBuffer;
  /** Int32 [0]: byte length of the running input (-1: too large to keep); bytes from offset 8. */
  readonly current: SharedArrayBuffer;
}

export type WorkerMessage =
  | { readonly kind: 'ready'; readonly ext: string }
  | { readonly kind: 'finding'; readonly index: number; readonly message: string; readonly ext: string; readonly data: Uint8Array }
  | { readonly kind: 'done'; readonly completed: number; readonly stats: Record<string, number> };

const data = workerData as WorkerInput;
const port = parentPort!;
const progress = new Int32Array(data.progress);
const header = new Int32Array(data.current, 0, 1);
const body = new Uint8Array(data.current, 8);
const encoder = new TextEncoder();

function publish(bytes: string | Uint8Array): Uint8Array {
  const b = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  if (b.length <= body.length) {
    body.set(b);
    header[0] = b.length;
  } else header[0] = -1;
  return b;
}

const factory = ((await import(pathToFileURL(data.module).href)) as { default: TargetFactory }).default;
const target: FuzzTarget = factory();
await target.setup({ root: data.root, lib: data.lib, seed: data.seed, scratch: data.scratch });
let ext = 'bin';
let completed = 0;
for (let k = 0; k < data.count; k++) {
  const index = data.start + k;
  const input = target.generate(data.seed, index);
  const saved = target.save(input);
  if (k === 0) {
    ext = saved.ext;
    port.postMessage({ kind: 'ready', ext } satisfies WorkerMessage);
  }
  const bytes = publish(saved.data);
  Atomics.store(progress, 0, k + 1);
  try {
    const r = target.check(input);
    if (r instanceof Promise) await r;
  } catch (error) {
    // A finding says what it found; anything else that was thrown is a bug of its own: keep its stack.
    const message =
      error instanceof Error
        ? error.name === 'FuzzFinding'
          ? error.message
          : (error.stack ?? `${error.name}: ${error.message}`)
        : String(error);
    port.postMessage({ kind: 'finding', index, message, ext, data: bytes } satisfies WorkerMessage);
    if (!data.keepGoing) break;
  }
  completed++;
}
await target.teardown?.();
port.postMessage({ kind: 'done', completed, stats: target.stats?.() ?? {} } satisfies WorkerMessage);
