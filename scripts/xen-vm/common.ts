// Shared helpers for the real-hypervisor harness: cache location, child processes, hashing.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HARNESS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HARNESS_DIR, '..', '..');

/** Cache root: `XLP_XEN_CACHE`, else `.cache/xen-vm/` in the repository. */
export function cacheDir(sub?: string): string {
  const root = process.env.XLP_XEN_CACHE ? resolve(process.env.XLP_XEN_CACHE) : join(REPO_ROOT, '.cache', 'xen-vm');
  const dir = sub ? join(root, sub) : root;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** Runs a program (no shell) and throws with its stderr when it fails. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  const res = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), status: r.status ?? -1 };
  if (res.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}${r.signal ? ` (${r.signal})` : ''}\n${res.stderr.trim()}`);
  }
  return res;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export function log(msg: string): void {
  if (!process.env.XLP_XEN_QUIET) process.stderr.write(`[xen-vm] ${msg}\n`);
}
