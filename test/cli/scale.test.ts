/**
 * `xlp` on a persisted mock holding 100 payloads: the `x` dump of so many outgrows Xen's 16 KiB
 * console ring. The stack comes from LIST and xlp's registry without pressing the key; when a
 * payload another tool applied makes the dump necessary and it does not fit, xlp says so at once
 * and reports the order as uncertain.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMockBackend } from '../../lib/mock/index.js';
import { type Fleet, setUpFleet } from '../../scripts/bench/fleet.js';
import { assertBuilt, cleanEnv, expectSchema, type Run, tempDir, xlp } from './support/xlp.js';

beforeAll(() => assertBuilt());

const DUMP_HEADER = "'x' pressed - Dumping all livepatch patches";
/** What a stack read cost before: a 2 s wait for a dump header the ring had lost. */
const CLIFF_MS = 2000;

async function fleetHost(layout: Parameters<typeof setUpFleet>[1]) {
  const fleet = await setUpFleet(join(await tempDir('xlp-scale-'), 'mock'), layout);
  const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: fleet.mockDir });
  const mock = await openMockBackend({ stateDir: fleet.mockDir, ifMissing: 'error' });
  afterAll(() => mock.close());
  return {
    fleet,
    run: (...args: string[]): Promise<Run> => xlp(args, env),
    ring: () => mock.readConsole(),
    applied: async () => (await mock.inspect()).applied,
  };
}

describe('100 payloads loaded, 10 of them applied by xlp', () => {
  let host: Awaited<ReturnType<typeof fleetHost>>;
  let fleet: Fleet;
  beforeAll(async () => {
    host = await fleetHost({ loaded: 100, applied: 10 });
    fleet = host.fleet;
  });

  it('xlp stack answers from LIST and the registry: certain, and no x key pressed', async () => {
    const r = await host.run('stack', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.ms).toBeLessThan(CLIFF_MS);
    const view = expectSchema<{ applied: { name: string; placement: string }[]; certainty: unknown; loaded: unknown[] }>(r, 'stack');
    expect(view.applied.map((e) => e.name)).toEqual(fleet.stack);
    expect(view.applied.every((e) => e.placement === 'chain')).toBe(true);
    expect(view.certainty).toEqual({ order: 'certain', dump: 'not-needed', notes: [] });
    expect(view.loaded).toHaveLength(100);
    const text = await host.run('stack');
    expect(text.out).toMatch(/^10 +stack_0009 /m);
    expect(text.out).toMatch(/^loaded, not applied: spare_0000, .* and 70 more \(`xlp list` shows them\)$/m);
    expect(await host.ring()).not.toContain(DUMP_HEADER);
  });

  it('xlp status, replace --dry-run (both forms) and replace run without the dump and without warnings', async () => {
    const status = await host.run('status', 'spare_0003', '--json');
    expect(expectSchema(status, 'status')).toEqual({ name: 'spare_0003', state: 'CHECKED', rc: 0 });

    const atomic = await host.run('replace', '--dry-run', 'spare_0000', '--json');
    expect(atomic.code, atomic.err).toBe(0);
    expect(expectSchema(atomic, 'plan')).toMatchObject({ plan: { warnings: [], steps: [{ action: 'REPLACE', payload: 'spare_0000' }] } });
    const sequential = await host.run('replace', '--sequential', '--dry-run', 'spare_0000', '--json');
    expect(sequential.code, sequential.err).toBe(0);
    const steps = (expectSchema(sequential, 'plan') as { plan: { steps: { action: string; payload: string }[] } }).plan.steps;
    expect(steps.map((s) => `${s.action} ${s.payload}`)).toEqual([
      ...[...fleet.stack].reverse().map((p) => `REVERT ${p}`),
      'APPLY spare_0000',
    ]);

    const replace = await host.run('replace', 'spare_0001', '--json');
    expect(replace.code, replace.err).toBe(0);
    expect(replace.err).toBe('');
    expect(replace.ms).toBeLessThan(CLIFF_MS);
    expect(await host.applied()).toEqual(['spare_0001']);
    expect(await host.ring()).not.toContain(DUMP_HEADER);
  });
});

describe('100 payloads loaded, and two another tool uploaded first and applied on top', () => {
  it('xlp stack says at once that the dump did not fit, uses its tail, and reports the order as uncertain', async () => {
    const { run, fleet } = await fleetHost({ loaded: 100, applied: 10, foreignApplied: 2, foreignFirst: true });
    const r = await run('stack', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.ms).toBeLessThan(CLIFF_MS);
    const view = expectSchema<{
      applied: { name: string; placement: string; evidence: string }[];
      certainty: { order: string; dump: string; notes: string[] };
    }>(r, 'stack');
    expect(view.certainty).toMatchObject({ order: 'uncertain', dump: 'truncated' });
    expect(view.certainty.notes[0]).toMatch(/did not fit the hypervisor's console ring/);
    expect(view.applied.map((e) => [e.name, e.placement, e.evidence])).toEqual([
      ...fleet.stack.slice(0, 10).map((n) => [n, 'chain', 'registry']),
      ['other_0000', 'unknown', 'unknown'],
      ['other_0001', 'unknown', 'unknown'],
    ]);
    const text = await run('stack');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^12\? +other_0001 +- +- +unknown$/m);
    expect(text.out).toMatch(/^order: uncertain \(\?: place not known\)$/m);
  });
});
