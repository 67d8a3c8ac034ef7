import { describe, expect, it } from 'vitest';
import { FakeScript, cmd, hex, type FakeSession, fakeSessions } from '../support/fake-xenctrl.js';

const session = fakeSessions();

const reads = (s: FakeSession): string[] => s.trace().filter((l) => l.startsWith('readconsole'));

describe('readConsole', () => {
  it('reads the whole ring', async () => {
    const s = await session(new FakeScript().console('(XEN) Xen version 4.17\n(XEN) livepatch: ready\n'));
    expect(await s.backend.readConsole()).toBe('(XEN) Xen version 4.17\n(XEN) livepatch: ready\n');
    expect(await s.backend.readConsole()).toBe('(XEN) Xen version 4.17\n(XEN) livepatch: ready\n');
    expect(reads(s)[0]).toBe('readconsole count=65536 clear=0 incremental=0 index=0');
  });

  it('reads incrementally: everything first, then only what is new', async () => {
    const s = await session(
      new FakeScript().console('boot\n').after('readconsole', 1, cmd.console('one\n')).after('readconsole', 3, cmd.console('two\n')),
    );
    expect(await s.backend.readConsole({ incremental: true })).toBe('boot\n');
    expect(await s.backend.readConsole({ incremental: true })).toBe('one\n');
    expect(await s.backend.readConsole({ incremental: true })).toBe('');
    // A full read in between neither loses nor repeats anything for the incremental reader.
    expect(await s.backend.readConsole()).toBe('boot\none\ntwo\n');
    expect(await s.backend.readConsole({ incremental: true })).toBe('two\n');
    expect(reads(s).map((l) => l.replace(/ count=\d+ clear=0/, ''))).toEqual([
      'readconsole incremental=1 index=0',
      'readconsole incremental=1 index=5',
      'readconsole incremental=1 index=9',
      'readconsole incremental=0 index=0',
      'readconsole incremental=1 index=9',
    ]);
  });

  it('keeps only the newest text when the ring wraps', async () => {
    const text = Array.from({ length: 20 }, (_, i) => `line ${String(i).padStart(2, '0')}\n`).join(''); // 160 bytes
    const s = await session(new FakeScript().consoleSize(64).console(text));
    expect(await s.backend.readConsole()).toBe(text.slice(-64));
  });

  it('starts over from the oldest kept text when its incremental position was overwritten', async () => {
    const s = await session(
      new FakeScript()
        .consoleSize(64)
        .console('a'.repeat(10))
        .after('readconsole', 1, cmd.console('b'.repeat(100))),
    );
    expect(await s.backend.readConsole({ incremental: true })).toBe('a'.repeat(10));
    expect(await s.backend.readConsole({ incremental: true })).toBe('b'.repeat(64));
  });

  it('reads a ring larger than its 64 KiB buffer in several calls', async () => {
    const text = Array.from({ length: (200 * 1024) / 16 }, (_, i) => `${String(i).padStart(15, '0')}\n`).join('');
    const s = await session(new FakeScript().consoleSize(256 * 1024).console(text));
    const full = await s.backend.readConsole();
    expect(full.length).toBe(text.length);
    expect(full === text).toBe(true);
    expect(reads(s).map((l) => l.replace(/ count=\d+ clear=0/, ''))).toEqual([
      'readconsole incremental=0 index=0',
      'readconsole incremental=1 index=65536',
      'readconsole incremental=1 index=131072',
      'readconsole incremental=1 index=196608',
    ]);
    const incremental = await s.backend.readConsole({ incremental: true });
    expect(incremental === text).toBe(true);
  });

  it('decodes UTF-8, replacing invalid bytes', async () => {
    const s = await session(new FakeScript().console('→ ok\n').after('readconsole', 1, `console ${hex(Buffer.from([0x66, 0xff, 0x0a]))}`));
    expect(await s.backend.readConsole({ incremental: true })).toBe('→ ok\n');
    expect(await s.backend.readConsole({ incremental: true })).toBe('f\uFFFD\n');
  });
});

describe('sendDebugKeys', () => {
  it('sends the keys; "x" makes Xen dump the payloads to the console', async () => {
    const s = await session(new FakeScript().payload('hello', { state: 2, metadata: 'k=v\0' }).payload('bye'));
    await s.backend.readConsole({ incremental: true });
    await s.backend.sendDebugKeys('x');
    const dump = await s.backend.readConsole({ incremental: true });
    expect(dump).toContain('name=hello state=APPLIED rc=0 metadata=4');
    expect(dump).toContain('name=bye state=CHECKED');
    await s.backend.sendDebugKeys('qx');
    expect(s.trace().filter((l) => l.startsWith('debugkeys'))).toEqual([`debugkeys keys=${hex('x')}`, `debugkeys keys=${hex('qx')}`]);
  });

  it('refuses keys that are not a string or hold a NUL', async () => {
    const s = await session(new FakeScript());
    await expect(s.backend.sendDebugKeys(120 as unknown as string)).rejects.toThrow(TypeError);
    await expect(s.backend.sendDebugKeys('x\0q')).rejects.toThrow(RangeError);
    expect(s.trace().some((l) => l.startsWith('debugkeys'))).toBe(false);
  });
});
