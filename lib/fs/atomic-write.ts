/**
 * Crash-safe file replacement: a reader sees either the old content or the new, never a torn
 * write. The data goes to a temporary file in the same directory (rename is only atomic within a
 * file system), is fsync'ed, renamed over the target, and the directory is fsync'ed so the rename
 * itself survives a power cut.
 */
import { closeSync, fsync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { uniqueId } from './unique-id.js';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o600: state files are private). */
  readonly mode?: number;
  /** Skip the fsyncs (tests and benchmarks on throw-away directories only). */
  readonly durable?: boolean;
}

/**
 * Replaces `path` with `data` atomically. The calls are made here, not on Node's thread pool (a
 * state file is a few kilobytes on a local disk: a round trip to the pool per open, write, close
 * and rename costs more than the calls, `npm run bench:workflow`);
 * only the fsyncs, which wait for the disk, go to the pool.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${uniqueId(12)}`);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
  try {
    writeFileSync(fd, data);
    if (durable) await fsyncFd(fd);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // the write's error is the one to report
    }
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dir);
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/** fsync a directory so that entries created or renamed in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
