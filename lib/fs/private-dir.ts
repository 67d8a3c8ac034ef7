/**
 * Directories that hold private state (the mock hypervisor, the workflows' lock and journal). The
 * tools run as root on dom0, so a state directory that is a symlink, belongs to another user or is
 * writable by others could let someone else steer them: such a directory is refused, not "fixed".
 *
 * The directory alone is not enough: whoever can rename an ancestor can swap the whole tree. So
 * every ancestor is checked too, as sshd's StrictModes checks a home directory: owned by root or by
 * this user, and not writable by group or others unless it is sticky (as /tmp is, where nobody can
 * rename another user's entries). Both the path as given and the path its symlinks lead to are
 * checked: the first covers the directories that hold a symlink, the second where it points.
 */
import { lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type PrivateDirProblem = 'symlink' | 'not-a-directory' | 'foreign-owner' | 'group-or-world-writable' | 'unsafe-ancestor';

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

/** Who the checks run for; tests pass another uid to see a directory through another user's eyes. */
export interface PrivateDirOptions {
  readonly uid?: number | null;
}

function currentUid(options: PrivateDirOptions): number | null {
  if (options.uid !== undefined) return options.uid;
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

const STICKY = 0o1000;

/** Every directory above `path` (absolute), from `/` down to its parent. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let d = dirname(path);
  for (;;) {
    out.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

/*
 * The checks make their system calls here, not on Node's thread pool: one lstat per ancestor is
 * cheaper than a pool round trip each (`npm run bench:workflow`).
 */

/**
 * Throws `PrivateDirError('unsafe-ancestor')` unless every directory above `path` is owned by root
 * or this user and writable by nobody else (sticky directories excepted).
 */
export async function checkAncestors(path: string, options: PrivateDirOptions = {}): Promise<void> {
  const uid = currentUid(options);
  const absolute = resolve(path);
  const check = (dir: string): void => {
    const s = statSync(dir);
    if (!s.isDirectory()) throw new PrivateDirError(path, 'not-a-directory', `${dir} (above ${path}) is not a directory`);
    if (uid !== null && s.uid !== 0 && s.uid !== uid) {
      throw new PrivateDirError(
        path,
        'unsafe-ancestor',
        `${dir} (above ${path}) belongs to uid ${s.uid}, neither root nor ` +
          `this user (uid ${uid}), who could swap it; refusing to use ${path}`,
      );
    }
    if ((s.mode & 0o022) !== 0 && (s.mode & STICKY) === 0) {
      throw new PrivateDirError(
        path,
        'unsafe-ancestor',
        `${dir} (above ${path}) is writable by other users and not sticky ` +
          `(mode ${(s.mode & 0o7777).toString(8)}), so they could swap it; refusing to use ${path}`,
      );
    }
  };
  for (const dir of ancestorsOf(absolute)) check(dir);
  // Where symlinks among the ancestors lead: those directories decide too.
  const real = realpathSync(dirname(absolute));
  // Stryker disable next-line StringLiteral: without the 'x', `real` itself is left out; but it is the directory dirname(absolute) resolves to, which stat() checked above
  if (real !== dirname(absolute)) for (const dir of ancestorsOf(join(real, 'x'))) check(dir);
}

/**
 * Checks that `path` is a real directory owned by this user and not writable by group or others;
 * creates it (and its parents) with mode 0700 if it does not exist. Returns true if it was created.
 * Its ancestors are checked first (`checkAncestors`), so nothing is created under an unsafe one.
 */
export async function ensurePrivateDir(path: string, options: PrivateDirOptions = {}): Promise<boolean> {
  let created = false;
  try {
    lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // The deepest ancestor that exists must be safe before anything is made below it.
    let existing = dirname(resolve(path));
    for (;;) {
      try {
        lstatSync(existing);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(existing) === existing) throw e;
        existing = dirname(existing);
      }
    }
    await checkAncestors(join(existing, 'x'), options);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    created = true;
  }
  await checkPrivateDir(path, options);
  return created;
}

/** Throws `PrivateDirError` unless `path` is a private directory of this user under safe ancestors. */
export async function checkPrivateDir(path: string, options: PrivateDirOptions = {}): Promise<void> {
  const s = lstatSync(path);
  if (s.isSymbolicLink()) throw new PrivateDirError(path, 'symlink', `${path} is a symbolic link; refusing to use it as a state directory`);
  if (!s.isDirectory()) throw new PrivateDirError(path, 'not-a-directory', `${path} is not a directory`);
  const uid = currentUid(options);
  if (uid !== null && s.uid !== uid) {
    throw new PrivateDirError(path, 'foreign-owner', `${path} belongs to uid ${s.uid}, not to this user (uid ${uid}); refusing to use it`);
  }
  if ((s.mode & 0o022) !== 0) {
    throw new PrivateDirError(
      path,
      'group-or-world-writable',
      `${path} is writable by other users (mode ${(s.mode & 0o777).toString(8)}); refusing to use it`,
    );
  }
  await checkAncestors(path, options);
}
