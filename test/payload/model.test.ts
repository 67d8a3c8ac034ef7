/** The payload model read from every valid fixture: what the mock and the workflows rely on. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadedPayloadInfo, type Payload, readPayload } from '../../lib/payload/index.js';
import { type Fixture, fixtures, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { patch } from '../helpers/patch-elf.js';

let all: Map<string, Fixture>;
beforeAll(async () => {
  all = await fixtures();
});

function model(name: string): Payload {
  const r = readPayload(all.get(name)!.bytes);
  expect(r.issues).toEqual([]);
  return r.payload!;
}

const hooksOf = (p: Payload) => p.hooks.map((h) => `${h.kind}[${h.index}]=${h.isNull ? 'null' : h.symbol}`);

describe('payload model', () => {
  it('reads build-ids from the three notes', () => {
    const p = model('func_normal');
    expect(p.buildId).toBe(all.get('func_normal')!.buildId);
    expect(p.xenDepends).toBe(XEN_BUILD_ID);
    expect(p.depends).toBe(XEN_BUILD_ID);
    expect(p.size).toBe(all.get('func_normal')!.bytes.length);
  });

  it('follows a dependency chain of three', () => {
    const [a, b, c] = ['chain_1', 'chain_2', 'chain_3'].map(model);
    expect(a!.depends).toBe(XEN_BUILD_ID);
    expect(b!.depends).toBe(a!.buildId);
    expect(c!.depends).toBe(b!.buildId);
    expect(new Set([a!.buildId, b!.buildId, c!.buildId]).size).toBe(3);
  });

  it('decodes a function entry with its relocations resolved', () => {
    const [f] = model('func_normal').funcs;
    expect(f).toMatchObject({
      index: 0,
      offset: 0,
      name: 'xen_extra_version',
      newSymbol: 'xlp_extra_version',
      newAddr: 0n,
      oldSymbol: 'xen_extra_version',
      oldAddr: 0n,
      newSize: 16,
      oldSize: 16,
      version: 2,
      isNop: false,
    });
    expect(f!.oldTarget).toEqual({ kind: 'external', symbol: 'xen_extra_version', addend: 0n });
    expect(f!.expect).toMatchObject({ enabled: false, len: 0, rsv: 0 });
  });

  it('recognises a NOP function and one resolved by name', () => {
    expect(model('func_nop').funcs[0]).toMatchObject({
      isNop: true,
      newSymbol: null,
      newSize: 6,
      oldSize: 16,
      oldSymbol: 'xen_minor_version',
    });
    expect(model('func_by_name').funcs[0]).toMatchObject({
      isNop: false,
      oldSymbol: null,
      oldAddr: 0n,
      name: 'xen_extra_version',
      newSymbol: 'xlp_replacement',
    });
  });

  it('decodes an expectation', () => {
    const e = model('expectations').funcs[0]!.expect!;
    expect({ enabled: e.enabled, len: e.len, rsv: e.rsv }).toEqual({ enabled: true, len: 8, rsv: 0 });
    expect(Buffer.from(e.data.subarray(0, 8)).toString('hex')).toBe('f30f1efa488d0500');
    expect(e.data).toHaveLength(31);
  });

  it.each([
    ['hook_preapply', ['preapply[0]=xlp_pre_apply'], ['preapply']],
    ['hook_postapply', ['postapply[0]=xlp_post_apply'], ['postapply']],
    ['hook_prerevert', ['prerevert[0]=xlp_pre_revert'], ['prerevert']],
    ['hook_postrevert', ['postrevert[0]=xlp_post_revert'], ['postrevert']],
    ['hook_null_preapply', ['preapply[0]=null'], []],
    ['hooks_action', ['apply[0]=xlp_apply_action', 'revert[0]=xlp_revert_action'], []],
    [
      'hooks_only_action',
      ['postrevert[0]=xlp_nofunc_post_revert', 'apply[0]=xlp_nofunc_apply', 'revert[0]=xlp_nofunc_revert'],
      ['postrevert'],
    ],
    ['hooks_only_load', ['load[0]=xlp_only_load', 'unload[0]=xlp_only_unload'], []],
    [
      'hooks_load_unload',
      ['load[0]=xlp_apply_hook', 'load[1]=xlp_hi_func', 'unload[0]=xlp_revert_hook', 'unload[1]=xlp_hi_func', 'unload[2]=xlp_check_fnc'],
      [],
    ],
  ])('%s: hooks and vetoing hooks', (name, hooks, vetoing) => {
    const p = model(name);
    expect(hooksOf(p).sort()).toEqual([...hooks].sort());
    expect(p.vetoingHooks).toEqual(vetoing);
  });

  it('lists hooks in Xen section order, then index order', () => {
    expect(hooksOf(model('hooks_only_action'))).toEqual(
      ['apply[0]=xlp_nofunc_apply', 'postrevert[0]=xlp_nofunc_post_revert', 'revert[0]=xlp_nofunc_revert'].sort(
        (a, b) => order(a) - order(b),
      ),
    );
  });

  it('has no funcs in hooks-only payloads', () => {
    expect(model('hooks_only_action').funcs).toEqual([]);
    expect(model('hooks_only_load').funcs).toEqual([]);
  });

  it('decides safe-to-reapply on the RW sections', () => {
    // livepatch.h keeps .livepatch.funcs and the hook pointers read-only.
    expect(model('func_normal')).toMatchObject({ safeToReapply: true, rwSections: [] });
    expect(model('hooks_only_load')).toMatchObject({ safeToReapply: true, rwSections: [] });
    // A writable .livepatch.funcs alone still counts as safe (Xen's own exception).
    const rwFuncs = readPayload(patch(all.get('func_normal')!.bytes).section('.livepatch.funcs', 'sh_flags', 3).bytes()).payload!;
    expect(rwFuncs).toMatchObject({ safeToReapply: true, rwSections: ['.livepatch.funcs'] });
    // Any other writable allocated data makes it unsafe; empty RW sections do not count.
    const lu = model('hooks_load_unload');
    expect(lu.safeToReapply).toBe(false);
    expect(lu.rwSections).toEqual(['.bss.xlp_cnt']);
    expect(lu.rwSections).not.toContain('.bss');
  });

  it('reads .modinfo strings and key=value entries', () => {
    expect(model('modinfo_kv').modinfo).toMatchObject({
      strings: ['version=1.2', 'author=xlp', 'ticket=XSA-999'],
      entries: [
        { key: 'version', value: '1.2' },
        { key: 'author', value: 'xlp' },
        { key: 'ticket', value: 'XSA-999' },
      ],
    });
    const rulez = model('modinfo_rulez').modinfo!;
    expect(rulez.strings).toEqual(['LIVEPATCH_RULEZ']);
    expect(rulez.entries).toEqual([]);
    expect(Buffer.from(rulez.raw).toString('latin1')).toBe('LIVEPATCH_RULEZ\0');
    expect(model('func_normal').modinfo).toBeNull();
  });

  it('lists undefined symbols and the symbols added to Xen', () => {
    const p = model('hooks_load_unload');
    expect([...p.undefinedSymbols].sort()).toEqual(['printk', 'xen_extra_version']);
    const names = p.symbols.map((s) => s.name);
    expect(names).toContain('xlp_hello_world');
    expect(names.some((n) => n.startsWith('.L'))).toBe(false);
    expect(p.symbols.find((s) => s.name === 'xlp_hello_world')).toMatchObject({ isFunction: true, replacesFunction: true });
    const info = loadedPayloadInfo('hello', p);
    expect(info).toMatchObject({ name: 'hello', buildId: p.buildId });
    expect(info.symbols).toContain('xlp_cnt');
    expect(info.symbols).not.toContain('xlp_hello_world');
  });

  it('serialises its lazily computed symbol lists', () => {
    const json = JSON.parse(JSON.stringify(model('func_normal'), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    expect(json.undefinedSymbols).toEqual(['xen_extra_version']);
    expect(json.symbols.length).toBeGreaterThan(0);
  });
});

const ORDER = ['load', 'unload', 'preapply', 'postapply', 'prerevert', 'postrevert', 'apply', 'revert'];
function order(h: string): number {
  return ORDER.indexOf(h.slice(0, h.indexOf('[')));
}
