/**
 * stdout and stderr as xlp writes them: straight to the file descriptor. Node's `process.stdout`
 * is a stream object whose creation loads the `net` and `stream` modules when the output is a pipe,
 * which every start of `xlp` would pay before printing a line (`npm run bench:cli`). A write to a
 * pipe or file is synchronous either way on Linux, so nothing is lost by writing directly.
 */
import { fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Where Output writes: a standard stream, or in tests anything with `write`. */
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Linux's major number of /dev/null, /dev/zero, /dev/full, /dev/random and the like. */
const MEMORY_DEVICES_MAJOR = 1;

/** The major number of a Linux device number (glibc's gnu_dev_major, for numbers below 2^32). */
function deviceMajor(rdev: number): number {
  return (rdev >>> 8) & 0xfff;
}

export class StdStream implements TextSink {
  /** Set once the descriptor would block (a non-blocking pipe that is full): Node's stream queues from then on. */
  private stream: NodeJS.WritableStream | undefined;
  /** The reader went away (EPIPE): later writes are dropped, and the command runs to its end. */
  private closed = false;
  private tty: boolean | undefined;

  /** `fd`: 1 or 2 (other descriptors in tests). */
  constructor(private readonly fd: number) {}

  /**
   * A terminal? Only a character device can be one, and not one of the memory devices (major 1:
   * /dev/null, /dev/zero, ...) where output is often thrown away: Node's `tty` module, which loads
   * the network streams, is asked about the others only.
   */
  get isTTY(): boolean {
    if (this.tty === undefined) {
      let device = false;
      try {
        const st = fstatSync(this.fd);
        device = st.isCharacterDevice() && deviceMajor(st.rdev) !== MEMORY_DEVICES_MAJOR;
      } catch {
        device = false;
      }
      this.tty = device && (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(this.fd);
    }
    return this.tty;
  }

  write(text: string): boolean {
    if (this.closed) return true;
    if (this.stream) return this.stream.write(text);
    const bytes = Buffer.from(text, 'utf8');
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(this.fd, bytes, done);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A reader that goes away (`xlp list | head`) is not an error of ours: stop writing, but
        // let the command finish, so a workflow still releases its lock and closes its journal.
        if (code === 'EPIPE') {
          this.closed = true;
          return true;
        }
        if (code !== 'EAGAIN') throw error;
        return this.handOver(bytes.subarray(done));
      }
    }
    return true;
  }

  /** The rest, and all later writes, through a Node stream, which waits for a full non-blocking pipe. */
  private handOver(rest: Uint8Array): boolean {
    const stream: NodeJS.WritableStream =
      this.fd === 1
        ? process.stdout
        : this.fd === 2
          ? process.stderr
          : new (createRequire(import.meta.url)('node:net') as typeof import('node:net')).Socket({
              fd: this.fd,
              readable: false,
              writable: true,
            });
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      this.closed = true;
    });
    this.stream = stream;
    return stream.write(rest);
  }
}

let out: StdStream | undefined;
let err: StdStream | undefined;

/** The process's stdout, one writer for the whole process (its EPIPE and hand-over state is shared). */
export function stdout(): StdStream {
  return (out ??= new StdStream(1));
}

export function stderr(): StdStream {
  return (err ??= new StdStream(2));
}
