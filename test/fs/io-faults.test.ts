/**
 * What the file helpers do when the disk misbehaves in ways a healthy test machine never shows: a
 * write that fails half-way (ENOSPC), a read that fails after the file was opened (EIO), a file that
 * grows or shrinks between its size check and its read, a short read, a device that refuses opening.
 * Also: which fsyncs a durable write makes, and in which order, since only a power cut would show
 * them otherwise. Faults are injected for the paths a test names, everything else is the real file
 * system: into `node:fs` for the state-file helpers, which make their calls in place (openSync,
 * writeFileSync and readFileSync on a descriptor, renameSync, lstatSync, and the callback fsync),
 * and into `node:fs/promises` for `readRegularFile`, which reads input files through a FileHandle.
 * The test's own file work goes through `node:fs/promises` (whose `open` alone is wrapped).
 */
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../support/scratch.js';

type RealFs = typeof import('node:fs');
type Real = typeof import('node:fs/promises');
type FileHandle = Awaited<ReturnType<Real['open']>>;
type Methods = Partial<Record<keyof FileHandle, unknown>>;

/** The real calls, for the faults that act inside a call (a half-done write, a racing writer). */
const real = await vi.importActual<RealFs>('node:fs');

const faults: {
  /** open(2) of a matching path fails with this error (openSync, and fs/promises' open). */
  open?: { match: (path: string) => boolean; error: NodeJS.ErrnoException };
  /** writeFileSync to a descriptor opened on a matching path runs this instead. */
  write?: { match: (path: string) => boolean; run: (fd: number, data: string | Uint8Array, path: string) => void };
  /** readFileSync of a descriptor opened on a matching path runs this instead. */
  read?: { match: (path: string) => boolean; run: (fd: number, path: string) => Buffer };
  /** fsync of a descriptor opened on a matching path fails with this error. */
  fsync?: { match: (path: string) => boolean; error: NodeJS.ErrnoException };
  /** The FileHandle (fs/promises) of a matching path gets these methods instead of its own. */
  handle?: { match: (path: string) => boolean; methods: (real: FileHandle, path: string) => Methods };
  /** lstat(2) of a matching path fails with this error. */
  lstat?: { match: (path: string) => boolean; error: NodeJS.ErrnoException };
  /** rename(2) runs this first, then fails with `renameError` if set. */
  beforeRename?: (src: string) => void;
  renameError?: NodeJS.ErrnoException;
  /** The fsyncs and renames made, in order. */
  log: string[];
} = { log: [] };

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<RealFs>();
  /** The path each descriptor opened through the mock was opened on. */
  const opened = new Map<number, string>();
  const pathOf = (fd: unknown) => (typeof fd === 'number' ? opened.get(fd) : undefined);
  return {
    ...fs,
    openSync: (...args: Parameters<RealFs['openSync']>) => {
      const path = String(args[0]);
      if (faults.open?.match(path)) throw faults.open.error;
      const fd = fs.openSync(...args);
      opened.set(fd, path);
      return fd;
    },
    closeSync: (fd: number) => {
      opened.delete(fd);
      return fs.closeSync(fd);
    },
    writeFileSync: (...args: Parameters<RealFs['writeFileSync']>) => {
      const path = pathOf(args[0]);
      if (path !== undefined && faults.write?.match(path)) return faults.write.run(args[0] as number, args[1] as string, path);
      return fs.writeFileSync(...args);
    },
    readFileSync: (...args: Parameters<RealFs['readFileSync']>) => {
      const path = pathOf(args[0]);
      if (path !== undefined && faults.read?.match(path)) return faults.read.run(args[0] as number, path);
      return fs.readFileSync(...args);
    },
    fsync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      const path = pathOf(fd) ?? `fd ${fd}`;
      faults.log.push(`sync ${path}`);
      const error = faults.fsync?.match(path) ? faults.fsync.error : undefined;
      if (error) process.nextTick(callback, error);
      else fs.fsync(fd, callback);
    },
    renameSync: (...args: Parameters<RealFs['renameSync']>) => {
      faults.log.push(`rename ${String(args[0])} -> ${String(args[1])}`);
      faults.beforeRename?.(String(args[0]));
      if (faults.renameError) throw faults.renameError;
      return fs.renameSync(...args);
    },
    lstatSync: (...args: Parameters<RealFs['lstatSync']>) => {
      if (faults.lstat?.match(String(args[0]))) throw faults.lstat.error;
      return fs.lstatSync(...args);
    },
  };
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<Real>();
  const open = async (...args: Parameters<Real['open']>) => {
    const path = String(args[0]);
    if (faults.open?.match(path)) throw faults.open.error;
    const fh = await fsp.open(...args);
    if (!faults.handle?.match(path)) return fh;
    const methods = faults.handle.methods(fh, path);
    return new Proxy(fh, {
      get: (target, key) => {
        if (key in methods) return methods[key as keyof FileHandle];
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { ...fsp, open };
});

const { writeFileAtomic } = await import('../../lib/fs/atomic-write.js');
const { PrivateFileError, readPrivateFile } = await import('../../lib/fs/private-file.js');
const { ReadFileError, readRegularFile } = await import('../../lib/fs/read-file.js');
const { ensurePrivateDir } = await import('../../lib/fs/private-dir.js');

afterEach(() => {
  faults.open = undefined;
  faults.write = undefined;
  faults.read = undefined;
  faults.fsync = undefined;
  faults.handle = undefined;
  faults.lstat = undefined;
  faults.beforeRename = undefined;
  faults.renameError = undefined;
  faults.log = [];
});

const errnoError = (code: string, message = `${code}: injected fault`): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code, errno: -(constants.errno as Record<string, number>)[code]! });

/** Open file descriptors of this process: a helper that fails must still close what it opened. */
const openFds = () => readdirSync('/proc/self/fd').length;

const inDir = (dir: string) => (path: string) => dirname(path) === dir;

describe('writeFileAtomic under faults', () => {
  it('a write that fails half-way (disk full) rejects with its error, leaving the old file, no temporary file, no open descriptor', async () => {
    const dir = scratchDir('xlp-fs-');
    const target = join(dir, 'state.json');
    await writeFile(target, 'old');
    faults.write = {
      match: inDir(dir), // the temporary file: its name is random
      run: (fd, data) => {
        real.writeFileSync(fd, data.slice(0, 2)); // half of it reached the disk
        throw errnoError('ENOSPC');
      },
    };
    const fds = openFds();
    await expect(writeFileAtomic(target, '{"new":1}')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(openFds()).toBe(fds);
    expect(faults.log.filter((l) => l.startsWith('rename'))).toEqual([]);
  });

  it("the caller sees the failed write's or rename's own error even if the temporary file is already gone", async () => {
    const dir = scratchDir('xlp-fs-');
    const target = join(dir, 'state.json');
    await writeFile(target, 'old');
    faults.write = {
      match: inDir(dir),
      run: (_fd, _data, tmp) => {
        real.unlinkSync(tmp); // removed by someone else meanwhile
        throw errnoError('ENOSPC');
      },
    };
    await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({ code: 'ENOSPC' });
    faults.write = undefined;
    faults.renameError = errnoError('EACCES');
    faults.beforeRename = (tmp) => real.unlinkSync(tmp);
    await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({ code: 'EACCES' });
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('durable (the default): the data is fsynced before the rename, the directory after it; not durable: no fsync', async () => {
    const dir = scratchDir('xlp-fs-');
    const target = join(dir, 'state.json');
    await writeFileAtomic(target, 'durable');
    expect(faults.log).toHaveLength(3);
    const [syncData, rename, syncDir] = faults.log;
    const tmp = /^rename (.+) -> /.exec(rename!)?.[1];
    expect(tmp && dirname(tmp)).toBe(dir);
    expect(syncData).toBe(`sync ${tmp}`); // the new content is on disk before it replaces the old
    expect(rename).toBe(`rename ${tmp} -> ${target}`);
    expect(syncDir).toBe(`sync ${dir}`); // and the rename itself survives a power cut
    expect(await readFile(target, 'utf8')).toBe('durable');
    faults.log = [];
    await writeFileAtomic(target, 'quick', { durable: false });
    expect(faults.log.filter((l) => l.startsWith('sync'))).toEqual([]);
    expect(await readFile(target, 'utf8')).toBe('quick');
    faults.log = [];
    await writeFileAtomic(target, 'asked', { durable: true });
    expect(faults.log.map((l) => l.split(' ')[0])).toEqual(['sync', 'rename', 'sync']);
  });

  it('a directory fsync that fails is reported, and the directory is closed', async () => {
    const dir = scratchDir('xlp-fs-');
    faults.fsync = { match: (p) => p === dir, error: errnoError('EIO') };
    const fds = openFds();
    await expect(writeFileAtomic(join(dir, 'f'), 'x')).rejects.toMatchObject({ code: 'EIO' });
    expect(openFds()).toBe(fds);
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('x'); // the rename happened; only its durability is in doubt
  });
});

describe('readPrivateFile under faults', () => {
  it('a read that fails after the checks (EIO) is unreadable, names the errno and keeps it as the cause, and closes the file', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'state.json');
    await writeFile(f, '{}', { mode: 0o600 });
    const eio = errnoError('EIO', 'input/output error'); // a message that does not name its code
    faults.read = {
      match: (p) => p === f,
      run: () => {
        throw eio;
      },
    };
    const fds = openFds();
    const e = await readPrivateFile(f, { maxBytes: 100 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PrivateFileError);
    expect(e).toMatchObject({ path: f, problem: 'unreadable', message: `${f} cannot be read (EIO: input/output error)`, cause: eio });
    expect(openFds()).toBe(fds);
  });

  it('a file that grew past the bound between its size check and its read is too large', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'state.json');
    await writeFile(f, 'abcd', { mode: 0o600 });
    faults.read = {
      match: (p) => p === f,
      run: (fd) => {
        real.appendFileSync(f, 'efgh'); // a writer got in after the stat
        return real.readFileSync(fd);
      },
    };
    const e = await readPrivateFile(f, { maxBytes: 6 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PrivateFileError);
    expect(e).toMatchObject({ path: f, problem: 'too-large', message: `${f} is more than the 6 bytes accepted` });
  });

  it('a socket or a device that refuses opening (ENXIO, ENODEV) is not a regular file, with the cause kept', async () => {
    const dir = scratchDir('xlp-fs-');
    // A real socket file: open(2) says ENXIO.
    const sock = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const e = await readPrivateFile(sock, { maxBytes: 10 }).catch((err: unknown) => err);
      expect(e).toMatchObject({ path: sock, problem: 'not-a-file', message: `${sock} is not a regular file`, cause: { code: 'ENXIO' } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    for (const code of ['ENXIO', 'ENODEV']) {
      const f = join(dir, code);
      const error = errnoError(code);
      faults.open = { match: (p) => p === f, error };
      const e = await readPrivateFile(f, { maxBytes: 10 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(PrivateFileError);
      expect(e).toMatchObject({ path: f, problem: 'not-a-file', message: `${f} is not a regular file`, cause: error });
    }
  });

  it('a symlink refusal keeps the ELOOP it came from as its cause', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'link');
    const error = errnoError('ELOOP');
    faults.open = { match: (p) => p === f, error };
    await expect(readPrivateFile(f, { maxBytes: 10 })).rejects.toMatchObject({ problem: 'symlink', cause: error });
  });
});

describe('readRegularFile under faults', () => {
  it('an open error without an errno is reported as EIO', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'p');
    faults.open = { match: (p) => p === f, error: new Error('no errno here') as NodeJS.ErrnoException };
    const e = await readRegularFile(f).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ReadFileError);
    expect(e).toMatchObject({ path: f, problem: 'open', errno: constants.errno.EIO, message: 'no errno here' });
  });

  it('short reads are continued until the whole file is read', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'p');
    const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    await writeFile(f, content);
    const calls: number[] = [];
    faults.handle = {
      match: (p) => p === f,
      methods: (fh) => ({
        // Each read returns at most half of what it asked for (as a network file system may).
        read: async (buffer: Buffer, offset: number, length: number, position: number) => {
          calls.push(length);
          if (offset + length > buffer.length) throw new RangeError(`read past the buffer: ${offset}+${length} > ${buffer.length}`);
          return fh.read(buffer, offset, Math.max(1, Math.floor(length / 2)), position);
        },
      }),
    };
    expect(await readRegularFile(f)).toEqual(content);
    expect(calls[0]).toBe(1000);
    expect(calls.length).toBeGreaterThan(5);
  });

  it('a file truncated between its size check and its read gives what is left, without waiting for the rest', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'p');
    await writeFile(f, 'abcdefgh');
    faults.handle = {
      match: (p) => p === f,
      methods: (fh) => ({
        stat: async () => {
          const s = await fh.stat();
          await truncate(f, 3); // shrunk by someone else right after
          return s;
        },
      }),
    };
    const fds = openFds();
    expect(String(await readRegularFile(f))).toBe('abc');
    expect(openFds()).toBe(fds);
  }, 5000);
});

describe('ensurePrivateDir under faults', () => {
  it('an ancestor that cannot be examined (EACCES) stops it with that error, and nothing is created', async () => {
    const base = scratchDir('xlp-fs-');
    const missing = join(base, 'a');
    faults.lstat = { match: (p) => p === missing, error: errnoError('EACCES') };
    await expect(ensurePrivateDir(join(missing, 'b', 'state'))).rejects.toMatchObject({ code: 'EACCES' });
    faults.lstat = undefined;
    expect(await readdir(base)).toEqual([]);
  });
});
