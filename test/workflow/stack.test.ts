/**
 * The stack view: the x dump's parser (whole and cut by the console ring), the order and its
 * certainty, which records are trusted, and every consumer of the view with 1,000 payloads loaded.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../lib/backend/backend.js';
import { ManualClock, MockHypervisor } from '../../lib/mock/index.js';
import { ConsoleWatcher } from '../../lib/workflow/console-watcher.js';
import { parseDebugDump, parseDumpTail } from '../../lib/workflow/debug-dump.js';
import { type Journal, JournalStore } from '../../lib/workflow/journal.js';
import { readDebugDump } from '../../lib/workflow/read-dump.js';
import { trustedRecords } from '../../lib/workflow/read-stack.js';
import type { RegistryRecord } from '../../lib/workflow/registry.js';
import { type KnownPayload, type LoadedPayload, orderStack } from '../../lib/workflow/stack.js';
import { FLEET_XEN, populate } from '../../scripts/bench/fleet.js';
import { type Harness, harness, snapshot, tempDir } from './support/harness.js';
import { wfPayloads, type WfPayloads, WF_XEN } from './support/payloads.js';

let P: WfPayloads;
beforeAll(async () => {
  P = await wfPayloads();
});

describe('the x dump', () => {
  it("parses the mock's dump: every payload in upload order with its build-ids and metadata", async () => {
    const clock = new ManualClock();
    const xen = new MockHypervisor({ identity: { buildId: WF_XEN }, clock });
    await xen.upload('base one', await P.bytes('base'));
    await xen.upload('cumulative', await P.bytes('cumulative'));
    await xen.upload('second', await P.bytes('second'));
    await xen.action('base one', 'APPLY');
    clock.advance(5);
    await xen.readConsole({ incremental: true });
    await xen.sendDebugKeys('x');
    const dump = parseDebugDump(await xen.readConsole({ incremental: true }))!;
    expect(dump).toMatchObject({ xenBuildId: WF_XEN, truncated: false, incomplete: false });
    expect(dump.payloads.map((p) => [p.name, p.state, p.buildId, p.dependsOn, p.metadata.length])).toEqual([
      ['base one', 'APPLIED', P.buildId('base'), WF_XEN, 2],
      ['cumulative', 'CHECKED', P.buildId('cumulative'), WF_XEN, 2],
      ['second', 'CHECKED', P.buildId('second'), P.buildId('base'), 2],
    ]);
    expect(parseDebugDump("(XEN) 'x' pressed - Dumping all livepatch patches\n(XEN) Lock held. Try again.\n")).toMatchObject({
      incomplete: true,
      payloads: [],
    });
    expect(parseDebugDump('(XEN) nothing here\n')).toBeNull();
  });

  it('a tail cut anywhere yields exactly the blocks that survived whole, never a damaged one', async () => {
    // A ring large enough to hold the whole dump, so every cut can be compared with the whole.
    const xen = new MockHypervisor({ identity: { buildId: FLEET_XEN, quiesceMs: 0, rendezvousNs: 0, conringSize: 1 << 20 } });
    await populate(xen, join(await scratch(), 'state'), { loaded: 12, applied: 4 });
    await xen.readConsole({ incremental: true });
    await xen.sendDebugKeys('x');
    const text = await xen.readConsole({ incremental: true });
    const whole = parseDebugDump(text)!;
    expect(whole.payloads).toHaveLength(12);
    const nameLineStarts = [...text.matchAll(/^\(XEN\)  name=/gm)].map((m) => m.index);
    for (let cut = 0; cut < text.length; cut++) {
      const nl = text.indexOf('\n', cut);
      const expected = whole.payloads.filter((_, i) => nameLineStarts[i]! > nl);
      const tail = parseDumpTail(text.slice(cut));
      expect(tail?.payloads ?? [], `cut at ${cut}`).toEqual(expected);
      if (tail) expect(tail).toMatchObject({ truncated: true, xenBuildId: null });
    }
  });

  it("the mock's 16 KiB ring loses the beginning of a dump of 100 payloads; what is left is its last blocks", async () => {
    const xen = new MockHypervisor({ identity: { buildId: FLEET_XEN, quiesceMs: 0, rendezvousNs: 0 } });
    const fleet = await populate(xen, join(await scratch(), 'state'), { loaded: 100, applied: 10 });
    const reading = await readDebugDump(xen, new ConsoleWatcher(xen));
    expect(reading.outcome).toBe('truncated');
    if (reading.outcome !== 'truncated') return;
    expect(reading.bytes).toBe(16 * 1024);
    const names = reading.dump!.payloads.map((p) => p.name);
    expect(names.length).toBeGreaterThan(10);
    expect(names.length).toBeLessThan(100);
    expect(names).toEqual(fleet.uploadOrder.slice(-names.length));
    for (const p of reading.dump!.payloads) expect(p.buildId).toBe(fleet.buildIds.get(p.name));
  });

  it('reads at once: one press and one read when the dump fits or is cut; asks again only while Xen holds its lock', async () => {
    const full =
      "(XEN) 'x' pressed - Dumping all livepatch patches\n(XEN) build-id: aa\n(XEN)  name=p state=APPLIED(2) ffff (.data=ffff, .rodata=ffff) using 1 pages.\n(XEN) build-id=bb\n(XEN) depend-on=aa\n";
    const locked = "(XEN) 'x' pressed - Dumping all livepatch patches\n(XEN) build-id: aa\n(XEN) Lock held. Try again.\n";
    const cut =
      'e=p0 state=APPLIED(2) ffff (.data=ffff, .rodata=ffff) using 1 pages.\n(XEN) build-id=b0\n(XEN)  name=p1 state=CHECKED(1) ffff (.data=ffff, .rodata=ffff) using 1 pages.\n(XEN) build-id=b1\n(XEN) depend-on=aa\n';
    const fake = (answers: string[], keys: { fail?: boolean } = {}) => {
      let pending = '';
      const calls = { keys: 0, reads: 0 };
      const backend = {
        sendDebugKeys: async () => {
          calls.keys++;
          if (keys.fail) throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
          pending = answers.shift() ?? locked;
        },
        readConsole: async () => {
          calls.reads++;
          const t = pending;
          pending = '';
          return t;
        },
      } as unknown as Backend;
      return { backend, calls };
    };
    const once = fake([full]);
    expect(await readDebugDump(once.backend, new ConsoleWatcher(once.backend))).toMatchObject({
      outcome: 'complete',
      dump: { payloads: [{ name: 'p', buildId: 'bb' }] },
    });
    expect(once.calls).toEqual({ keys: 1, reads: 2 }); // the sync before the press, the dump after it

    const truncated = fake([cut]);
    const t0 = performance.now();
    expect(await readDebugDump(truncated.backend, new ConsoleWatcher(truncated.backend))).toMatchObject({
      outcome: 'truncated',
      dump: { truncated: true, payloads: [{ name: 'p1', buildId: 'b1', dependsOn: 'aa' }] },
    });
    expect(truncated.calls).toEqual({ keys: 1, reads: 2 });
    expect(performance.now() - t0).toBeLessThan(500);

    const retried = fake([locked, full]);
    expect((await readDebugDump(retried.backend, new ConsoleWatcher(retried.backend))).outcome).toBe('complete');
    const stuck = fake([locked, locked, locked, full]);
    expect((await readDebugDump(stuck.backend, new ConsoleWatcher(stuck.backend))).outcome).toBe('lock-held');
    expect(stuck.calls.keys).toBe(3);
    const denied = fake([], { fail: true });
    expect(await readDebugDump(denied.backend, new ConsoleWatcher(denied.backend))).toMatchObject({
      outcome: 'unavailable',
      reason: expect.stringMatching(/EPERM/),
    });
  });
});

describe('orderStack', () => {
  const xen = 'aa';
  const payload = (
    name: string,
    buildId: string | null,
    dependsOn: string | null,
    state: 'APPLIED' | 'CHECKED' = 'APPLIED',
  ): LoadedPayload => ({
    name,
    state,
    buildId,
    dependsOn,
    dependsOnXen: xen,
    metadata: [],
    evidence: buildId === null ? 'unknown' : 'registry',
  });
  const order = (loaded: LoadedPayload[], known: Record<string, KnownPayload> = {}) =>
    orderStack({
      xenBuildId: xen,
      loaded,
      known: (n) => known[n] ?? (loaded.find((p) => p.name === n)?.evidence === 'registry' ? { hooks: [] } : null),
      dump: 'not-needed',
    });

  it('follows the build-id chain from the hypervisor, whatever the upload order', () => {
    const v = order([payload('c', 'cc', 'bb'), payload('spare', 'ss', xen, 'CHECKED'), payload('a', 'a1', xen), payload('b', 'bb', 'a1')]);
    expect(v.applied.map((e) => [e.position, e.name, e.placement])).toEqual([
      [1, 'a', 'chain'],
      [2, 'b', 'chain'],
      [3, 'c', 'chain'],
    ]);
    expect(v.certainty).toEqual({ order: 'certain', dump: 'not-needed', notes: [] });
    expect(v.orderCertain).toBe(true);
  });

  it('places what --nodeps broke in the order xlp applied it, even when its depends note would fit the chain', () => {
    // a, then n (--nodeps), then b (--nodeps) whose note names a: the chain alone would put b second.
    const loaded = [payload('a', 'a1', xen), payload('n', 'n1', 'zz'), payload('b', 'bb', 'a1')];
    const v = order(loaded, {
      a: { hooks: [], appliedSeq: 1 },
      n: { hooks: [], appliedSeq: 2, appliedNodeps: true },
      b: { hooks: [], appliedSeq: 3, appliedNodeps: true },
    });
    expect(v.applied.map((e) => [e.name, e.placement])).toEqual([
      ['a', 'chain'],
      ['n', 'recorded'],
      ['b', 'recorded'],
    ]);
    expect(v.certainty.order).toBe('recorded');
    expect(v.orderCertain).toBe(false);
  });

  it('reports an applied payload of unknown build-id as uncertain, above the proven part, rather than guessing', () => {
    const v = order([payload('foreign', null, null), payload('a', 'a1', xen), payload('b', 'bb', 'a1')]);
    expect(v.applied.map((e) => [e.position, e.name, e.placement, e.evidence, e.hooks])).toEqual([
      [1, 'a', 'chain', 'registry', []],
      [2, 'b', 'chain', 'registry', []],
      [3, 'foreign', 'unknown', 'unknown', null],
    ]);
    expect(v.certainty.order).toBe('uncertain');
    expect(v.certainty.notes.join('\n')).toMatch(/build-id not known for "foreign"[\s\S]*place in the stack not known for "foreign"/);
  });
});

describe('which registry records are trusted', () => {
  const rec = (name: string, uploadedAt: string, modinfoSha256?: string): RegistryRecord =>
    ({
      version: 1,
      name,
      buildId: null,
      depends: null,
      xenDepends: null,
      hooks: [],
      vetoingHooks: [],
      safeToReapply: true,
      funcs: [],
      symbols: [],
      size: 1,
      sha256: '',
      uploadedAt,
      ...(modinfoSha256 ? { modinfoSha256 } : {}),
    }) as RegistryRecord;
  const listed = (name: string, metadata = new Uint8Array(0)) => ({ name, state: 'CHECKED' as const, rc: 0, metadata });
  const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

  it('LIST must show the same .modinfo and the same upload order as the records', () => {
    const t = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
    const records = [
      rec('a', t(1), EMPTY),
      rec('b', t(2), EMPTY),
      rec('c', t(3), EMPTY),
      rec('old', t(4)),
      rec('odd', 'not a time', EMPTY),
    ];
    // b was uploaded again by another tool after c (LIST puts it last); c now carries other metadata;
    // a record whose time does not parse is judged by its metadata alone, and does not end the order check.
    const trusted = trustedRecords(
      [listed('a'), listed('c', new Uint8Array([0x41, 0])), listed('old', new Uint8Array([0x42, 0])), listed('odd'), listed('b')],
      records,
    );
    expect([...trusted.keys()]).toEqual(['a', 'old', 'odd']);
  });

  it("a payload another tool put in place of one of xlp's, under its name, is told from the x dump", async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.upload('wf_second', P.path('second'));
    await h.lp.apply('wf_second');
    expect((await h.lp.stack()).certainty).toMatchObject({ order: 'certain', dump: 'not-needed' });
    expect(h.debugKeys()).toEqual([]);
    // Asked to check its records against the hypervisor, it presses x; the dump agrees with them.
    const checked = await h.lp.stack({ dump: 'always' });
    expect(h.debugKeys()).toEqual(['x']);
    expect(checked.certainty).toEqual({ order: 'certain', dump: 'complete', notes: [] });
    expect(checked.applied.map((e) => e.evidence)).toEqual(['registry', 'registry']);
    h.calls.length = 0;
    // Another tool reverts and unloads wf_second and loads a payload with other metadata under its name.
    await h.xen.action('wf_second', 'REVERT');
    h.clock.advance(10);
    await h.xen.get('wf_second');
    await h.xen.action('wf_second', 'UNLOAD');
    await h.xen.upload('wf_second', await P.bytes('guarded'));
    await h.xen.action('wf_second', 'APPLY');
    h.clock.advance(10);
    await h.xen.get('wf_second');
    const v = await h.lp.stack();
    expect(h.debugKeys()).toEqual(['x']);
    expect(v.certainty).toMatchObject({ order: 'certain', dump: 'complete' });
    // Its hooks are not known: xlp's record was of the other payload.
    expect(v.applied.map((e) => [e.name, e.buildId, e.evidence, e.hooks])).toEqual([
      ['wf_base', P.buildId('base'), 'registry', []],
      ['wf_second', P.buildId('guarded'), 'dump', null],
    ]);
  });

  it('a payload xlp applied with --nodeps is placed by its record, not by its depends note', async () => {
    const h = await harness();
    await h.lp.load(P.path('base'));
    await h.lp.load(P.path('cumulative'), { nodeps: true });
    // wf_second's note names wf_base, but it goes on top of wf_cumulative.
    await h.lp.load(P.path('second'), { nodeps: true });
    const v = await h.lp.stack();
    expect(v.applied.map((e) => [e.name, e.placement])).toEqual([
      ['wf_base', 'chain'],
      ['wf_cumulative', 'recorded'],
      ['wf_second', 'recorded'],
    ]);
    expect(await snapshot(h.xen)).toMatchObject({ applied: ['wf_base', 'wf_cumulative', 'wf_second'] });
  });
});

describe('the stack view with 1,000 payloads loaded', () => {
  // Actions complete at once (no quiesce, no rendezvous), so the fleet's own Livepatcher needs no clock.
  const fleetHost = () => harness({ identity: { buildId: FLEET_XEN, quiesceMs: 0, rendezvousNs: 0 } });

  it('every consumer works: x pressed once, and only while a payload xlp did not upload is applied', async () => {
    const h = await fleetHost();
    // 100 of xlp's applied, and one another tool uploaded first and applied on top: the x dump's
    // block of it is the first the console ring loses.
    const fleet = await populate(h.lp.backend, h.stateDir, { loaded: 1000, applied: 100, foreignApplied: 1, foreignFirst: true });
    const ours = fleet.stack.slice(0, 100);
    h.calls.length = 0;

    const t0 = performance.now();
    const v = await h.lp.stack();
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(h.debugKeys()).toEqual(['x']);
    expect(v.certainty.order).toBe('uncertain');
    expect(v.certainty.dump).toBe('truncated');
    expect(v.certainty.notes[0]).toMatch(/did not fit the hypervisor's console ring, which kept its last 16384 bytes/);
    expect(v.applied.map((e) => [e.name, e.placement])).toEqual([...ours.map((n) => [n, 'chain']), ['other_0000', 'unknown']]);
    // The workflows go on with what is known, and say what is not.
    const plan = await h.lp.planReplace('spare_0000');
    expect(plan.steps).toHaveLength(1);
    expect(plan.warnings.join('\n')).toMatch(/stack: place in the stack not known for "other_0000"/);

    // Uploaded again (last now), its block survives the ring and proves its place.
    await byHand(h, 'other_0000', 'REVERT');
    await byHand(h, 'other_0000', 'UNLOAD');
    await h.xen.upload('other_0000', fleet.bytes.get('other_0000')!);
    await byHand(h, 'other_0000', 'APPLY');
    const last = await h.lp.stack();
    expect(last.certainty.order).toBe('certain');
    expect(last.applied.at(-1)).toMatchObject({
      name: 'other_0000',
      placement: 'chain',
      evidence: 'dump',
      buildId: fleet.buildIds.get('other_0000'),
    });

    // With only xlp's payloads applied, nothing is pressed from here on.
    await byHand(h, 'other_0000', 'REVERT');
    h.calls.length = 0;
    const mine = await h.lp.stack();
    expect(mine.applied.map((e) => e.name)).toEqual(ours);
    expect(mine.certainty).toEqual({ order: 'certain', dump: 'not-needed', notes: [] });
    expect(mine.loaded).toHaveLength(1000);
    expect(
      mine.loaded
        .filter((p) => p.name !== 'other_0000')
        .every((p) => p.buildId === fleet.buildIds.get(p.name) && p.evidence === 'registry'),
    ).toBe(true);
    expect(await h.lp.status('spare_0007')).toEqual({ state: 'CHECKED', rc: 0 });

    const atomic = await h.lp.planReplace('spare_0000');
    expect(atomic).toMatchObject({ warnings: [], steps: [{ action: 'REPLACE', payload: 'spare_0000' }] });
    const sequential = await h.lp.planReplace('spare_0000', { sequential: true });
    expect(sequential.warnings).toEqual([]);
    expect(sequential.steps.map((s) => `${s.action} ${s.payload}`)).toEqual([
      ...[...ours].reverse().map((p) => `REVERT ${p}`),
      'APPLY spare_0000',
    ]);

    // An interrupted replace --sequential that had reverted the top three: recover puts them back in order.
    for (const p of [...ours].reverse().slice(0, 3)) await h.lp.revert(p);
    const journal: Journal = {
      version: 1,
      workflow: 'replace-sequential',
      command: 'replace --sequential spare_0000',
      startedAt: new Date().toISOString(),
      pid: 999_999,
      target: 'spare_0000',
      originalStack: ours,
      phase: 'forward',
      steps: [
        ...[...ours]
          .reverse()
          .map((p, i) => ({ action: 'REVERT' as const, payload: p, state: i < 3 ? ('done' as const) : ('pending' as const) })),
        { action: 'APPLY', payload: 'spare_0000', state: 'pending' },
      ],
      uploadedByWorkflow: false,
    };
    await new JournalStore(h.stateDir).write(journal);
    expect((await h.lp.planRecover()).steps.map((s) => `${s.action} ${s.payload}`)).toEqual(ours.slice(-3).map((p) => `APPLY ${p}`));
    await h.lp.recover();
    expect((await snapshot(h.xen)).applied).toEqual(ours);

    const replaced = await h.lp.replace('spare_0001');
    expect(replaced.steps.map((s) => `${s.action} ${s.payload} ${s.outcome}`)).toEqual(['REPLACE spare_0001 done']);
    expect((await h.lp.stack()).applied.map((e) => e.name)).toEqual(['spare_0001']);
    expect(h.debugKeys()).toEqual([]);
  });
});

/** What another tool does: the hypercall, then GET until it is done. */
async function byHand(h: Harness, name: string, action: 'APPLY' | 'REVERT' | 'UNLOAD'): Promise<void> {
  await h.xen.action(name, action);
  if (action !== 'UNLOAD') while ((await h.xen.get(name)).rc !== 0) h.clock.advance(1);
}

const scratch = () => tempDir('xlp-stack-');
