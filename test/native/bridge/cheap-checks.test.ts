/**
 * Arguments are checked before anything proportional to their size happens on the JS thread: a
 * payload is copied only once its handle is open and its length is within Xen's 2 MiB limit, and a
 * name or debug-key string is converted only once its length can fit. A huge argument is thus
 * refused in constant time, without an allocation that could fail (std::bad_alloc on the JS thread
 * aborts the process) or stall the event loop.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { cleanEnv } from '../support/child.js';
import { FakeScript, fakeLibrary, fakeSessions, writeScript } from '../support/fake-xenctrl.js';
import { distNativeEntry } from '../support/paths.js';

const session = fakeSessions();

/**
 * Far more than the refusal itself costs (microseconds; a garbage collection may land in it),
 * far less than copying or converting the argument (about a second for 512 MiB).
 */
const FAST_MS = 100;

/** How long `start()` blocks the event loop, and what its promise settles with. */
async function blocking(start: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const t0 = performance.now();
  const promise = start();
  const ms = performance.now() - t0;
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms, error };
}

describe('a payload larger than Xen takes', () => {
  // Untouched pages: no memory until written. Made ahead, so that the collection V8 starts for
  // such an allocation is over before anything is timed.
  let huge: Uint8Array;
  beforeAll(async () => {
    huge = new Uint8Array(512 * 1024 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('is refused with EINVAL without being copied: 512 MiB cost no time on the event loop', async () => {
    const s = await session(new FakeScript());
    const { ms, error } = await blocking(() => s.backend.upload('huge', huge));
    expect(error).toBeInstanceOf(XenError);
    expect(error).toMatchObject({ errno: ERRNO.EINVAL, code: 'EINVAL', call: 'upload', payload: 'huge' });
    expect((error as Error).message).toContain('the payload is 536870912 bytes; Xen refuses anything over 2097152');
    expect(ms).toBeLessThan(FAST_MS);
    expect(s.trace().some((l) => l.startsWith('upload'))).toBe(false);
  });

  it('on a closed handle is refused with EBADF, also without being copied', async () => {
    const s = await session(new FakeScript());
    await s.backend.close();
    const { ms, error } = await blocking(() => s.backend.upload('huge', huge));
    expect(error).toMatchObject({ errno: ERRNO.EBADF, call: 'upload' });
    expect(ms).toBeLessThan(FAST_MS);
  });

  it('does not kill a process whose memory cannot hold a second copy', () => {
    // 1.5 GiB fits under the 3 GiB address-space limit once, not twice: a copy made before the
    // size check throws std::bad_alloc on the JS thread. The release addon, without sanitizers
    // (they need more address space than the limit leaves).
    const child = `
      const { openNative } = await import(process.argv[1]);
      const backend = await openNative({ library: process.argv[2] });
      const huge = new Uint8Array(1.5 * 1024 * 1024 * 1024);
      try {
        await backend.upload('huge', huge);
        console.log(JSON.stringify({ resolved: true }));
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, code: e.code }));
      }
      await backend.close();
    `;
    const script = writeScript(new FakeScript());
    const env = cleanEnv({ XLP_FAKE_XENCTRL_SCRIPT: script });
    delete env.LD_PRELOAD;
    const r = spawnSync(
      '/bin/sh',
      [
        '-c',
        'ulimit -v 3000000 && exec "$0" --input-type=module -e "$1" "$2" "$3"',
        process.execPath,
        child,
        distNativeEntry(),
        fakeLibrary(17, { sanitize: false }),
      ],
      { env, encoding: 'utf8' },
    );
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ name: 'XenError', code: 'EINVAL' });
  });
});

describe('strings are measured before they are converted', () => {
  let long: string;
  beforeAll(async () => {
    long = 'n'.repeat(2 ** 28);
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('a 256 Mi-character name is refused at once with a RangeError', async () => {
    const s = await session(new FakeScript().payload('p'));
    for (const call of [() => s.backend.get(long), () => s.backend.apply(long), () => s.backend.upload(long, Buffer.from('x'))]) {
      const { ms, error } = await blocking(call);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toBe('name is 268435456 UTF-16 code units; the limit is 127 bytes of UTF-8');
      expect(ms).toBeLessThan(FAST_MS);
    }
    // Up to 4096 code units the message still gives the exact size.
    await expect(s.backend.get('é'.repeat(200))).rejects.toThrow(new RangeError('name is 400 bytes of UTF-8; the limit is 127'));
    expect(s.trace().filter((l) => /^(get|upload|action)/.test(l))).toEqual([]);
  });

  it('debug keys are capped at 64, and a 256 Mi-character string is refused at once', async () => {
    const s = await session(new FakeScript());
    await s.backend.sendDebugKeys('x'.repeat(64));
    await expect(s.backend.sendDebugKeys('x'.repeat(65))).rejects.toThrow(new RangeError('keys is 65 bytes of UTF-8; the limit is 64'));
    await expect(s.backend.sendDebugKeys('é'.repeat(33))).rejects.toThrow(new RangeError('keys is 66 bytes of UTF-8; the limit is 64'));
    const { ms, error } = await blocking(() => s.backend.sendDebugKeys(long));
    expect(error).toBeInstanceOf(RangeError);
    expect(ms).toBeLessThan(FAST_MS);
    expect(s.trace().filter((l) => l.startsWith('debugkeys'))).toEqual([`debugkeys keys=${Buffer.from('x'.repeat(64)).toString('hex')}`]);
  });
});
