/**
 * The store of installed patches, with real payloads: stack order, one-set validation (nothing is
 * written when any patch of a change is refused), idempotent re-install, names never file names,
 * an atomic manifest, and everything read back checked as untrusted input.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InstallOrderError } from '../../lib/lifecycle/install-order.js';
import { InstalledStore, InstalledStoreError, InstallRefusedError, type NewPatch, NotInstalledError } from '../../lib/lifecycle/store.js';
import { readPayload } from '../../lib/payload/read-payload.js';
import { scratchDir } from '../support/scratch.js';
import { OTHER_XEN, type WfPayload, wfPayloads, type WfPayloads, WF_XEN } from '../workflow/support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

async function patch(id: WfPayload, name = `wf_${id}`): Promise<NewPatch> {
  const bytes = await P.bytes(id);
  return { name, bytes, payload: readPayload(bytes).payload!, signature: null };
}

function newStore(): { store: InstalledStore; state: string } {
  const state = scratchDir('xlp-store-');
  chmodSync(state, 0o700);
  return { store: new InstalledStore(state, { durable: false }), state };
}

const names = (b: { patches: readonly { name: string }[] } | null): string[] => (b ? b.patches.map((p) => p.name) : []);

describe('installed store', () => {
  it('keeps a chain in depends order whatever order it is installed in, across builds', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('third'), await patch('base'), await patch('second')] });
    expect(names(await store.get(WF_XEN))).toEqual(['wf_base', 'wf_second', 'wf_third']);
    expect(await store.builds()).toEqual([WF_XEN]);
    expect(await store.buildsWith('wf_second')).toEqual([WF_XEN]);
    const p = (await store.get(WF_XEN))!.patches[1]!;
    expect(p).toMatchObject({ buildId: P.buildId('second'), depends: P.buildId('base'), xenDepends: WF_XEN, signature: null });
  });

  it('installing the same bytes again changes nothing and writes nothing', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('base')] });
    const manifest = join(store.buildDir(WF_XEN), 'manifest.json');
    const before = readFileSync(manifest, 'utf8');
    const again = await store.commit(WF_XEN, { add: [await patch('base')] });
    expect(again).toMatchObject({ changed: false, unchanged: ['wf_base'], added: [] });
    expect(readFileSync(manifest, 'utf8')).toBe(before);
  });

  it('refuses other bytes under an installed name unless replacing is asked for', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('cumulative', 'hotfix')] });
    await expect(store.commit(WF_XEN, { add: [await patch('cumulative2', 'hotfix')] })).rejects.toMatchObject({
      name: 'InstallRefusedError',
      problem: 'name-taken',
      payload: 'hotfix',
    });
    const r = await store.commit(WF_XEN, { add: [await patch('cumulative2', 'hotfix')], replace: true });
    expect(r).toMatchObject({ changed: true, replaced: ['hotfix'] });
    expect((await store.read(WF_XEN, 'hotfix')).bytes).toEqual(await P.bytes('cumulative2'));
    // The old version's bytes are gone from the build's directory.
    expect(readdirSync(store.buildDir(WF_XEN)).filter((f) => f.endsWith('.livepatch'))).toHaveLength(1);
  });

  it('validates the whole set before writing anything: one bad patch means none installed', async () => {
    const { store, state } = newStore();
    // `guarded` claims wf_base's place as `second` does: the set cannot form one stack.
    const e = await store
      .commit(WF_XEN, { add: [await patch('base'), await patch('second'), await patch('guarded')] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InstallOrderError);
    expect(e).toMatchObject({ problem: 'same-base', payloads: ['wf_second', 'wf_guarded'] });
    expect(await store.list()).toEqual([]);
    expect(existsSync(join(state, 'installed', WF_XEN))).toBe(false);

    await store.commit(WF_XEN, { add: [await patch('base')] });
    await expect(store.commit(WF_XEN, { add: [await patch('third')] })).rejects.toMatchObject({
      problem: 'missing-base',
      payload: 'wf_third',
    });
    await expect(store.commit(WF_XEN, { add: [await patch('cumulative')] })).rejects.toMatchObject({ problem: 'same-base' });
    expect(names(await store.get(WF_XEN))).toEqual(['wf_base']);
  });

  it('refuses a payload for another build, and one name twice in a change', async () => {
    const { store } = newStore();
    await expect(store.commit(OTHER_XEN, { add: [await patch('base')] })).rejects.toMatchObject({ problem: 'wrong-build' });
    const wrong = await patch('wrong_xen');
    await expect(store.commit(WF_XEN, { add: [wrong] })).rejects.toBeInstanceOf(InstallRefusedError);
    await expect(store.commit(WF_XEN, { add: [await patch('base'), await patch('base')] })).rejects.toMatchObject({
      problem: 'duplicate-name',
      category: 'usage',
    });
  });

  it('never makes a payload name a file name', async () => {
    const { store } = newStore();
    const odd = '../../etc/passwd';
    await store.commit(WF_XEN, { add: [await patch('cumulative', odd)] });
    const files = readdirSync(store.buildDir(WF_XEN));
    expect(files.every((f) => f === 'manifest.json' || /^[0-9a-f]{32}-[0-9a-f]{16}\.livepatch$/.test(f))).toBe(true);
    expect((await store.read(WF_XEN, odd)).patch.name).toBe(odd);
  });

  it('uninstall refuses to strand dependants unless they go too; the last uninstall removes the build', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('base'), await patch('second'), await patch('third')] });
    await expect(store.uninstall(WF_XEN, 'wf_second')).rejects.toMatchObject({ name: 'DependedOnError', dependants: ['wf_third'] });
    expect((await store.uninstall(WF_XEN, 'wf_second', { withDependants: true })).removed).toEqual(['wf_second', 'wf_third']);
    await expect(store.uninstall(WF_XEN, 'wf_third')).rejects.toBeInstanceOf(NotInstalledError);
    await store.uninstall(WF_XEN, 'wf_base');
    expect(await store.builds()).toEqual([]);
    expect(existsSync(store.buildDir(WF_XEN))).toBe(false);
  });

  it('checks the manifest as untrusted input: damaged fields, a stack that no longer forms, altered bytes', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('base'), await patch('second')] });
    const dir = store.buildDir(WF_XEN);
    const manifestPath = join(dir, 'manifest.json');
    const good = readFileSync(manifestPath, 'utf8');
    const m = JSON.parse(good);

    m.patches[0].file = '../../escape.livepatch';
    writeFileSync(manifestPath, JSON.stringify(m));
    await expect(store.get(WF_XEN)).rejects.toBeInstanceOf(InstalledStoreError);

    const swapped = JSON.parse(good);
    swapped.patches[1].depends = swapped.patches[1].buildId;
    writeFileSync(manifestPath, JSON.stringify(swapped));
    await expect(store.get(WF_XEN)).rejects.toThrow(/no longer form one stack/);

    writeFileSync(manifestPath, good);
    const blob = join(dir, JSON.parse(good).patches[0].file);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(blob, bytes);
    await expect(store.read(WF_XEN, 'wf_base')).rejects.toThrow(/was altered/);
    expect((await store.read(WF_XEN, 'wf_second')).bytes).toEqual(await P.bytes('second'));

    chmodSync(manifestPath, 0o666);
    await expect(store.get(WF_XEN)).rejects.toMatchObject({ problem: 'unsafe' });
  });

  it('a crash after the new files but before the manifest leaves the old set, and the next change cleans up', async () => {
    const { store } = newStore();
    await store.commit(WF_XEN, { add: [await patch('base')] });
    const dir = store.buildDir(WF_XEN);
    // What an interrupted install of wf_second leaves: its bytes and a temporary manifest, no commit.
    writeFileSync(join(dir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb.livepatch'), 'partial', { mode: 0o600 });
    writeFileSync(join(dir, '.manifest.json.tmp-123'), '{', { mode: 0o600 });
    expect(names(await store.get(WF_XEN))).toEqual(['wf_base']);
    await store.commit(WF_XEN, { add: [await patch('second')] });
    expect(readdirSync(dir).sort()).toHaveLength(3);
    expect(names(await store.get(WF_XEN))).toEqual(['wf_base', 'wf_second']);
  });
});
