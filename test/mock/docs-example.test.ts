// The example of docs/mock.md, kept here so it keeps working (imports adjusted to the source tree).
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { ManualClock, MockHypervisor, XenError } from '../../lib/mock/index.js';
import { buildPayload } from '../../scripts/payloads/builder.js';

const XEN_BUILD_ID = 'c0ffee0000000000000000000000000000001717';

test('a vetoing pre-apply hook leaves the payload CHECKED with its rc', async () => {
  const { path } = await buildPayload({
    name: 'docs_prepost',
    sources: [new URL('../parity/payloads/prepost_hooks.c', import.meta.url).pathname],
    xenDepends: XEN_BUILD_ID,
  });
  const clock = new ManualClock();
  const xen = new MockHypervisor({ identity: { buildId: XEN_BUILD_ID, loglvl: 'all' }, clock });
  await xen.setHook({ payload: 'fix', kind: 'preapply' }, { rc: -22 });

  await xen.upload('fix', await readFile(path));
  // As the docs' `rejects.toMatchObject({ code: 'EINVAL' })`, and the refusal is the exported XenError.
  const refused = await xen.action('fix', 'APPLY').catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(XenError);
  expect(refused).toMatchObject({ code: 'EINVAL', errno: 22 });
  expect(await xen.get('fix')).toEqual({ state: 'CHECKED', rc: -22 });
  expect(await xen.readConsole({ incremental: true })).toContain('livepatch: fix: pre-apply hook failed (rc=-22), aborting!');

  await xen.clearHooks();
  await xen.action('fix', 'APPLY'); // scheduled: rc is -EAGAIN until the idle loop runs
  expect((await xen.get('fix')).rc).toBe(-11);
  clock.advance(5);
  expect(await xen.get('fix')).toEqual({ state: 'APPLIED', rc: 0 });
  expect((await xen.hookCalls()).map((c) => `${c.kind}:${c.rc ?? '-'}`)).toEqual(['preapply:-22', 'preapply:0', 'postapply:-']);
});
