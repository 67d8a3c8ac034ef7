/**
 * Reading files that may be hostile or odd: a private state file (never through a symlink, never
 * blocking, only this user's, bounded) and a regular input file (bounded, never blocking). Each
 * refusal is typed, names the file and says why.
 */
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrivateFileError, readPrivateFile } from '../../lib/fs/private-file.js';
import { ReadFileError, readRegularFile } from '../../lib/fs/read-file.js';
import { xdgStateHome } from '../../lib/fs/state-home.js';
import { scratchDir } from '../support/scratch.js';

const refusal = async (p: Promise<unknown>): Promise<Error> => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof Error)) throw new Error('accepted what it should refuse');
  return e;
};

describe('readPrivateFile', () => {
  it('reads a file of this user up to the bound; no file is null', async () => {
    const dir = scratchDir('xlp-fs-');
    await writeFile(join(dir, 'f'), 'abcd', { mode: 0o600 });
    expect(String(await readPrivateFile(join(dir, 'f'), { maxBytes: 4 }))).toBe('abcd');
    expect(await readPrivateFile(join(dir, 'none'), { maxBytes: 4 })).toBeNull();
  });

  it('refuses, naming the file and the problem: a symlink, a FIFO, a directory, too large, writable by others, another owner', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'f');
    await writeFile(f, 'abcd', { mode: 0o600 });
    await symlink(f, join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await mkdir(join(dir, 'dir'));
    const cases: [string, { maxBytes: number; uid?: number | null }, string, RegExp][] = [
      [join(dir, 'link'), { maxBytes: 10 }, 'symlink', /link is a symbolic link; refusing to follow it$/],
      [join(dir, 'fifo'), { maxBytes: 10 }, 'not-a-file', /fifo is not a regular file$/],
      [join(dir, 'dir'), { maxBytes: 10 }, 'not-a-file', /dir is not a regular file$/],
      [f, { maxBytes: 3 }, 'too-large', /f is 4 bytes, more than the 3 accepted$/],
      [
        f,
        { maxBytes: 10, uid: 12345 },
        'foreign-owner',
        new RegExp(`f belongs to uid ${process.getuid!()}, not to this user \\(uid 12345\\)$`),
      ],
    ];
    for (const [path, options, problem, message] of cases) {
      const e = await refusal(readPrivateFile(path, options));
      expect(e).toBeInstanceOf(PrivateFileError);
      expect(e).toMatchObject({ name: 'PrivateFileError', code: 'EPRIVATEFILE', path, problem });
      expect(e.message).toMatch(message);
    }
    // uid null: whoever owns it (the lock files of another user's process are read this way).
    expect(String(await readPrivateFile(f, { maxBytes: 10, uid: null }))).toBe('abcd');
    await chmod(f, 0o620);
    const e = await refusal(readPrivateFile(f, { maxBytes: 10 }));
    expect(e).toMatchObject({ problem: 'group-or-world-writable', message: `${f} is writable by other users (mode 620)` });
  });

  it("by default only this user's file is read; where there are no uids (no process.getuid) ownership is not checked", async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'f');
    const other = process.getuid!() === 54_321 ? 54_322 : 54_321;
    await writeFile(f, 'abcd', { mode: 0o600 });
    await chown(f, other, other);
    expect(await refusal(readPrivateFile(f, { maxBytes: 10 }))).toMatchObject({ problem: 'foreign-owner' });
    const getuid = process.getuid;
    try {
      Object.defineProperty(process, 'getuid', { value: undefined, configurable: true, writable: true });
      expect(String(await readPrivateFile(f, { maxBytes: 10 }))).toBe('abcd');
    } finally {
      Object.defineProperty(process, 'getuid', { value: getuid, configurable: true, writable: true });
    }
  });

  it('a file that cannot be opened for another reason is unreadable, with the errno named once', async () => {
    const dir = scratchDir('xlp-fs-');
    await writeFile(join(dir, 'f'), 'x', { mode: 0o600 });
    // A path through a file: ENOTDIR.
    const e = await refusal(readPrivateFile(join(dir, 'f', 'g'), { maxBytes: 10 }));
    expect(e).toMatchObject({ problem: 'unreadable', path: join(dir, 'f', 'g') });
    expect(e.message).toMatch(/g cannot be read \(ENOTDIR\)$/); // Node's message already names the code
    expect((e as PrivateFileError).cause).toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('readRegularFile', () => {
  it('reads the whole file, up to the bound when one is given', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'p.livepatch');
    await writeFile(f, Buffer.alloc(70_000, 7));
    expect(await readRegularFile(f, { maxSize: 70_000 })).toEqual(Buffer.alloc(70_000, 7));
    expect(await readRegularFile(f)).toHaveLength(70_000);
    await writeFile(join(dir, 'empty'), '');
    expect(await readRegularFile(join(dir, 'empty'))).toHaveLength(0);
  });

  it('refuses with the errno a user can look up: missing (ENOENT), a directory (EISDIR), a FIFO (EINVAL, without waiting), too large (EFBIG)', async () => {
    const dir = scratchDir('xlp-fs-');
    const f = join(dir, 'p');
    await writeFile(f, 'abcd');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const cases: [string, { maxSize?: number }, string, number, RegExp][] = [
      [join(dir, 'none'), {}, 'open', constants.errno.ENOENT, /ENOENT/],
      [dir, {}, 'not-regular', constants.errno.EISDIR, /: not a regular file$/],
      [join(dir, 'fifo'), {}, 'not-regular', constants.errno.EINVAL, /fifo: not a regular file$/],
      [f, { maxSize: 3 }, 'too-large', constants.errno.EFBIG, /p is 4 bytes, more than 3$/],
    ];
    for (const [path, options, problem, errno, message] of cases) {
      const e = await refusal(readRegularFile(path, options));
      expect(e).toBeInstanceOf(ReadFileError);
      expect(e).toMatchObject({ name: 'ReadFileError', path, problem, errno });
      expect(e.message).toMatch(message);
    }
    expect(await refusal(readRegularFile(f, { maxSize: 3 }))).toMatchObject({ size: 4 });
  });
});

describe('xdgStateHome', () => {
  it('is $XDG_STATE_HOME when absolute, else ~/.local/state', () => {
    expect(xdgStateHome({ XDG_STATE_HOME: '/var/lib/me', HOME: '/home/u' })).toBe('/var/lib/me');
    expect(xdgStateHome({ XDG_STATE_HOME: 'relative/dir', HOME: '/home/u' })).toBe('/home/u/.local/state');
    expect(xdgStateHome({ HOME: '/home/u' })).toBe('/home/u/.local/state');
    expect(xdgStateHome({ HOME: '' })).toMatch(/^\/.+\/\.local\/state$/);
  });
});
