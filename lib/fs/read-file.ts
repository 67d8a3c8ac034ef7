import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';

/** Why `readRegularFile` read nothing: the file could not be opened, is not a regular file, or is larger than allowed. */
export type ReadFileProblem = 'open' | 'not-regular' | 'too-large';

export class ReadFileError extends Error {
  override readonly name = 'ReadFileError';

  constructor(
    readonly path: string,
    readonly problem: ReadFileProblem,
    /** The positive errno: open's own, EISDIR or EINVAL for something not a regular file, EFBIG when too large. */
    readonly errno: number,
    message: string,
    /** The file's size when it was refused as too large. */
    readonly size?: number,
  ) {
    super(message);
  }
}

const { EINVAL, EISDIR, EFBIG, EIO } = osConstants.errno;

/**
 * Reads a whole regular file, checking its size before reading it (`maxSize`). It is opened
 * without blocking, so a FIFO or a device is refused, not waited on, and read in a loop up to the
 * size it had when checked (a file that grows meanwhile is not read past it).
 */
export async function readRegularFile(path: string, options: { readonly maxSize?: number } = {}): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ReadFileError(path, 'open', -(err.errno ?? -EIO), err.message);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ReadFileError(path, 'not-regular', st.isDirectory() ? EISDIR : EINVAL, `${path}: not a regular file`);
    if (st.size > (options.maxSize ?? Infinity)) {
      throw new ReadFileError(path, 'too-large', EFBIG, `${path} is ${st.size} bytes, more than ${options.maxSize}`, st.size);
    }
    const bytes = Buffer.alloc(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await fh.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } finally {
    await fh.close();
  }
}
