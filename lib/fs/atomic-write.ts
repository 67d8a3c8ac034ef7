/**
 * Crash-safe file replacement: a reader sees either the old content or the new, never a torn
 * write. The data goes to a temporary file in the same directory (rename is only atomic within a
 * file system), is fsync'ed, renamed over the target, and the directory is fsync'ed so the rename
 * itself survives a power cut.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { uniqueId } from './unique-id.js';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o600: state files are private). */
  readonly mode?: number;
  /** Skip the fsyncs (tests and benchmarks on throw-away directories only). */
  readonly durable?: boolean;
}

/** Replaces `path` with `data` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${uniqueId(12)}`);
  const fh = await open(tmp, 'wx', options.mode ?? 0o600);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (error) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw error;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dir);
}

/** fsync a directory so that entries created or renamed in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
