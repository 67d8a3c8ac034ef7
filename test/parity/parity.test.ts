/**
 * The parity suite on the mock: every scenario built from real payloads, run through the
 * backend-neutral runner, checked against the expectations written in lib/parity/scenarios.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, MockHypervisor } from '../../lib/mock/index.js';
import { checkScenarioRecord, PARITY_SCENARIOS, parityIdentity, type PayloadProvider, runParityScenario } from '../../lib/parity/index.js';
import { mockXenVersion } from '../../lib/mock/identity.js';
import { parseXenVersion } from '../../lib/xen/version.js';
import { buildParityPayloads } from './payloads.js';

const XEN = 'c0ffee0000000000000000000000000000001777';
let payloads: PayloadProvider;

beforeAll(async () => {
  payloads = await buildParityPayloads({ xenBuildId: XEN });
});

// Each Xen version the real-hypervisor suite boots (4.17, 4.20), and the newest (4.21's LIST ABI).
describe.each(['4.17', '4.20', '4.21'])('parity scenarios on the mock told Xen %s', (versionText) => {
  const xenVersion = parseXenVersion(versionText);
  for (const scenario of PARITY_SCENARIOS) {
    it(`${scenario.id}: ${scenario.title}`, async () => {
      const clock = new ManualClock(1_000);
      const mock = new MockHypervisor({
        identity: { ...parityIdentity(XEN, { version: mockXenVersion(xenVersion) }), ...scenario.mock?.identity },
        clock,
      });
      for (const h of scenario.mock?.hooks ?? []) await mock.setHook(h.selector, h.script);
      const record = await runParityScenario(scenario, {
        backend: mock,
        payloads,
        hookLog: mock,
        sleep: async (ms) => clock.advance(ms),
      });
      expect(record.skipped).toBeUndefined();
      const problems = checkScenarioRecord(scenario, record, { xenBuildId: XEN, buildIdOf: (id) => payloads.buildId(id), xenVersion });
      expect(problems).toEqual([]);
      // The record is plain data (it is what gets diffed against the real hypervisor's).
      expect(JSON.parse(JSON.stringify(record))).toEqual(record);
      // The clean-up left the hypervisor empty and alive.
      const snap = await mock.inspect();
      expect(snap.panic).toBeNull();
      expect(snap.payloads).toEqual([]);
    });
  }
});
