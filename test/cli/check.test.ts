/** `xlp check`: the compiled CLI end to end, and the command with an injected (fake) Xen host. */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../lib/backend/backend.js';
import { runCheck } from '../../lib/cli/commands/check.js';
import { payloadNameOf } from '../../lib/payload/index.js';
import type { CheckJson } from '../../lib/cli/check-json.js';
import { Output } from '../../lib/cli/output.js';
import { formatNmSymbols } from '../../lib/xen/symbols.js';
import { readElf } from '../../lib/elf/index.js';
import type { SystemContextDeps } from '../../lib/host/index.js';
import { fixture, OTHER_XEN_BUILD_ID, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { patch } from '../helpers/patch-elf.js';
import { scratchDir } from '../support/scratch.js';
import { assertBuilt } from './support/xlp.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/xlp.js', import.meta.url));

async function xlp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
let good: string;
let bad: string;
let fatal: string;
let symbols: string;
beforeAll(async () => {
  assertBuilt();
  dir = scratchDir('xlp-check-');
  good = (await fixture('hooks_load_unload')).path;
  bad = join(dir, 'broken.livepatch');
  await writeFile(bad, patch((await fixture('func_normal')).bytes).section('.rodata.xlp_name', 'sh_addralign', 3).bytes());
  fatal = (await fixture('modinfo_empty')).path;
  symbols = join(dir, 'xensyms');
  await writeFile(symbols, formatNmSymbols(new Map([['xen_extra_version', 0xffff82d040257a20n], ['printk', 0xffff82d040210000n]])));
});

describe('xlp check (compiled CLI)', () => {
  it('exits 0 for a valid payload and says so', async () => {
    const r = await xlp('check', '--offline', good);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: no errors');
    expect(r.stdout).toContain('not-safe-to-reapply');
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colours when not a terminal
  });

  it('exits 1 and names the check, errno and location for a broken payload', async () => {
    const r = await xlp('check', '--offline', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error\s+EOPNOTSUPP\s+S2\s+section-alignment\s+\.rodata\.xlp_name sh_addralign/);
    const index = readElf(await readFile(bad)).elf!.sectionByName('.rodata.xlp_name')!.index;
    expect(r.stdout).toContain(`(XEN) livepatch: broken: Section [${index}] alignment (0x3) is not supported`);
    expect(r.stdout).toContain('UPLOAD would fail with EOPNOTSUPP');
  });

  it('exits 1 for a fatal payload and says never to upload it', async () => {
    const r = await xlp('check', '--offline', fatal);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FATAL');
  });

  it('exits 1 when any of several payloads has errors, and sums up', async () => {
    const r = await xlp('check', '--offline', good, bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('2 payloads checked: 1 ok, 1 with errors.');
  });

  it('prints the documented JSON', async () => {
    const r = await xlp('check', '--offline', '--json', good, bad);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as CheckJson;
    expect(doc).toMatchObject({ schema: 'xlp-check/1', xenVersion: '4.17', ok: false, context: { source: 'offline', xenSymbols: null, loaded: null, notes: [] } });
    const [g, b] = doc.payloads;
    expect(g).toMatchObject({ name: 'hooks_load_unload', ok: true, fatal: false, uploadError: null, counts: { error: 0, fatal: 0, warning: 1 } });
    expect(g!.payload).toMatchObject({ xenDepends: XEN_BUILD_ID, safeToReapply: false, vetoingHooks: [] });
    expect(g!.payload!.hooks).toHaveLength(5);
    expect(b).toMatchObject({ name: 'broken', ok: false, uploadError: { code: 'section-alignment', check: 'S2', errno: 95, errnoName: 'EOPNOTSUPP', section: '.rodata.xlp_name', field: 'sh_addralign' } });
  });

  it('checks against a given build-id and symbol table', async () => {
    const ok = await xlp('check', '--json', '--offline', '--xen-build-id', XEN_BUILD_ID, '--symbols', symbols, good);
    const doc = JSON.parse(ok.stdout) as CheckJson;
    expect(ok.code).toBe(0);
    expect(doc.context).toMatchObject({ source: 'flags', xenBuildId: XEN_BUILD_ID, xenSymbols: 2 });
    expect(doc.payloads[0]!.diagnostics.map((d) => d.code)).not.toContain('symbols-unverified');

    const other = await xlp('check', '--offline', '--xen-build-id', OTHER_XEN_BUILD_ID, good);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('xen-build-id-mismatch');
    const none = await xlp('check', '--offline', '--xen-build-id', 'none', good);
    expect(none.stdout).toMatch(/ENODATA\s+P3\s+xen-build-id-unavailable/);
  });

  it('checks as another Xen version', async () => {
    const r = await xlp('check', '--offline', '--json', '--xen-version', 'head', '--xen-build-id', OTHER_XEN_BUILD_ID, good);
    const doc = JSON.parse(r.stdout) as CheckJson;
    expect(doc.xenVersion).toBe('4.22');
    expect(doc.payloads[0]!.uploadError!.console).toContain('build-id mismatch:');
  });

  it.each([
    [['check', '--offline', '/nonexistent/x.livepatch'], /no such file/],
    [['check', '--offline', '--xen-build-id', 'xyz', 'x'], /--xen-build-id/],
    [['check', '--offline', '--xen-version', '4.13', 'x'], /--xen-version/],
    [['check', '--offline', '--symbols', '/nonexistent', 'x'], /--symbols/],
    [['check'], /missing required argument/],
  ])('exits 2 on usage errors: %j', async (args, message) => {
    const r = await xlp(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a symbols file that is not nm output', async () => {
    const r = await xlp('check', '--offline', '--symbols', good, good);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not an nm-format symbol table');
  });
});

/** Output that keeps what it prints. */
function capture(json: boolean): { out: Output; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  const stream = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  return { out: new Output({ json, quiet: false }, stream((s) => (o += s)), stream((s) => (e += s))), stdout: () => o, stderr: () => e };
}

function fakeHost(overrides: Partial<Backend> = {}, symbolsText: string | null = 'ffff82d040257a20 T xen_extra_version\nffff82d040210000 T printk\n'): SystemContextDeps & { closed: () => boolean } {
  let closed = false;
  const backend = {
    kind: 'mock',
    xenVersion: async () => ({ major: 4, minor: 17, extra: '.7', buildId: XEN_BUILD_ID }),
    list: async () => [{ name: 'hooks_load_unload', state: 'CHECKED', rc: 0, metadata: new Uint8Array() }],
    close: async () => {
      closed = true;
    },
    ...overrides,
  } as unknown as Backend;
  return { isXenHost: () => true, openBackend: async () => backend, readXenSymbols: async () => symbolsText, closed: () => closed };
}

describe('xlp check on a Xen host (injected)', () => {
  it('reads build-id, uploaded names and symbols from the system', async () => {
    const host = fakeHost();
    const c = capture(true);
    const code = await runCheck([good], { json: true }, c.out, { system: host });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.context).toMatchObject({ source: 'system', xenBuildId: XEN_BUILD_ID, xenSymbols: 2, loaded: ['hooks_load_unload'] });
    // Its own name is already uploaded.
    expect(doc.payloads[0]!.uploadError).toMatchObject({ code: 'duplicate-name', errnoName: 'EEXIST' });
    expect(code).toBe(1);
    expect(host.closed()).toBe(true);
  });

  it("sees xlp's registry on a dom0: the build-id and symbols of a payload it uploaded, as load does", async () => {
    const { readPayload } = await import('../../lib/payload/index.js');
    const { readFile } = await import('node:fs/promises');
    const model = readPayload(await readFile(good)).payload!;
    const uploaded = { name: 'earlier', buildId: model.buildId, symbols: ['xen_extra_version'] };
    const c = capture(true);
    await runCheck([good], { json: true }, c.out, {
      system: fakeHost({ list: async () => [{ name: 'earlier', state: 'CHECKED', rc: 0, metadata: new Uint8Array() }] }),
      known: { all: async () => [uploaded] },
    });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.context).toMatchObject({ source: 'system', loaded: ['earlier'] });
    expect(doc.payloads[0]!.diagnostics.map((d) => d.code)).toContain('duplicate-build-id');
    // Without the registry, LIST names the payload but says nothing of its build-id.
    const bare = capture(true);
    await runCheck([good], { json: true }, bare.out, {
      system: fakeHost({ list: async () => [{ name: 'earlier', state: 'CHECKED', rc: 0, metadata: new Uint8Array() }] }),
      known: { all: async () => [] },
    });
    expect((JSON.parse(bare.stdout()) as CheckJson).payloads[0]!.diagnostics.map((d) => d.code)).not.toContain('duplicate-build-id');
  });

  it("notes a registry it cannot read and checks without it", async () => {
    const c = capture(true);
    await runCheck([good], { json: true }, c.out, { system: fakeHost({ list: async () => [] }), known: { all: async () => Promise.reject(new Error('unsafe')) } });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.context.notes).toContainEqual(expect.stringContaining("xlp's registry could not be read (unsafe)"));
    expect(doc.context.source).toBe('system');
  });

  it('lets flags override the system', async () => {
    const c = capture(true);
    await runCheck([good], { json: true, xenBuildId: OTHER_XEN_BUILD_ID }, c.out, { system: fakeHost({ list: async () => [] }) });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.context).toMatchObject({ source: 'system', xenBuildId: OTHER_XEN_BUILD_ID });
    expect(doc.payloads[0]!.uploadError?.code).toBe('xen-build-id-mismatch');
  });

  it('falls back to offline with a note when the hypervisor cannot be reached', async () => {
    const c = capture(false);
    const unreachable: SystemContextDeps = { isXenHost: () => true, openBackend: async () => Promise.reject(new Error('no libxenctrl')), readXenSymbols: async () => null };
    const code = await runCheck([good], {}, c.out, { system: unreachable });
    expect(code).toBe(0);
    expect(c.stdout()).toContain('note: this looks like a Xen host, but the hypervisor could not be reached: no libxenctrl; checking offline');
  });

  it('notes an unreadable xensyms and goes on', async () => {
    const c = capture(true);
    await runCheck([good], { json: true }, c.out, { system: fakeHost({ list: async () => [] }, null) });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.context.notes[0]).toContain('/proc/xen/xensyms could not be read');
    expect(doc.ok).toBe(true);
  });

  it('does not touch the system with --offline', async () => {
    const c = capture(true);
    let opened = false;
    const host: SystemContextDeps = { isXenHost: () => true, openBackend: async () => ((opened = true), Promise.reject(new Error('x'))), readXenSymbols: async () => null };
    await runCheck([good], { json: true, offline: true }, c.out, { system: host });
    expect(opened).toBe(false);
    expect((JSON.parse(c.stdout()) as CheckJson).context.source).toBe('offline');
  });

  it('derives the payload name as xen-livepatch load does', () => {
    expect(payloadNameOf('/a/b/hello.livepatch')).toBe('hello');
    expect(payloadNameOf('x.y.z')).toBe('x.y');
    expect(payloadNameOf('plain')).toBe('plain');
  });
});

describe('the native backend behind xlp check', () => {
  it('is reported unavailable, with the reason, when libxenctrl cannot be loaded; check then goes offline with a note', async () => {
    const { openNativeBackend, loadSystemContext } = await import('../../lib/host/index.js');
    const saved = process.env.XEN_LIVEPATCH_LIBXENCTRL;
    process.env.XEN_LIVEPATCH_LIBXENCTRL = '/nonexistent/libxenctrl.so';
    try {
      await expect(openNativeBackend()).rejects.toMatchObject({ name: 'XenUnavailableError', reason: 'library-not-found', message: expect.stringContaining('/nonexistent/libxenctrl.so') });
      const ctx = await loadSystemContext({ isXenHost: () => true, openBackend: openNativeBackend, readXenSymbols: async () => null });
      expect(ctx.context).toBeNull();
      expect(ctx.notes).toEqual([expect.stringMatching(/^this looks like a Xen host, but the hypervisor could not be reached: .*libxenctrl could not be loaded.*; checking offline$/)]);
    } finally {
      if (saved === undefined) delete process.env.XEN_LIVEPATCH_LIBXENCTRL;
      else process.env.XEN_LIVEPATCH_LIBXENCTRL = saved;
    }
  });
});
