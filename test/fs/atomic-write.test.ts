/** Atomic replacement: the new file whole or the old one, the requested mode, and no debris when it fails. */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/fs/atomic-write.js';
import { scratchDir } from '../support/scratch.js';

describe('writeFileAtomic', () => {
  it('gives the new file the mode asked for (0600 unless told otherwise), durable or not', async () => {
    const dir = scratchDir('xlp-fs-');
    await writeFileAtomic(join(dir, 'shared'), 'x', { mode: 0o644 });
    await writeFileAtomic(join(dir, 'quick'), new Uint8Array([1, 2, 3]), { durable: false });
    expect((await stat(join(dir, 'shared'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, 'quick'))).mode & 0o777).toBe(0o600);
    expect([...(await readFile(join(dir, 'quick')))]).toEqual([1, 2, 3]);
    expect((await readdir(dir)).sort()).toEqual(['quick', 'shared']);
  });

  it('when the rename fails, reports why and leaves the target as it was and no temporary file', async () => {
    const dir = scratchDir('xlp-fs-');
    // A non-empty directory where the file should go: rename(2) refuses to replace it.
    const target = join(dir, 'state.json');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, '{}')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('kept');
  });

  it('into a directory that does not exist: the error, and nothing created', async () => {
    const dir = scratchDir('xlp-fs-');
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});
