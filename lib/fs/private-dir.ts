/**
 * Directories that hold private state (the mock hypervisor, the workflows' lock and journal). The
 * tools run as root on dom0, so a state directory that is a symlink, belongs to another user or is
 * writable by others could let someone else steer them: such a directory is refused, not "fixed".
 */
import { lstat, mkdir } from 'node:fs/promises';

export type PrivateDirProblem = 'symlink' | 'not-a-directory' | 'foreign-owner' | 'group-or-world-writable';

export class PrivateDirError extends Error {
  override readonly name = 'PrivateDirError';
  readonly code = 'EPRIVATEDIR';
  constructor(
    readonly path: string,
    readonly problem: PrivateDirProblem,
    message: string,
  ) {
    super(message);
  }
}

function currentUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/**
 * Checks that `path` is a real directory owned by this user and not writable by group or others;
 * creates it (and its parents) with mode 0700 if it does not exist. Returns true if it was created.
 */
export async function ensurePrivateDir(path: string): Promise<boolean> {
  let created = false;
  try {
    await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path, { recursive: true, mode: 0o700 });
    created = true;
  }
  await checkPrivateDir(path);
  return created;
}

/** Throws `PrivateDirError` unless `path` is a private directory of this user. */
export async function checkPrivateDir(path: string): Promise<void> {
  const s = await lstat(path);
  if (s.isSymbolicLink()) throw new PrivateDirError(path, 'symlink', `${path} is a symbolic link; refusing to use it as a state directory`);
  if (!s.isDirectory()) throw new PrivateDirError(path, 'not-a-directory', `${path} is not a directory`);
  const uid = currentUid();
  if (uid !== null && s.uid !== uid) {
    throw new PrivateDirError(path, 'foreign-owner', `${path} belongs to uid ${s.uid}, not to this user (uid ${uid}); refusing to use it`);
  }
  if ((s.mode & 0o022) !== 0) {
    throw new PrivateDirError(path, 'group-or-world-writable', `${path} is writable by other users (mode ${(s.mode & 0o777).toString(8)}); refusing to use it`);
  }
}
