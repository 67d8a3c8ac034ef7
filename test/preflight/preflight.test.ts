/** preflight() beyond single rules: valid payloads, contexts, version order, advice, the mock's flow. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadedPayloadInfo } from '../../lib/payload/index.js';
import { type Diagnostic, preflight, type PreflightContext } from '../../lib/preflight/index.js';
import { ERRNO } from '../../lib/xen/errno.js';
import { type Fixture, fixtures, VALID_NAMES, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { patch } from '../helpers/patch-elf.js';
import { scratchDir } from '../support/scratch.js';

let all: Map<string, Fixture>;
beforeAll(async () => {
  all = await fixtures();
});
const bytes = (n: string): Buffer => all.get(n)!.bytes;
const codes = (ds: readonly Diagnostic[]): string[] => ds.map((d) => d.code);
const refusals = (ds: readonly Diagnostic[]): string[] => codes(ds.filter((d) => d.severity === 'error' || d.severity === 'fatal'));

const XEN_SYMBOLS = new Map([
  ['xen_extra_version', 0xffff82d040257a20n],
  ['xen_minor_version', 0xffff82d040400000n],
  ['printk', 0xffff82d040210000n],
]);
const HOST: PreflightContext = { xenBuildId: XEN_BUILD_ID, xenSymbols: XEN_SYMBOLS, loaded: [], appliedBuildIds: [] };

describe('valid payloads', () => {
  it.each(VALID_NAMES.map((n) => [n]))('%s: no error offline, for 4.17 and HEAD', (n) => {
    for (const xenVersion of [undefined, { major: 4, minor: 21 }]) {
      const r = preflight(bytes(n), { name: n, ...(xenVersion ? { xenVersion } : {}) });
      expect(refusals(r.diagnostics)).toEqual([]);
      expect(r.uploadError).toBeNull();
      expect(r.fatal).toBe(false);
      expect(r.payload).not.toBeNull();
    }
  });

  it.each(VALID_NAMES.filter((n) => !n.startsWith('chain_')).map((n) => [n]))(
    '%s: no error on a matching host, and nothing left unverified',
    (n) => {
      const r = preflight(bytes(n), { name: n, context: HOST });
      expect(refusals(r.diagnostics)).toEqual([]);
      expect(codes(r.diagnostics)).not.toContain('symbols-unverified');
      expect(codes(r.diagnostics)).not.toContain('xen-build-id-unverified');
    },
  );

  it('says what a host check could not verify offline', () => {
    const r = preflight(bytes('func_normal'), { name: 'x' });
    expect(codes(r.diagnostics)).toEqual(expect.arrayContaining(['xen-build-id-unverified', 'symbols-unverified']));
    expect(r.diagnostics.find((d) => d.code === 'symbols-unverified')!.message).toContain('xen_extra_version');
  });
});

describe('a dependency chain on a host', () => {
  it('uploads and applies in order, each payload seeing the previous ones', () => {
    const loaded: { name: string; buildId: string | null; symbols: readonly string[] }[] = [];
    const applied: string[] = [];
    for (const n of ['chain_1', 'chain_2', 'chain_3']) {
      const r = preflight(bytes(n), { name: n, context: { ...HOST, loaded: [...loaded], appliedBuildIds: [...applied] } });
      expect(refusals(r.diagnostics)).toEqual([]);
      loaded.push(loadedPayloadInfo(n, r.payload!));
      applied.push(r.payload!.buildId!);
    }
  });

  it('refuses to apply out of order, and names the top of the stack', () => {
    const one = preflight(bytes('chain_1'), { name: 'chain_1' }).payload!;
    const r = preflight(bytes('chain_3'), {
      name: 'chain_3',
      context: { ...HOST, loaded: [loadedPayloadInfo('chain_1', one)], appliedBuildIds: [one.buildId!] },
    });
    expect(r.uploadError).toBeNull();
    const d = r.diagnostics.find((x) => x.code === 'depends-mismatch')!;
    expect(d).toMatchObject({
      group: 'apply',
      severity: 'error',
      errno: ERRNO.EINVAL,
      console: 'livepatch: chain_3: check against chain_1 build-id failed',
    });
  });

  it('says offline that the payload needs another one below it', () => {
    const r = preflight(bytes('chain_2'), { name: 'chain_2' });
    expect(codes(r.diagnostics)).toEqual(expect.arrayContaining(['depends-on-payload', 'replace-depends']));
  });

  it('refuses a second upload of the same payload (name, then build-id)', () => {
    const p = preflight(bytes('func_normal'), { name: 'a' }).payload!;
    const ctx = { ...HOST, loaded: [loadedPayloadInfo('a', p)] };
    expect(preflight(bytes('func_normal'), { name: 'a', context: ctx }).uploadError?.code).toBe('duplicate-name');
    // Under another name, the same build-id is refused; its symbols would clash too, later.
    const r = preflight(bytes('func_normal'), { name: 'b', context: ctx });
    expect(r.uploadError?.code).toBe('duplicate-build-id');
    expect(codes(r.diagnostics)).toContain('duplicate-symbol');
  });

  it('refuses two hook payloads built from the same macros (same symbol names)', () => {
    const first = preflight(bytes('hooks_only_load'), { name: 'first' }).payload!;
    const r = preflight(bytes('hooks_load_unload_same_tag'), {
      name: 'second',
      context: { ...HOST, loaded: [loadedPayloadInfo('first', first)] },
    });
    expect(r.uploadError).toMatchObject({ code: 'duplicate-symbol', errno: ERRNO.EEXIST });
    expect(r.uploadError!.console).toMatch(/^livepatch: second: duplicate new symbol: xlp_(un)?load_hooks_hooks_only_load$/);
    // Built with their own names (the builder's default), the two load together.
    const own = preflight(bytes('hooks_load_unload'), {
      name: 'second',
      context: { ...HOST, loaded: [loadedPayloadInfo('first', first)] },
    });
    expect(own.uploadError).toBeNull();
  });
});

describe('Xen version order', () => {
  it('4.17 checks the hypervisor build-id after prepare_payload; HEAD first', () => {
    const b = patch(bytes('modinfo_kv')).sectionBytes('.modinfo', 0, [0]).section('.modinfo', 'sh_size', 0).bytes();
    const ctx = { xenBuildId: 'ab'.repeat(20) };
    const old = preflight(b, { name: 'p', context: ctx });
    expect(old.uploadError?.code).toBe('modinfo-empty');
    expect(old.fatal).toBe(true);
    const head = preflight(b, { name: 'p', context: ctx, xenVersion: { major: 4, minor: 20 } });
    expect(head.uploadError?.code).toBe('xen-build-id-mismatch');
    // Still fatal: fixing the build-id would crash the host.
    expect(head.fatal).toBe(true);
  });

  it('4.17 maps every build-id parse error to EINVAL; 4.20 keeps ENODATA', () => {
    const b = patch(bytes('func_normal')).note('.note.gnu.build-id', 'type', 4).bytes();
    expect(preflight(b).uploadError).toMatchObject({ code: 'build-id-invalid', errno: ERRNO.EINVAL });
    expect(preflight(b, { xenVersion: { major: 4, minor: 20 } }).uploadError).toMatchObject({
      code: 'build-id-invalid',
      errno: ERRNO.ENODATA,
    });
  });

  it('ignores .alt_call_sites before 4.21', () => {
    expect(preflight(bytes('alt_call_6')).uploadError).toBeNull();
  });

  it('an unloaded single hook is a silent no-hook on 4.17, a use-after-free on 4.20', () => {
    const b = patch(bytes('hook_preapply')).section('.livepatch.hooks.preapply', 'sh_flags', 0).bytes();
    const old = preflight(b);
    expect(old.fatal).toBe(false);
    expect(codes(old.diagnostics)).toContain('hook-not-loaded');
    expect(old.payload!.vetoingHooks).toEqual([]);
    expect(preflight(b, { xenVersion: { major: 4, minor: 20 } }).fatal).toBe(true);
  });
});

describe('findings that depend on run-time addresses', () => {
  it('warns about old_size 5..8 (ENDBR64 needs 9)', () => {
    const r = preflight(patch(bytes('func_normal')).func(0, 'old_size', 8).bytes());
    expect(r.uploadError).toBeNull();
    expect(r.diagnostics.find((d) => d.code === 'func-old-size-endbr')).toMatchObject({
      severity: 'warning',
      check: 'F7',
      field: 'old_size',
    });
  });

  it('warns about an absolute old_addr, and checks its distance', () => {
    const b = patch(bytes('func_normal')).dropRelocation('.livepatch.funcs', 16).func(0, 'old_addr', 0xffff82d040123450n).bytes();
    const r = preflight(b);
    expect(r.uploadError).toBeNull();
    expect(codes(r.diagnostics)).toContain('func-old-addr-absolute');
    expect(codes(r.diagnostics)).not.toContain('func-too-far');
  });

  it('decides a PC32 reach with the hypervisor symbol table, and says when it cannot', () => {
    const near = preflight(bytes('func_normal'), { context: HOST });
    expect(codes(near.diagnostics)).not.toContain('relocation-overflow');
    const far = new Map(XEN_SYMBOLS);
    far.set('printk', 0x1000n);
    const r = preflight(bytes('hooks_load_unload'), { context: { ...HOST, xenSymbols: far } });
    expect(r.uploadError?.code).toBe('relocation-overflow');
  });

  it('reports expectations as an APPLY-time comparison, and never EFAULT or EOVERFLOW', () => {
    const r = preflight(bytes('expectations'));
    expect(r.diagnostics.find((d) => d.code === 'expectation-unverified')?.message).toContain('f30f1efa488d0500');
    // old_addr 0 with an expectation: upload resolves it (or fails), so APPLY never sees 0.
    const byName = preflight(
      patch(bytes('func_by_name'))
        .func(0, 'expect', 1 | (8 << 1))
        .bytes(),
    );
    expect(codes(byName.diagnostics)).not.toContain('expectation-no-old-addr');
    expect(codes(byName.diagnostics)).toContain('expectation-unverified');
  });
});

describe('hooks Xen calls', () => {
  it('warns about a hook without ENDBR64 (CET-IBT)', () => {
    const b = patch(bytes('hooks_only_load')).sectionBytes('.text.xlp_only_load', 0, [0x90, 0x90, 0x90, 0x90]).bytes();
    const r = preflight(b);
    expect(r.uploadError).toBeNull();
    expect(r.diagnostics.find((d) => d.code === 'hook-no-endbr')).toMatchObject({
      severity: 'warning',
      symbol: 'xlp_only_load',
      section: '.livepatch.hooks.load',
      offset: 0,
    });
  });

  it('treats a null single hook as no hook, but a null load entry as a crash', () => {
    expect(preflight(bytes('hook_null_preapply')).fatal).toBe(false);
    const r = preflight(patch(bytes('hooks_load_unload')).dropRelocation('.livepatch.hooks.unload', 16).bytes());
    expect(r.fatal).toBe(true);
    expect(r.diagnostics.find((d) => d.code === 'hook-call-invalid')?.message).toMatch(/unload hook 2 is a null pointer.*REVERT/);
  });
});

describe('advice', () => {
  it.each([
    ['hook_preapply', 'vetoing-hooks', /preapply \(xlp_pre_apply\)/],
    ['hook_postrevert', 'vetoing-hooks', /postrevert \(xlp_post_revert\)/],
    ['hooks_load_unload', 'not-safe-to-reapply', /\.bss\.xlp_cnt/],
    ['modinfo_rulez', 'modinfo-not-key-value', /LIVEPATCH_RULEZ/],
    ['hook_null_preapply', 'hook-null', /preapply/],
  ])('%s: %s', (n, code, message) => {
    const d = preflight(bytes(n), { name: 'ok' }).diagnostics.find((x) => x.code === code);
    expect(d?.message).toMatch(message);
    expect(d?.group).toBe('advice');
  });

  it('has no advice for a plain function patch', () => {
    expect(preflight(bytes('func_normal'), { name: 'func_normal' }).diagnostics.filter((d) => d.group === 'advice')).toEqual([]);
  });

  it.each([
    ['my patch!', 'name-characters'],
    ['a'.repeat(60), 'name-long'],
    ['', 'name-empty'],
    ['abc\0def', 'name-embedded-nul'],
  ])('name %j: %s, and no upload error', (name, code) => {
    const r = preflight(bytes('func_normal'), { name });
    expect(codes(r.diagnostics)).toContain(code);
    expect(r.uploadError).toBeNull();
  });

  it('counts the name in UTF-8 bytes, as libxenctrl does', () => {
    expect(preflight(bytes('func_normal'), { name: 'é'.repeat(63) }).uploadError).toBeNull(); // 126 bytes
    expect(preflight(bytes('func_normal'), { name: 'é'.repeat(64) }).uploadError?.code).toBe('name-too-long'); // 128 bytes
  });
});

describe('reports', () => {
  it('never lists more than a bounded number of one finding', () => {
    // Every relocation of every section against symbol 0.
    const p = patch(bytes('hooks_load_unload'));
    for (const s of p.elf.sections.filter((x) => x.type === 4)) {
      const v = p.elf.relocations(s.index)!;
      for (let i = 0; i < v.count; i++) p.rela(s.index, i, 'r_sym', 0);
    }
    const r = preflight(p.bytes());
    const nulls = r.diagnostics.filter((d) => d.code === 'relocation-null-symbol');
    expect(nulls.length).toBeLessThanOrEqual(21);
  });

  it('gives the payload model with the report', () => {
    const r = preflight(bytes('hooks_load_unload'));
    expect(r.payload?.hooks.length).toBe(5);
  });

  it('handles bytes that are not ELF at all', () => {
    const r = preflight(Buffer.from('#!/bin/sh\necho not a payload\n'.repeat(4)));
    expect(r.payload).toBeNull();
    expect(r.uploadError?.code).toBe('not-elf');
  });
});

describe('sizes no file can hold', () => {
  it('an .altinstructions whose offset + size wraps around 2^64 is fatal, and its declared size is never walked (found by npm run fuzz)', () => {
    const p = patch(bytes('alternatives'));
    const offset = BigInt(p.sectionOffset('.altinstructions'));
    // The smallest whole number of 14-byte entries from which offset + size wraps around 2^64.
    let size = (1n << 64n) - offset;
    size += (14n - (size % 14n)) % 14n;
    const dir = scratchDir('xlp-wrap-');
    const file = join(dir, 'wrap.livepatch');
    writeFileSync(file, p.section('.altinstructions', 'sh_size', size).bytes());
    // In a child with a deadline: walking 1.3e18 entries would never end.
    const lib = fileURLToPath(new URL('../../lib/preflight/index.ts', import.meta.url));
    const script = join(dir, 'run.mts');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';\nimport { preflight } from ${JSON.stringify(lib)};\nconst r = preflight(readFileSync(${JSON.stringify(file)}), { name: 'wrap' });\nconsole.log(JSON.stringify({ fatal: r.fatal, codes: r.diagnostics.map((d) => d.code) }));\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, 'preflight did not finish within 30 s').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { fatal: boolean; codes: string[] };
    expect(out.fatal).toBe(true);
    expect(out.codes).toContain('section-size-wraps');
  });
});
