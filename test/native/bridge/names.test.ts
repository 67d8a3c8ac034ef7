/**
 * Payload names that are not UTF-8. Xen takes any bytes but NUL; LIST's text form decodes them
 * lossily, so `ff`, `fe` and `ef bf bd` all read "\uFFFD". Each entry keeps the exact bytes beside
 * the text, every call takes those bytes back, and a text name several payloads read as is refused
 * rather than hitting whichever one is encoded that way.
 */
import { describe, expect, it } from 'vitest';
import { AmbiguousNameError } from '../../../lib/native/names.js';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, fakeSessions, hex } from '../support/fake-xenctrl.js';

const session = fakeSessions();

const FF = Buffer.from([0xff]);
const FE = Buffer.from([0xfe]);
const REPLACEMENT_UTF8 = Buffer.from('\uFFFD'); // ef bf bd

/** Three payloads that all read "\uFFFD", with different states to tell them apart. */
const readAlike = (): FakeScript =>
  new FakeScript()
    .payload(FF, { state: 1, rc: -1 })
    .payload(FE, { state: 2, rc: -2 })
    .payload(REPLACEMENT_UTF8, { state: 1, rc: -3 })
    .payload('plain');

const actions = (lines: string[]): string[] => lines.filter((l) => l.startsWith('action') || l.startsWith('get '));

describe('names that are not UTF-8', () => {
  it('list with their text and their exact bytes', async () => {
    const s = await session(readAlike());
    const list = await s.backend.list();
    expect(list.map((e) => e.name)).toEqual(['\uFFFD', '\uFFFD', '\uFFFD', 'plain']);
    expect(list.map((e) => Buffer.from(e.nameBytes!).toString('hex'))).toEqual(['ff', 'fe', 'efbfbd', hex('plain')]);
    expect(list[0]!.nameBytes).toBeInstanceOf(Uint8Array);
  });

  it('are reached by their bytes: each call acts on exactly that payload', async () => {
    const s = await session(readAlike());
    const list = await s.backend.list();
    expect(await Promise.all(list.map((e) => s.backend.get(e.nameBytes!)))).toEqual([
      { state: 'CHECKED', rc: -1 },
      { state: 'APPLIED', rc: -2 },
      { state: 'CHECKED', rc: -3 },
      { state: 'CHECKED', rc: 0 },
    ]);
    await s.backend.apply(list[0]!.nameBytes!);
    await s.backend.revert(FE);
    expect(actions(s.trace()).filter((l) => l.startsWith('action'))).toEqual([
      'action cmd=3 name=ff timeout=0 flags=0',
      'action cmd=2 name=fe timeout=0 flags=0',
    ]);
    expect((await s.backend.list()).map((e) => e.state)).toEqual(['APPLIED', 'CHECKED', 'CHECKED', 'CHECKED']);
  });

  it('can be uploaded and unloaded by their bytes', async () => {
    const s = await session(new FakeScript());
    await s.backend.upload(Buffer.from([0x80, 0x81]), Buffer.from('x'));
    expect(s.trace()).toContain('upload name=8081 size=1 force=' + (s.backend.info.library.minor >= 19 ? '0' : '-1') + ' sum=fd0c5087');
    await s.backend.unload(Uint8Array.from([0x80, 0x81]));
    expect(await s.backend.list()).toEqual([]);
  });

  it('refuse a text name that several payloads read as, acting on none of them', async () => {
    const s = await session(readAlike());
    for (const call of [() => s.backend.apply('\uFFFD'), () => s.backend.unload('\uFFFD'), () => s.backend.get('\uFFFD')]) {
      const e = await call().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(AmbiguousNameError);
      expect(e).toBeInstanceOf(XenError);
      expect(e).toMatchObject({ errno: ERRNO.ENOTUNIQ, code: 'ENOTUNIQ', payload: '\uFFFD' });
      expect((e as AmbiguousNameError).candidates.map((c) => Buffer.from(c).toString('hex'))).toEqual(['ff', 'fe', 'efbfbd']);
      expect((e as Error).message).toContain('3 payloads have names that read as this text (bytes ff, fe, efbfbd)');
    }
    expect(actions(s.trace())).toEqual([]);
    expect((await s.backend.list()).map((e) => e.state)).toEqual(['CHECKED', 'APPLIED', 'CHECKED', 'CHECKED']);
  });

  it('take the one payload a text name reads as, whatever its bytes', async () => {
    const s = await session(new FakeScript().payload(FF).payload('plain'));
    const [entry] = await s.backend.list();
    await s.backend.apply(entry!.name);
    expect(actions(s.trace())).toEqual(['action cmd=3 name=ff timeout=0 flags=0']);
    expect(await s.backend.get(entry!.name)).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('leave a text name with U+FFFD that no payload reads as to Xen (ENOENT)', async () => {
    const s = await session(new FakeScript().payload('plain'));
    await expect(s.backend.apply('a\uFFFD')).rejects.toMatchObject({ code: 'ENOENT', call: 'apply', payload: 'a\uFFFD' });
    expect(actions(s.trace())).toEqual([`action cmd=3 name=${hex('a\uFFFD')} timeout=0 flags=0`]);
  });

  it('name the payload in errors by its text', async () => {
    const s = await session(new FakeScript());
    await expect(s.backend.get(FF)).rejects.toMatchObject({ code: 'ENOENT', call: 'get', payload: '\uFFFD' });
  });
});
