// The parity scenarios on the real hypervisor (native addon) and on the mock in the same process:
// each record is checked against the scenario's expectations, and the two records are diffed step
// by step (result, status, list, every console line). Any difference is reported.
import { ManualClock, MockHypervisor, type Backend } from '../../../../lib/mock/index.js';
import {
  checkScenarioRecord,
  diffScenarioRecords,
  PARITY_SCENARIOS,
  parityIdentity,
  type ParityPayloadId,
  type PayloadProvider,
  runParityScenario,
  type ScenarioRecord,
} from '../../../../lib/parity/index.js';
import type { XenVersionInfo } from '../../../../lib/index.js';
import { parseXenVersion, xenVersionFromHypervisor } from '../../../../lib/index.js';
import { check, plan, readStaged } from './common.js';
import { realParityBackend } from './rawlist.js';

export interface ParityOutcome {
  records: Array<{ scenario: string; real: ScenarioRecord; mock: ScenarioRecord }>;
}

function provider(): PayloadProvider {
  return {
    async bytes(id: ParityPayloadId) {
      const p = plan.parity.payloads[id];
      if (!p) throw new Error(`no parity payload ${id} in the plan`);
      return new Uint8Array(readStaged(p.file));
    },
    buildId(id: ParityPayloadId) {
      return plan.parity.payloads[id]?.buildId ?? null;
    },
  };
}

/** The mock as this hypervisor: its version, build-id, symbol table, function bytes and boot options. */
export function mockIdentity(version: XenVersionInfo, xensyms: Map<string, bigint>) {
  const x = plan.xen;
  return parityIdentity(x.buildId, {
    version: { major: version.major, minor: version.minor, extra: version.extra },
    symbols: xensyms,
    memory: { xen_extra_version: x.extraVersion.gapBytes, xen_minor_version: x.minorVersion.gapBytes },
  });
}

export async function runParity(real: Backend, version: XenVersionInfo, xensyms: Map<string, bigint>, only?: (id: string) => boolean): Promise<ParityOutcome> {
  const payloads = provider();
  const xen = plan.xen.buildId;
  // Version-dependent expectations follow the running hypervisor, which must be the planned branch.
  const xenVersion = xenVersionFromHypervisor(version);
  if (xenVersion.major !== parseXenVersion(plan.target.id).major || xenVersion.minor !== parseXenVersion(plan.target.id).minor) throw new Error(`running Xen ${version.major}.${version.minor}, planned ${plan.target.id}`);
  const ctx = { xenBuildId: xen, buildIdOf: (id: ParityPayloadId) => payloads.buildId(id), xenVersion };
  const records: ParityOutcome['records'] = [];
  // The native backend, plus raw LIST pages through the staged helper (for the list-paging scenario).
  const realWithPages = realParityBackend(real, version);
  for (const scenario of PARITY_SCENARIOS) {
    if (only && !only(`parity ${scenario.id}`)) continue;
    await check(`parity ${scenario.id}`, async (problems) => {
      const skip = plan.parity.realSkips[scenario.id];
      const realRecord = skip
        ? { scenario: scenario.id, backend: 'native' as const, xenBuildId: xen, skipped: skip, steps: [], cleanup: [] }
        : await runParityScenario(scenario, { backend: realWithPages, payloads, capabilities: { smp: true } });

      const clock = new ManualClock(1_000);
      const mock = new MockHypervisor({ identity: { ...mockIdentity(version, xensyms), ...scenario.mock?.identity }, clock });
      for (const h of scenario.mock?.hooks ?? []) await mock.setHook(h.selector, h.script);
      const mockRecord = await runParityScenario(scenario, { backend: mock, payloads, hookLog: mock, sleep: async (ms) => clock.advance(ms) });
      records.push({ scenario: scenario.id, real: realRecord, mock: mockRecord });

      for (const p of checkScenarioRecord(scenario, mockRecord, ctx)) problems.push(`mock vs scenario: ${p}`);
      if (mockRecord.skipped) problems.push(`the mock skipped it: ${mockRecord.skipped}`);
      const snap = await mock.inspect();
      if (snap.panic) problems.push(`the mock panicked: ${JSON.stringify(snap.panic)}`);
      if (realRecord.skipped) return { skipped: realRecord.skipped };
      for (const p of checkScenarioRecord(scenario, realRecord, ctx)) problems.push(`real vs scenario: ${p}`);
      for (const d of diffScenarioRecords(mockRecord, realRecord)) problems.push(`mock vs real: ${d}`);
      const left = await real.list();
      if (left.length) problems.push(`the real hypervisor still has payloads after the clean-up: ${left.map((e) => `${e.name} ${e.state}`).join(', ')}`);
      return { steps: realRecord.steps.length, cleanup: realRecord.cleanup };
    });
  }
  return { records };
}
