import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CACHE = join(ROOT, '.cache');
export const RELEASE_ADDON = join(ROOT, 'build', 'Release', 'xen_livepatch.node');

/** A fresh directory for built files the tests execute or load (inside the repository: /tmp may be noexec). */
export function workDir(prefix: string): string {
  const base = join(CACHE, 'work');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The compiled entry point of lib/native, for tests that run it in a child process. `npm test`
 * compiles dist/ first; a stale dist/ would test old code, so that is an error, not a skip.
 */
export function distNativeEntry(): string {
  const entry = join(ROOT, 'dist', 'native', 'index.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime(join(ROOT, 'lib', 'native'))) {
    throw new Error('dist/ is missing or older than lib/native: run `npm test` (or `npx tsc -p tsconfig.build.json`) first');
  }
  return entry;
}
