/**
 * The mock's state machine beyond the parity scenarios: hook behaviours, panics, timing, identity
 * switches, version differences and what the mock can only assume (warnings).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, MockHypervisor, type MockIdentityInput, MockPanicError, XenError } from '../../lib/mock/index.js';
import { parityIdentity } from '../../lib/parity/index.js';
import { ERRNO } from '../../lib/xen/errno.js';
import { payloadBytes, TEST_XEN, testPayloads } from '../support/mock-payloads.js';

beforeAll(async () => {
  await testPayloads();
});

function mockWith(identity: MockIdentityInput = {}, clock = new ManualClock(10)) {
  const mock = new MockHypervisor({ identity: parityIdentity(TEST_XEN, identity), clock });
  return { mock, clock };
}

async function settle(mock: MockHypervisor, clock: ManualClock, name: string) {
  clock.advance(1_000);
  return mock.get(name);
}

const errno = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof XenError) return e.code;
    throw e;
  }
};

describe('asynchronous completion', () => {
  it('keeps rc at -EAGAIN until the quiesce delay has passed, then completes on the next call', async () => {
    const { mock, clock } = mockWith({ quiesceMs: 20 });
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.action('nop', 'APPLY');
    expect(await mock.get('nop')).toEqual({ state: 'CHECKED', rc: -ERRNO.EAGAIN });
    clock.advance(19);
    expect(await mock.get('nop')).toEqual({ state: 'CHECKED', rc: -ERRNO.EAGAIN });
    clock.advance(2);
    expect(await mock.get('nop')).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('completes from a timer with the system clock, so console lines arrive without a call', async () => {
    const mock = new MockHypervisor({ identity: parityIdentity(TEST_XEN, { quiesceMs: 5 }) });
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.action('nop', 'APPLY');
    await new Promise((r) => setTimeout(r, 40));
    const inspected = await mock.inspect(); // inspect runs the idle loop too, so look at the console order instead
    expect(inspected.applied).toEqual(['nop']);
    expect(await mock.readConsole()).toContain('nop finished APPLY with rc=0');
    await mock.close();
  });

  it('never times out with one CPU: there is nobody to wait for', async () => {
    const { mock, clock } = mockWith({ cpus: 1, rendezvousNs: 10_000_000_000 });
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.action('nop', 'APPLY', { timeoutNs: 1 });
    expect(await settle(mock, clock, 'nop')).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('times out when the rendezvous is slower than the action timeout (and not otherwise)', async () => {
    const { mock, clock } = mockWith({ cpus: 4, rendezvousNs: 40_000_000 });
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.action('nop', 'APPLY'); // default 30 ms < 40 ms
    expect(await settle(mock, clock, 'nop')).toEqual({ state: 'CHECKED', rc: -ERRNO.EBUSY });
    expect(await mock.readConsole()).toContain(
      '(XEN) livepatch: nop: Timed out on semaphore in CPU quiesce phase 0/3\n(XEN) livepatch: nop finished APPLY with rc=-16\n',
    );
    await mock.action('nop', 'APPLY', { timeoutNs: 50_000_000 });
    expect(await settle(mock, clock, 'nop')).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('refuses a timeout that is not a u32 of nanoseconds', async () => {
    const { mock } = mockWith();
    await mock.upload('nop', await payloadBytes('nop'));
    await expect(mock.action('nop', 'APPLY', { timeoutNs: 2 ** 32 })).rejects.toThrow(RangeError);
  });
});

describe('hook behaviours', () => {
  it('runs in-process functions with the payload rc, and records every call', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    const seen: number[] = [];
    await mock.setHook({ payload: 'pp', kind: 'preapply' }, (ctx) => {
      ctx.printk('<1>custom pre-apply line');
      return ctx.calls === 1 ? -ERRNO.EAGAIN : 0;
    });
    await mock.setHook({ kind: 'postapply' }, (ctx) => void seen.push(ctx.payloadRc));
    expect(await errno(mock.action('pp', 'APPLY'))).toBe('EAGAIN');
    expect(await mock.get('pp')).toEqual({ state: 'CHECKED', rc: -ERRNO.EAGAIN });
    await mock.action('pp', 'APPLY');
    expect(await settle(mock, clock, 'pp')).toEqual({ state: 'APPLIED', rc: 0 });
    expect(seen).toEqual([0]);
    const calls = await mock.hookCalls();
    expect(calls.map((c) => [c.kind, c.symbol, c.rc, c.payloadRc])).toEqual([
      ['preapply', 'pre_apply_hook', -11, 0],
      ['preapply', 'pre_apply_hook', 0, -11],
      ['postapply', 'post_apply_hook', null, 0],
    ]);
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(await mock.readConsole()).toContain('(XEN) custom pre-apply line\n');
  });

  it('prefers a symbol rule over a payload+kind rule, and the latest among equals', async () => {
    const { mock } = mockWith();
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.setHook({ payload: 'pp', kind: 'preapply' }, { rc: -1 });
    await mock.setHook({ symbol: 'pre_apply_hook' }, { rc: -2 });
    await mock.setHook({ payload: 'pp', kind: 'preapply' }, { rc: -3 });
    expect(await errno(mock.action('pp', 'APPLY'))).toBe('ENOENT');
    await mock.clearHooks({ symbol: 'pre_apply_hook' });
    expect(await errno(mock.action('pp', 'APPLY'))).toBe('ESRCH');
  });

  it('a BUG() in a hook panics the hypervisor until it is rebooted', async () => {
    const { mock } = mockWith();
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.setHook({ kind: 'preapply' }, { bug: 'xen_prepost_hooks.c:42', printk: ['<3>pre_apply_hook: Hook starting.'] });
    await expect(mock.action('pp', 'APPLY')).rejects.toBeInstanceOf(MockPanicError);
    await expect(mock.get('pp')).rejects.toThrow(/Xen BUG at xen_prepost_hooks.c:42/);
    await mock.reboot();
    expect(await mock.list()).toEqual([]);
    expect(await mock.readConsole()).toBe('');
  });

  it('an action hook that leaves the functions half applied panics as Xen does', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('ah', await payloadBytes('action_hooks'));
    await mock.setHook({ kind: 'apply' }, { rc: 0, fstate: 'unchanged' });
    await mock.action('ah', 'APPLY');
    clock.advance(100);
    const err = await mock.get('ah').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MockPanicError);
    // The console (and the mock's own records) stay readable after the panic.
    const text = await mock.readConsole();
    expect(text).toContain("(XEN) livepatch: ah: Payload has a function: 'xen_extra_version' with inconsistent applied state.\n");
    expect(text).toContain(
      "(XEN) Panic on CPU 0:\n(XEN) livepatch: partially applied payload 'ah'!\n(XEN) ****************************************\n",
    );
    expect((await mock.inspect()).panic).toBe("livepatch: partially applied payload 'ah'!");
  });

  it('a function-form action hook that leaves the markers alone gets the consistent default', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('ah', await payloadBytes('action_hooks'));
    await mock.setHook({ kind: 'apply' }, () => 0);
    await mock.action('ah', 'APPLY');
    expect(await settle(mock, clock, 'ah')).toEqual({ state: 'APPLIED', rc: 0 });
    expect((await mock.inspect()).payloads[0]!.funcsApplied).toEqual([true]);
  });

  it('treats a positive pre-hook return as the hypercall result without failing it', async () => {
    const { mock } = mockWith();
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.setHook({ kind: 'preapply' }, { rc: 5 });
    await mock.action('pp', 'APPLY');
    expect(await mock.get('pp')).toEqual({ state: 'CHECKED', rc: 5 });
  });
});

describe('identity and version switches', () => {
  it('a hypervisor without a build-id takes no payload (ENODATA) and prints none in the x dump', async () => {
    const noId = new MockHypervisor({ identity: { ...parityIdentity(TEST_XEN), buildId: null }, clock: new ManualClock() });
    expect(await errno(noId.upload('nop', await payloadBytes('nop')))).toBe('ENODATA');
    await noId.sendDebugKeys('x');
    expect(await noId.readConsole()).toBe("(XEN) 'x' pressed - Dumping all livepatch patches\n");
  });

  it('LIVEPATCH_FLAG_FORCE is EINVAL before 4.19 and accepted from 4.19', async () => {
    const old = mockWith().mock;
    expect(await errno(old.upload('nop', await payloadBytes('nop'), { force: true }))).toBe('EINVAL');
    const next = mockWith({ version: '4.19' }).mock;
    await next.upload('nop', await payloadBytes('nop'), { force: true });
    expect((await next.xenVersion()).minor).toBe(19);
  });

  it('LIST enforces the caller buffer sizes from 4.21 (ENOBUFS), not before', async () => {
    for (const [version, expected] of [
      ['4.17', 'ok'],
      ['4.21', 'ENOBUFS'],
    ] as const) {
      const { mock } = mockWith({ version });
      await mock.upload('nop', await payloadBytes('nop'));
      expect(await errno(mock.listPage({ idx: 0, nr: 1, nameBufferSize: 2, metadataBufferSize: 0 }))).toBe(expected);
    }
    const { mock } = mockWith({ version: '4.21' });
    await mock.upload('nop', await payloadBytes('nop'));
    expect((await mock.listPage({ idx: 0, nr: 1, nameBufferSize: 4, metadataBufferSize: 0 })).entries).toHaveLength(1);
  });

  it('the release default loglvl drops INFO lines but keeps errors; the x key shows everything', async () => {
    const { mock, clock } = mockWith({ loglvl: 'warning' });
    await mock.upload('hw', await payloadBytes('hello_world'));
    await mock.upload('bye', await payloadBytes('bye_world'));
    await mock.action('hw', 'APPLY');
    await settle(mock, clock, 'hw');
    await mock.action('hw', 'REVERT').catch(() => undefined);
    await settle(mock, clock, 'hw');
    await mock.action('bye', 'APPLY').catch(() => undefined);
    const text = await mock.readConsole();
    expect(text).not.toContain('Applying');
    expect(text).not.toContain('finished');
    expect(text).toContain('(XEN) livepatch: bye: check against hypervisor build-id failed\n');
    await mock.sendDebugKeys('x');
    const dump = await mock.readConsole({ incremental: true });
    expect(dump).toContain('(XEN) livepatch:   LIVEPATCH_RULEZ\n');
    expect(dump).toContain(` name=hw state=CHECKED(1) `);
  });

  it('warns (mock-only) where it can only assume: no symbol table, unknown memory, unmodelled keys', async () => {
    const { mock, clock } = mockWith({ symbols: null, memory: {} });
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.upload('ex', await payloadBytes('expectations'));
    await mock.action('ex', 'APPLY');
    await settle(mock, clock, 'ex');
    await mock.sendDebugKeys('h');
    expect((await mock.warnings()).map((w) => w.kind)).toEqual(['unresolved-symbols', 'expectation-unverifiable', 'unsupported-debug-key']);
    expect(await mock.get('ex')).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('applies the ENDBR64 rule at upload when it knows the function starts with one', async () => {
    const { mock } = mockWith();
    const small = await (
      await import('../parity/payloads.js')
    ).buildParityPayloads({ xenBuildId: TEST_XEN, defines: { XLP_OLD_SIZE: '8' } });
    expect(await errno(mock.upload('hw', await small.bytes('replace_world')))).toBe('EINVAL');
    const plain = mockWith({ memory: { xen_extra_version: '554889e5c3cccccc' } }).mock;
    await plain.upload('hw', await small.bytes('replace_world'));
  });

  it('patches known memory: an expectation of the original bytes fails while another patch is applied', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('rw', await payloadBytes('replace_world'));
    await mock.upload('ex', await payloadBytes('expectations'));
    await mock.action('rw', 'APPLY');
    await settle(mock, clock, 'rw');
    await mock.readConsole({ incremental: true });
    expect(await errno(mock.action('ex', 'APPLY', { nodeps: true }))).toBe('EINVAL');
    expect(await mock.readConsole({ incremental: true })).toMatch(
      /expectation failed: expected:f30f1efa488d0500, actual:f30f1efae9[0-9a-f]{6}\n/,
    );
    await mock.action('rw', 'REVERT');
    await settle(mock, clock, 'rw');
    await mock.action('ex', 'APPLY');
    expect(await settle(mock, clock, 'ex')).toEqual({ state: 'APPLIED', rc: 0 });
  });

  it('a vm_event waitqueue fails the safety check inside the apply', async () => {
    const { mock, clock } = mockWith({ vmEventWaitqueueDomain: 3 });
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.action('nop', 'APPLY');
    expect(await settle(mock, clock, 'nop')).toEqual({ state: 'CHECKED', rc: -ERRNO.EBUSY });
    expect(await mock.readConsole()).toContain(
      '(XEN) livepatch: d3 found with active waitqueue\n(XEN) livepatch: nop: Safety checks failed: -16\n',
    );
  });
});

describe('names and the console ring', () => {
  // As the native addon does (native/args.cc), before any hypercall: the real-hypervisor run found
  // the mock answering these with EINVAL or success, where the native backend throws.
  it('refuses names no hypercall can carry as the native backend does: a NUL, empty, over 127 bytes', async () => {
    const { mock } = mockWith();
    const bytes = await payloadBytes('nop');
    await expect(mock.upload('abc\0def', bytes)).rejects.toThrow(new RangeError('name must not contain a NUL character'));
    await expect(mock.upload('', bytes)).rejects.toThrow(new RangeError('name must not be empty'));
    await expect(mock.upload('n'.repeat(128), bytes)).rejects.toThrow(new RangeError('name is 128 bytes of UTF-8; the limit is 127'));
    await expect(mock.get('')).rejects.toBeInstanceOf(RangeError);
    await expect(mock.action('n'.repeat(128), 'APPLY')).rejects.toBeInstanceOf(RangeError);
    await expect(mock.upload(42 as unknown as string, bytes)).rejects.toThrow(new TypeError('name must be a string or a Uint8Array'));
    await expect(mock.upload('ok', 'bytes' as unknown as Uint8Array)).rejects.toThrow(
      new TypeError('payload must be a Buffer or Uint8Array'),
    );
    await expect(mock.action('ok', 'FROB' as 'APPLY')).rejects.toBeInstanceOf(TypeError);
    await expect(mock.action('ok', 'APPLY', { timeoutNs: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(mock.sendDebugKeys('x\0')).rejects.toBeInstanceOf(RangeError);
    expect(await mock.list()).toEqual([]);
    expect(await mock.readConsole()).toBe('');
  });

  it('takes a name as UTF-8 bytes too, and refuses bytes that are not UTF-8 (its names are text)', async () => {
    const { mock } = mockWith();
    const bytes = await payloadBytes('nop');
    await mock.upload(Buffer.from('nop'), bytes);
    expect(await mock.get(new TextEncoder().encode('nop'))).toEqual({ state: 'CHECKED', rc: 0 });
    await mock.action(Buffer.from('nop'), 'APPLY');
    await expect(mock.get(Buffer.from([0xff]))).rejects.toThrow(
      new RangeError('name is not UTF-8; this backend keeps payload names as text'),
    );
    await expect(mock.upload(Buffer.alloc(128, 0x61), bytes)).rejects.toThrow(new RangeError('name is 128 bytes; the limit is 127'));
    await expect(mock.upload(Buffer.from([0x61, 0]), bytes)).rejects.toThrow(new RangeError('name must not contain a NUL byte'));
    expect((await mock.list()).map((e) => e.name)).toEqual(['nop']);
  });

  it('caps debug keys at 64, as the native backend does', async () => {
    const { mock } = mockWith();
    await mock.sendDebugKeys('h'.repeat(64));
    await expect(mock.sendDebugKeys('h'.repeat(65))).rejects.toThrow(new RangeError('keys is 65 bytes of UTF-8; the limit is 64'));
  });

  it('counts name bytes in UTF-8', async () => {
    const { mock } = mockWith();
    await expect(mock.upload('é'.repeat(64), await payloadBytes('nop'))).rejects.toBeInstanceOf(RangeError);
    await mock.upload('é'.repeat(63), await payloadBytes('nop'));
  });

  it('keeps incremental indexes per handle and loses the oldest bytes when the ring wraps', async () => {
    const { mock } = mockWith({ conringSize: 1024 });
    await mock.upload('pp', await payloadBytes('prepost_hooks'));
    await mock.setHook({ kind: 'preapply' }, { rc: -1, printk: ['<1>' + 'x'.repeat(100)] });
    for (let i = 0; i < 3; i++) await mock.action('pp', 'APPLY').catch(() => undefined);
    const first = await mock.readConsole({ incremental: true });
    expect(await mock.readConsole({ incremental: true })).toBe('');
    for (let i = 0; i < 20; i++) await mock.action('pp', 'APPLY').catch(() => undefined);
    const all = await mock.readConsole();
    expect(Buffer.byteLength(all)).toBe(1024);
    expect(all.startsWith('(XEN) ')).toBe(false); // cut mid-line, as Xen's ring is
    const later = await mock.readConsole({ incremental: true });
    expect(later).toBe(''); // the full read moved this handle's index to the end
    expect(first).toContain('pre-apply hook failed (rc=-1), aborting!');
  });
});

describe('action hooks and REPLACE', () => {
  async function actionAndLoad() {
    const { buildPayload } = await import('../../scripts/payloads/builder.js');
    const { readFile } = await import('node:fs/promises');
    const b = await buildPayload({
      name: 'action_and_load',
      sources: [new URL('./payloads/action_and_load.c', import.meta.url).pathname],
      xenDepends: TEST_XEN,
      defines: { XLP_TAG: '_al' },
    });
    return new Uint8Array(await readFile(b.path));
  }

  it("action hooks replace Xen's apply and revert, so the load/unload hooks do not run", async () => {
    const { mock, clock } = mockWith();
    await mock.upload('al', await actionAndLoad());
    await mock.action('al', 'APPLY');
    expect(await settle(mock, clock, 'al')).toEqual({ state: 'APPLIED', rc: 0 });
    await mock.action('al', 'REVERT');
    expect(await settle(mock, clock, 'al')).toEqual({ state: 'CHECKED', rc: 0 });
    expect((await mock.hookCalls()).map((c) => c.kind)).toEqual(['apply', 'revert']);
  });

  it('REPLACE stops at a failing revert: rc -EINVAL, the rest stays applied, that payload keeps its rc', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('nop', await payloadBytes('nop'));
    await mock.upload('al', await actionAndLoad());
    await mock.upload('rw', await payloadBytes('replace_world'));
    await mock.action('nop', 'APPLY');
    await settle(mock, clock, 'nop');
    await mock.action('al', 'APPLY', { nodeps: true });
    await settle(mock, clock, 'al');
    await mock.setHook({ payload: 'al', kind: 'revert' }, { rc: -5 });
    await mock.action('rw', 'REPLACE');
    expect(await settle(mock, clock, 'rw')).toEqual({ state: 'CHECKED', rc: -ERRNO.EINVAL });
    expect(await mock.get('al')).toEqual({ state: 'APPLIED', rc: -5 });
    expect(await mock.get('nop')).toEqual({ state: 'APPLIED', rc: 0 });
    expect((await mock.inspect()).applied).toEqual(['nop', 'al']);
  });

  it('REPLACE does not check safe-to-reapply: a reverted payload with .bss comes back', async () => {
    const { mock, clock } = mockWith();
    await mock.upload('hw', await payloadBytes('hello_world'));
    await mock.action('hw', 'APPLY');
    await settle(mock, clock, 'hw');
    await mock.action('hw', 'REVERT');
    await settle(mock, clock, 'hw');
    await mock.action('hw', 'APPLY');
    expect(await mock.get('hw')).toEqual({ state: 'CHECKED', rc: -ERRNO.EINVAL });
    await mock.action('hw', 'REPLACE');
    expect(await settle(mock, clock, 'hw')).toEqual({ state: 'APPLIED', rc: 0 });
  });
});
