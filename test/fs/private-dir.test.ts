/**
 * State directories as another user would find them (the checks take the uid to check for): this
 * user's own 0700 directory under safe ancestors is accepted; another owner, a group- or
 * world-writable directory or ancestor, or a file in the way is refused, typed and explained.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAncestors, checkPrivateDir, ensurePrivateDir, PrivateDirError } from '../../lib/fs/private-dir.js';
import { scratchDir } from '../support/scratch.js';

const ME = process.getuid!();
const OTHER = ME === 54_321 ? 54_322 : 54_321;

async function refusal(p: Promise<unknown>): Promise<PrivateDirError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PrivateDirError);
  expect(e).toMatchObject({ name: 'PrivateDirError', code: 'EPRIVATEDIR' });
  return e as PrivateDirError;
}

describe('private state directories', () => {
  it('a directory of another user is refused for this one, and accepted for its owner', async () => {
    const dir = join(scratchDir('xlp-fs-'), 'state');
    await mkdir(dir, { mode: 0o700 });
    const e = await refusal(checkPrivateDir(dir, { uid: OTHER }));
    expect(e).toMatchObject({
      path: dir,
      problem: 'foreign-owner',
      message: `${dir} belongs to uid ${ME}, not to this user (uid ${OTHER}); refusing to use it`,
    });
    await chown(dir, OTHER, OTHER);
    await expect(checkPrivateDir(dir, { uid: OTHER })).resolves.toBeUndefined();
    expect((await refusal(checkPrivateDir(dir))).problem).toBe('foreign-owner');
    // uid null: where there are no uids, ownership is not checked; the mode still is.
    await expect(checkPrivateDir(dir, { uid: null })).resolves.toBeUndefined();
    await chmod(dir, 0o770);
    expect(await refusal(checkPrivateDir(dir, { uid: null }))).toMatchObject({
      problem: 'group-or-world-writable',
      message: `${dir} is writable by other users (mode 770); refusing to use it`,
    });
  });

  it('where there are no uids (no process.getuid), ownership is not checked; the modes still are', async () => {
    const dir = join(scratchDir('xlp-fs-'), 'state');
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, OTHER, OTHER);
    expect((await refusal(checkPrivateDir(dir))).problem).toBe('foreign-owner');
    const getuid = process.getuid;
    try {
      Object.defineProperty(process, 'getuid', { value: undefined, configurable: true, writable: true });
      await expect(checkPrivateDir(dir)).resolves.toBeUndefined();
      await expect(checkAncestors(join(dir, 'below'))).resolves.toBeUndefined(); // an ancestor of another owner, too
      await chmod(dir, 0o770);
      expect((await refusal(checkPrivateDir(dir))).problem).toBe('group-or-world-writable');
    } finally {
      Object.defineProperty(process, 'getuid', { value: getuid, configurable: true, writable: true });
    }
  });

  it('a symlink where the directory should be is refused, even to a private directory', async () => {
    const base = scratchDir('xlp-fs-');
    await mkdir(join(base, 'real'), { mode: 0o700 });
    await symlink(join(base, 'real'), join(base, 'link'));
    expect(await refusal(checkPrivateDir(join(base, 'link')))).toMatchObject({
      path: join(base, 'link'),
      problem: 'symlink',
      message: `${join(base, 'link')} is a symbolic link; refusing to use it as a state directory`,
    });
  });

  it('a file where the directory should be is refused, as is a path below a file', async () => {
    const base = scratchDir('xlp-fs-');
    const file = join(base, 'f');
    await writeFile(file, '');
    expect(await refusal(checkPrivateDir(file))).toMatchObject({
      path: file,
      problem: 'not-a-directory',
      message: `${file} is not a directory`,
    });
    const below = join(file, 'state');
    expect(await refusal(checkAncestors(below))).toMatchObject({
      path: below,
      problem: 'not-a-directory',
      message: `${file} (above ${below}) is not a directory`,
    });
    await expect(ensurePrivateDir(below)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('ancestors: owned by root or this user, writable by nobody else unless sticky', async () => {
    const base = scratchDir('xlp-fs-');
    const parent = join(base, 'parent');
    await mkdir(parent, { mode: 0o755 });
    await chown(parent, OTHER, OTHER);
    const dir = join(parent, 'state');
    // Owned by OTHER: fine for OTHER; for a third user neither root nor the owner, refused.
    await expect(checkAncestors(dir, { uid: OTHER })).resolves.toBeUndefined();
    const third = OTHER + 1;
    expect(await refusal(checkAncestors(dir, { uid: third }))).toMatchObject({
      path: dir,
      problem: 'unsafe-ancestor',
      message: `${parent} (above ${dir}) belongs to uid ${OTHER}, neither root nor this user (uid ${third}), who could swap it; refusing to use ${dir}`,
    });
    // Root-owned ancestors are fine for anyone.
    await chown(parent, 0, 0);
    await expect(checkAncestors(dir, { uid: third })).resolves.toBeUndefined();
    await chmod(parent, 0o777);
    expect(await refusal(checkAncestors(dir, { uid: third }))).toMatchObject({
      problem: 'unsafe-ancestor',
      message: `${parent} (above ${dir}) is writable by other users and not sticky (mode 777), so they could swap it; refusing to use ${dir}`,
    });
    await chmod(parent, 0o1777);
    await expect(checkAncestors(dir, { uid: third })).resolves.toBeUndefined();
    // Nothing is created under an unsafe ancestor.
    await chmod(parent, 0o777);
    await expect(ensurePrivateDir(join(parent, 'a', 'b'))).rejects.toMatchObject({ problem: 'unsafe-ancestor' });
    expect(existsSync(join(parent, 'a'))).toBe(false);
    await expect(checkPrivateDir(parent, { uid: null })).rejects.toMatchObject({ problem: 'group-or-world-writable' });
  });
});
