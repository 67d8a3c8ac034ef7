/**
 * Vitest global setup: every test run gets its own temporary directory (TMPDIR, which os.tmpdir()
 * and the processes the tests start honour), and the run fails if a test left anything in it.
 * Tests clean up after themselves; this is the check that they do, and it keeps runs from
 * filling /tmp (and from seeing each other's files when several run at once).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'xlp-test-run-'));
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    // Tools keep caches there, which the run's directory takes away with it: tsx (tsx-<uid>, for the
    // child processes that run TypeScript) and prebuildify (its build directory).
    const left = readdirSync(dir).filter((name) => !/^(tsx-\d+|prebuildify)$/.test(name));
    rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) {
      process.exitCode = 1;
      throw new Error(`tests left ${left.length} entries in their temporary directory (each test removes what it creates): ${left.sort().join(', ')}`);
    }
  };
}
