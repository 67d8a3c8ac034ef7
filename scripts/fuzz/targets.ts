/**
 * The fuzz targets `npm run fuzz` knows, by name. A target is a module whose default export makes
 * a `FuzzTarget` (target.ts); add new ones here.
 */
export interface TargetEntry {
  readonly name: string;
  /** Module path relative to this directory. */
  readonly module: string;
  readonly description: string;
  /** Time limit per input in ms: an input that runs longer is a hang (a bug), and it is saved. */
  readonly timeLimitMs: number;
}

export const FUZZ_TARGETS: readonly TargetEntry[] = [
  {
    name: 'elf',
    module: './elf.ts',
    description: 'payload files: readElf, readPayload and preflight on targeted mutations of every fixture',
    timeLimitMs: 5_000,
  },
  {
    name: 'console',
    module: './console.ts',
    description: "the hypervisor's livepatch console lines (classify, eventsFor)",
    timeLimitMs: 2_000,
  },
  { name: 'debug-dump', module: './debug-dump.ts', description: "the answer to debug key 'x' (parseDebugDump)", timeLimitMs: 2_000 },
  {
    name: 'cli-args',
    module: './cli-args.ts',
    description: 'xlp command lines, run in-process against a mock hypervisor',
    timeLimitMs: 20_000,
  },
];
