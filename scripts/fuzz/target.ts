/**
 * What a fuzz target is: a deterministic generator of inputs (input `index` of a run with `seed` is
 * always the same) and a check that throws when an input reveals a bug. The engine (engine.ts)
 * runs a target in a worker thread under a per-input time limit.
 */
export interface FuzzContext {
  /** The repository root. */
  readonly root: string;
  /** The `lib/` tree under test: the repository's, or a copy with a planted bug (experiments). */
  readonly lib: string;
  readonly seed: number;
  /** A directory of this target's own, removed after the run. */
  readonly scratch: string;
}

export interface SavedInput {
  /** File name extension of the counterexample (`livepatch`, `txt`, `json`). */
  readonly ext: string;
  readonly data: string | Uint8Array;
}

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  setup(ctx: FuzzContext): Promise<void>;
  /** Input `index` of the run with `seed`; the same every time. */
  generate(seed: number, index: number): I;
  /** Throws (or rejects) when the input shows a bug; the message says which oracle failed. */
  check(input: I): void | Promise<void>;
  /** The input as a file, for replaying it with other tools (readelf, xlp check, xlp). */
  save(input: I): SavedInput;
  /** Counts of what the oracles saw (e.g. how many inputs were compared with readelf). */
  stats?(): Record<string, number>;
  teardown?(): Promise<void>;
}

/** A target module's default export. */
export type TargetFactory = () => FuzzTarget;

/** A check failed: the message says which oracle and why. */
export class FuzzFinding extends Error {
  override readonly name = 'FuzzFinding';
}

export function finding(message: string): never {
  throw new FuzzFinding(message);
}
