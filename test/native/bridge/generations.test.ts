/**
 * A libxenctrl of one release on a hypervisor of another, as after a tools upgrade without a
 * reboot. The upload prototype is the library's (4 arguments up to 4.18, `bool force` from 4.19),
 * whatever the hypervisor says; the force flag is refused unless both have it and agree; and tools
 * and hypervisor on either side of 4.21's sysctl interface bump get Xen's EACCES on every call,
 * explained.
 */
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenError } from '../../../lib/xen/errors.js';
import { FakeScript, type FakeMinor, fakeSessions, hex } from '../support/fake-xenctrl.js';

const session = fakeSessions();

const uploads = (lines: string[]): string[] => lines.filter((l) => l.startsWith('upload'));

async function refusal(promise: Promise<unknown>): Promise<XenError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(XenError);
  return e as XenError;
}

describe('a 4.17 library on a 4.20 hypervisor', () => {
  const open = () => session(new FakeScript().version(4, 20), 17);

  it('reports both, and calls the 4-argument upload the library has', async () => {
    const s = await open();
    expect(s.backend.info).toMatchObject({
      generation: '4.14-4.18',
      library: { major: 4, minor: 17, soname: 'libxenctrl.so.4.17', symbolVersion: 'VERS_4.17.0', generation: '4.14-4.18' },
      xen: { major: 4, minor: 20, generation: '4.19-4.20' },
    });
    await s.backend.upload('p', Buffer.from('x'));
    expect(uploads(s.trace())).toEqual([`upload name=${hex('p')} size=1 force=-1 sum=fd0c5087`]);
    expect(await s.backend.get('p')).toEqual({ state: 'CHECKED', rc: 0 });
  });

  it('refuses force, which the library cannot pass, saying why, before any call', async () => {
    const s = await open();
    const e = await refusal(s.backend.upload('p', Buffer.from('x'), { force: true }));
    expect(e).toMatchObject({ errno: ERRNO.EOPNOTSUPP, code: 'EOPNOTSUPP', call: 'upload', payload: 'p' });
    expect(e.message).toContain('this libxenctrl 4.17 has no force parameter');
    expect(e.message).toContain('libxenctrl 4.17 (4.14-4.18) with Xen 4.20 (4.19-4.20) are of different generations');
    expect(uploads(s.trace())).toEqual([]);
  });
});

describe('a 4.20 library on a 4.17 hypervisor', () => {
  const open = () => session(new FakeScript().version(4, 17), 20);

  it('calls the 5-argument upload with force false, which the 4.17 hypervisor accepts', async () => {
    const s = await open();
    expect(s.backend.info).toMatchObject({ generation: '4.19-4.20', xen: { minor: 17, generation: '4.14-4.18' } });
    // The fake's 4.17 hypervisor refuses any non-zero flags word with EINVAL, as Xen 4.17 does:
    // a stray force (the 4-argument call into this 5-argument function) would fail here.
    for (let i = 0; i < 20; i++) await s.backend.upload(`p${i}`, Buffer.from('x'));
    expect(uploads(s.trace()).every((l) => l.includes(' force=0 '))).toBe(true);
    expect((await s.backend.list()).length).toBe(20);
  });

  it('refuses force, which the hypervisor would refuse or misread, saying why', async () => {
    const s = await open();
    const e = await refusal(s.backend.upload('p', Buffer.from('x'), { force: true }));
    expect(e).toMatchObject({ errno: ERRNO.EOPNOTSUPP, call: 'upload', payload: 'p' });
    expect(e.message).toContain('the running Xen 4.17 refuses any upload flag');
    expect(e.message).toContain('are of different generations');
    expect(uploads(s.trace())).toEqual([]);
  });
});

describe.each([
  [21, 20],
  [20, 21],
] as const)('a 4.%i library on a 4.%i hypervisor (sysctl interface 0x15 against 0x16)', (libraryMinor, xenMinor) => {
  it("opens (XENVER_version is no sysctl), and every livepatch call is Xen's EACCES, explained", async () => {
    const s = await session(new FakeScript().version(4, xenMinor).payload('p'), libraryMinor as FakeMinor);
    expect(s.backend.info.xen.minor).toBe(xenMinor);
    expect((await s.backend.xenVersion()).minor).toBe(xenMinor);
    for (const call of [() => s.backend.list(), () => s.backend.get('p'), () => s.backend.apply('p'), () => s.backend.readConsole()]) {
      const e = await refusal(call());
      expect(e.errno).toBe(ERRNO.EACCES);
      expect(e.message).toContain(`libxenctrl 4.${libraryMinor} (`);
      expect(e.message).toContain(`the running Xen 4.${xenMinor} speak different sysctl interface versions`);
    }
  });
});

describe('matching generations', () => {
  it.each([20, 21] as const)('pass force on 4.%i', async (minor) => {
    const s = await session(new FakeScript(), minor);
    await s.backend.upload('forced', Buffer.from('x'), { force: true });
    expect(uploads(s.trace())).toEqual([`upload name=${hex('forced')} size=1 force=1 sum=fd0c5087`]);
  });

  it('give EACCES without the mismatch sentence when the interfaces agree', async () => {
    const s = await session(new FakeScript().payload('p').fail('get', ERRNO.EACCES), 20);
    const e = await refusal(s.backend.get('p'));
    expect(e.errno).toBe(ERRNO.EACCES);
    expect(e.message).not.toContain('sysctl interface');
  });
});
