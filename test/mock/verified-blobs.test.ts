/**
 * The mock checks that every payload blob hashes to its name when it opens its state. A blob it
 * has hashed before, still the very same file (inode, size, ctime, mtime: payloads/.verified.json),
 * is not read and hashed again by the next process: a `list` on a mock with many payloads otherwise
 * reads them all. A blob changed since, or a damaged cache, is checked again.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const hashed: number[] = [];
vi.mock('../../lib/fs/lazy-crypto.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/fs/lazy-crypto.js')>();
  return {
    ...real,
    sha256Hex: (data: string | Uint8Array) => {
      if (typeof data !== 'string') hashed.push(data.length);
      return real.sha256Hex(data);
    },
  };
});

const { initMockState, MockStateError, openMockBackend } = await import('../../lib/mock/index.js');
const { payloadBytes, TEST_XEN } = await import('../support/mock-payloads.js');
const { scratchDir } = await import('../support/scratch.js');

/** A mock with one uploaded payload; returns its directory and the blob's size. */
async function withPayload(): Promise<{ dir: string; size: number }> {
  const dir = join(scratchDir('xlp-verified-'), 'mock');
  await initMockState(dir, { buildId: TEST_XEN, quiesceMs: 0 });
  const m = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
  const bytes = await payloadBytes('nop');
  await m.upload('nop', bytes);
  await m.close();
  return { dir, size: bytes.length };
}

/** How many payload-sized buffers a fresh open + LIST of `dir` hashed. */
async function hashesOfAnOpen(dir: string, size: number): Promise<number> {
  hashed.length = 0;
  const m = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
  try {
    expect((await m.list()).map((p) => p.name)).toEqual(['nop']);
  } finally {
    await m.close();
  }
  return hashed.filter((n) => n === size).length;
}

const blobOf = async (dir: string) => (await readdir(join(dir, 'payloads'))).find((f) => /^[0-9a-f]{64}$/.test(f))!;

describe('verified payload blobs', () => {
  it('are hashed by the first open, and not again by the next ones while the file is unchanged', async () => {
    const { dir, size } = await withPayload();
    expect(await hashesOfAnOpen(dir, size)).toBe(1);
    expect(await hashesOfAnOpen(dir, size)).toBe(0);
    expect(await hashesOfAnOpen(dir, size)).toBe(0);
  });

  it('a blob altered after it was verified is still refused', async () => {
    const { dir, size } = await withPayload();
    expect(await hashesOfAnOpen(dir, size)).toBe(1);
    const file = join(dir, 'payloads', await blobOf(dir));
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(file, bytes, { mode: 0o600 });
    const e = await openMockBackend({ stateDir: dir, ifMissing: 'error' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(MockStateError);
    expect((e as Error).message).toMatch(/do not match their SHA-256: they were altered/);
  });

  it('a damaged or forged cache is not trusted: the blobs are hashed again, and the state opens', async () => {
    const { dir, size } = await withPayload();
    expect(await hashesOfAnOpen(dir, size)).toBe(1);
    const cache = join(dir, 'payloads', '.verified.json');
    for (const text of [
      '{not json',
      '[]',
      '{"version":2,"blobs":{}}',
      JSON.stringify({ version: 1, blobs: { [await blobOf(dir)]: '1:2:3:4' } }),
    ]) {
      await writeFile(cache, text, { mode: 0o600 });
      expect(await hashesOfAnOpen(dir, size), text).toBe(1);
    }
  });
});
