/**
 * Reading a file of a private state directory as the untrusted input it is: never through a
 * symlink (O_NOFOLLOW), never blocking on a FIFO or a device (O_NONBLOCK, then only a regular file
 * is read), only a file of this user that nobody else may write, and never more than a bound. Each
 * refusal names the file and why, so the stores can turn it into their own typed error.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

export type PrivateFileProblem = 'symlink' | 'not-a-file' | 'foreign-owner' | 'group-or-world-writable' | 'too-large' | 'unreadable';

export class PrivateFileError extends Error {
  override readonly name = 'PrivateFileError';
  readonly code = 'EPRIVATEFILE';
  constructor(
    readonly path: string,
    readonly problem: PrivateFileProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface PrivateFileOptions {
  /** The largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** For tests: the uid the file must belong to (default this process's). */
  readonly uid?: number | null;
}

function describeErrno(e: NodeJS.ErrnoException): string {
  return e.code ? `${e.code}${e.message.includes(e.code) ? '' : `: ${e.message}`}` : e.message;
}

/**
 * The bytes of `path`, or null when it does not exist. Throws `PrivateFileError` for anything but a
 * regular file of this user that is not writable by others and at most `maxBytes` long.
 */
export async function readPrivateFile(path: string, options: PrivateFileOptions): Promise<Buffer | null> {
  return readPrivateFileSync(path, options);
}

/**
 * `readPrivateFile` in system calls made here, not on Node's thread pool: a state file is a few
 * kilobytes on a local disk, where a thread-pool round trip per call (open, fstat, read, close)
 * costs more than the calls themselves (`npm run bench:workflow`).
 */
export function readPrivateFileSync(path: string, options: PrivateFileOptions): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ELOOP') throw new PrivateFileError(path, 'symlink', `${path} is a symbolic link; refusing to follow it`, { cause: e });
    if (e.code === 'ENXIO' || e.code === 'ENODEV')
      throw new PrivateFileError(path, 'not-a-file', `${path} is not a regular file`, { cause: e });
    throw new PrivateFileError(path, 'unreadable', `${path} cannot be read (${describeErrno(e)})`, { cause: e });
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw new PrivateFileError(path, 'not-a-file', `${path} is not a regular file`);
    const uid = options.uid !== undefined ? options.uid : typeof process.getuid === 'function' ? process.getuid() : null;
    if (uid !== null && s.uid !== uid)
      throw new PrivateFileError(path, 'foreign-owner', `${path} belongs to uid ${s.uid}, not to this user (uid ${uid})`);
    if ((s.mode & 0o022) !== 0)
      throw new PrivateFileError(
        path,
        'group-or-world-writable',
        `${path} is writable by other users (mode ${(s.mode & 0o777).toString(8)})`,
      );
    if (s.size > options.maxBytes)
      throw new PrivateFileError(path, 'too-large', `${path} is ${s.size} bytes, more than the ${options.maxBytes} accepted`);
    let data: Buffer;
    try {
      data = readFileSync(fd);
    } catch (error) {
      throw new PrivateFileError(path, 'unreadable', `${path} cannot be read (${describeErrno(error as NodeJS.ErrnoException)})`, {
        cause: error,
      });
    }
    // It may have grown between the stat and the read.
    if (data.length > options.maxBytes)
      throw new PrivateFileError(path, 'too-large', `${path} is more than the ${options.maxBytes} bytes accepted`);
    return data;
  } finally {
    closeSync(fd);
  }
}
