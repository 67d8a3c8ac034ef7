/**
 * Vitest global setup: every test run gets its own temporary directory (TMPDIR, which os.tmpdir()
 * and the processes the tests start honour), and the run fails if a test left anything in it.
 * Tests clean up after themselves; this is the check that they do, and it keeps runs from
 * filling /tmp (and from seeing each other's files when several run at once).
 *
 * Each vitest project runs its global setup (main and one bridge project per libxenctrl
 * generation), in one process, with teardowns in no promised order: the first setup makes the
 * directory, the others share it, and the last teardown checks and removes it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface RunDir {
  readonly dir: string;
  readonly previous: string | undefined;
  users: number;
}
const KEY = Symbol.for('xen-livepatch.test-run-tmpdir');
const shared = globalThis as { [KEY]?: RunDir };

export default function setup(): () => void {
  let run = shared[KEY];
  if (!run) {
    const previous = process.env.TMPDIR;
    run = { dir: mkdtempSync(join(tmpdir(), 'xlp-test-run-')), previous, users: 0 };
    shared[KEY] = run;
    process.env.TMPDIR = run.dir;
  }
  run.users++;
  const mine = run;
  return () => {
    if (--mine.users > 0) return;
    delete shared[KEY];
    if (mine.previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = mine.previous;
    // Tools keep caches there, which the run's directory takes away with it: tsx (tsx-<uid>, for the
    // child processes that run TypeScript) and prebuildify (its build directory).
    const left = readdirSync(mine.dir).filter((name) => !/^(tsx-\d+|prebuildify)$/.test(name));
    rmSync(mine.dir, { recursive: true, force: true });
    if (left.length > 0) {
      process.exitCode = 1;
      throw new Error(
        `tests left ${left.length} entries in their temporary directory (each test removes what it creates): ${left.sort().join(', ')}`,
      );
    }
  };
}
