import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../../lib/native/binding.js';
import { openNative } from '../../../lib/native/index.js';
import { ERRNO } from '../../../lib/xen/errno.js';
import { XenUnavailableError } from '../../../lib/xen/errors.js';
import {
  FakeScript,
  GENERATIONS,
  SUITE_MINOR,
  fakeLibrary,
  generationOf,
  openFake,
  openFakeError,
  scratchDir,
  symbolVersion,
  writeScript,
} from '../support/fake-xenctrl.js';
import { RELEASE_ADDON } from '../support/paths.js';

function unavailable(error: unknown): XenUnavailableError {
  expect(error).toBeInstanceOf(XenUnavailableError);
  return error as XenUnavailableError;
}

describe('opening the interface', () => {
  it.each(GENERATIONS)('opens a 4.%i library as its own generation, reporting what it says it is', async (minor) => {
    const s = await openFake(new FakeScript(), minor);
    expect(s.backend.kind).toBe('native');
    const generation = generationOf(minor);
    expect(s.backend.info).toMatchObject({
      libraryPath: fakeLibrary(minor),
      generation,
      library: { major: 4, minor, soname: `libxenctrl.so.4.${minor}`, symbolVersion: symbolVersion(minor), generation },
      xen: { major: 4, minor, generation },
    });
    // The ASan run points XEN_LIVEPATCH_ADDON at its build; otherwise node-gyp-build finds build/Release.
    expect(s.backend.info.addonPath).toBe(process.env.XEN_LIVEPATCH_ADDON ?? RELEASE_ADDON);
    await s.backend.close();
    expect(s.trace()).toEqual(['open flags=0', 'version cmd=0', 'close']);
  });

  it.each([
    [14, '4.14-4.18'],
    [18, '4.14-4.18'],
    [19, '4.19-4.20'],
    [20, '4.19-4.20'],
    [21, '4.21+'],
    [24, '4.21+'],
  ] as const)("takes the generation from the library, not from the hypervisor's 4.%i", async (xenMinor, xenGeneration) => {
    const s = await openFake(new FakeScript().version(4, xenMinor));
    expect(s.backend.info.generation).toBe(generationOf(SUITE_MINOR));
    expect(s.backend.info.library).toMatchObject({ minor: SUITE_MINOR, generation: generationOf(SUITE_MINOR) });
    expect(s.backend.info.xen).toEqual({ major: 4, minor: xenMinor, generation: xenGeneration });
    await s.backend.close();
  });

  it('refuses a library that does not say which release it is (no soname, no symbol versions)', async () => {
    const library = fakeLibrary(SUITE_MINOR, { identity: 'none' });
    const e = unavailable(await openNative({ library }).catch((x: unknown) => x));
    expect(e.reason).toBe('unsupported-version');
    expect(e.errno).toBeUndefined();
    expect(e.message).toContain(library);
    expect(e.message).toContain('whose release is unknown');
  });

  it.each([
    [ERRNO.ENOENT, 'not-xen'],
    [ERRNO.ENXIO, 'not-xen'],
    [ERRNO.ENODEV, 'not-xen'],
    [ERRNO.EACCES, 'permission-denied'],
    [ERRNO.EPERM, 'permission-denied'],
    [ERRNO.ENOMEM, 'open-failed'],
    [ERRNO.EIO, 'open-failed'],
  ] as const)('reports an open failing with errno %i as %s, quoting libxenctrl', async (errno, reason) => {
    const e = unavailable(await openFakeError(new FakeScript().openFail(errno)));
    expect(e.reason).toBe(reason);
    expect(e.errno).toBe(errno);
    expect(e.message).toContain('cannot open the privileged command interface');
    expect(e.message).toContain(fakeLibrary());
    expect(e.tried).toEqual([]);
  });

  it('falls back to errno when libxenctrl logged nothing', async () => {
    const e = unavailable(await openFakeError(new FakeScript().openFail(ERRNO.ENOENT, { quiet: true })));
    expect(e).toMatchObject({ reason: 'not-xen', errno: ERRNO.ENOENT, code: 'ENOENT' });
    expect(e.message).not.toContain('privileged');
  });

  it.each([
    [4, 13],
    [4, 2],
    [5, 0],
    [3, 4],
  ])('refuses Xen %i.%i as unsupported-version', async (major, minor) => {
    const e = unavailable(await openFakeError(new FakeScript().version(major, minor)));
    expect(e.reason).toBe('unsupported-version');
    expect(e.errno).toBeUndefined();
    expect(e.message).toContain(`Xen ${major}.${minor} `);
  });

  it('refuses a 4.13 libxenctrl, which has no list size probe, as unsupported-version', async () => {
    const library = fakeLibrary(13);
    const e = unavailable(await openNative({ library }).catch((x: unknown) => x));
    expect(e.reason).toBe('unsupported-version');
    expect(e.tried).toEqual([library]);
    expect(e.message).toContain('xc_livepatch_list_get_sizes');
  });

  it('reports XENVER_version failing after the open as open-failed', async () => {
    const e = unavailable(await openFakeError(new FakeScript().fail('version', ERRNO.EACCES)));
    expect(e).toMatchObject({ reason: 'open-failed', errno: ERRNO.EACCES, code: 'EACCES' });
  });

  it('reports a missing library as library-not-found, naming the path and the loader error', async () => {
    const library = join(scratchDir(), 'libxenctrl.so.4.17');
    const e = unavailable(await openNative({ library }).catch((x: unknown) => x));
    expect(e).toMatchObject({ reason: 'library-not-found', code: 'ENOLIB', tried: [library] });
    expect(e.errno).toBeUndefined();
    expect(e.message).toContain(`${library}: cannot open shared object file: No such file or directory`);
  });

  it('reports a file that is not a shared library as library-not-found with the loader error', async () => {
    const library = join(scratchDir(), 'libxenctrl.so');
    writeFileSync(library, 'this is not an ELF file, but it is long enough to have a header of sorts.\n');
    const e = unavailable(await openNative({ library }).catch((x: unknown) => x));
    expect(e.reason).toBe('library-not-found');
    expect(e.message).toMatch(/invalid ELF header|file too short/);
  });

  it('reports a shared library that is not libxenctrl as library-not-found', async () => {
    const library = 'libm.so.6';
    const e = unavailable(await openNative({ library }).catch((x: unknown) => x));
    expect(e.reason).toBe('library-not-found');
    expect(e.message).toContain('not a libxenctrl');
    expect(e.message).toContain('xc_interface_open');
  });

  it('takes the library from XEN_LIVEPATCH_LIBXENCTRL when no option is given', async () => {
    const previous = process.env.XEN_LIVEPATCH_LIBXENCTRL;
    try {
      const bogus = join(scratchDir(), 'nowhere.so');
      process.env.XEN_LIVEPATCH_LIBXENCTRL = bogus;
      const e = unavailable(await openNative().catch((x: unknown) => x));
      expect(e).toMatchObject({ reason: 'library-not-found', tried: [bogus] });
      expect(e.message).toContain(`XEN_LIVEPATCH_LIBXENCTRL=${bogus}`);

      process.env.XEN_LIVEPATCH_LIBXENCTRL = fakeLibrary(20);
      const previousScript = process.env.XLP_FAKE_XENCTRL_SCRIPT;
      process.env.XLP_FAKE_XENCTRL_SCRIPT = writeScript(new FakeScript());
      try {
        const backend = await openNative();
        expect(backend.info.libraryPath).toBe(fakeLibrary(20));
        await backend.close();
      } finally {
        if (previousScript === undefined) delete process.env.XLP_FAKE_XENCTRL_SCRIPT;
        else process.env.XLP_FAKE_XENCTRL_SCRIPT = previousScript;
      }
    } finally {
      if (previous === undefined) delete process.env.XEN_LIVEPATCH_LIBXENCTRL;
      else process.env.XEN_LIVEPATCH_LIBXENCTRL = previous;
    }
  });

  it('checks its options before loading anything', async () => {
    await expect(openNative({ library: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(openNative({ library: '' })).rejects.toThrow(RangeError);
    await expect(openNative({ library: 'lib\0xenctrl.so' })).rejects.toThrow(RangeError);
  });

  it('does not let JS construct a handle itself', async () => {
    const handle = await loadAddon().addon.open({ library: fakeLibrary() });
    const ctor = (handle as unknown as { constructor: new () => unknown }).constructor;
    expect(() => new ctor()).toThrow(TypeError);
    await handle.close();
  });
});
