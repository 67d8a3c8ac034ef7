/** diffScenarioRecords: what counts as a mock-vs-real difference in the real-hypervisor run. */
import { describe, expect, it } from 'vitest';
import { diffScenarioRecords, type ScenarioRecord, type StepRecord } from '../../lib/parity/index.js';

const record = (backend: 'mock' | 'native', steps: Partial<StepRecord>[]): ScenarioRecord => ({
  scenario: 's',
  backend,
  xenBuildId: 'aa',
  steps: steps.map((s, index) => ({ index, op: 'list-page', result: 'ok', console: [], ...s }) as StepRecord),
  cleanup: [],
});

describe('diffScenarioRecords', () => {
  it('compares LIST pages by entries, remaining and how the version moved, not its absolute value', () => {
    const mock = record('mock', [{ page: { entries: 0, remaining: 1, version: 2 } }, { page: { entries: 1, remaining: 0, version: 3 } }]);
    const same = record('native', [
      { page: { entries: 0, remaining: 1, version: 50 } },
      { page: { entries: 1, remaining: 0, version: 51 } },
    ]);
    expect(diffScenarioRecords(mock, same)).toEqual([]);
    const moved = record('native', [
      { page: { entries: 0, remaining: 1, version: 50 } },
      { page: { entries: 1, remaining: 0, version: 50 } },
    ]);
    expect(diffScenarioRecords(mock, moved)).toEqual([
      'step 1 (list-page): page mock={"entries":1,"remaining":0,"versionDelta":1} native={"entries":1,"remaining":0,"versionDelta":0}',
    ]);
  });

  it('normalises pointers and page counts in console lines, and reports the first differing line', () => {
    const mock = record('mock', [
      {
        op: 'debug-key',
        console: ['(XEN)  name=a state=APPLIED(2) ffff82d0405b0000 (.data=ffff82d0405b1000, .rodata=ffff82d0405b2000) using 3 pages.'],
      },
    ]);
    const real = record('native', [
      {
        op: 'debug-key',
        console: ['(XEN)  name=a state=APPLIED(2) ffff82d040600000 (.data=ffff82d040601000, .rodata=ffff82d040602000) using 2 pages.'],
      },
    ]);
    expect(diffScenarioRecords(mock, real)).toEqual([]);
    const other = record('native', [
      {
        op: 'debug-key',
        console: ['(XEN)  name=a state=CHECKED(1) ffff82d040600000 (.data=ffff82d040601000, .rodata=ffff82d040602000) using 2 pages.'],
      },
    ]);
    expect(diffScenarioRecords(mock, other)).toHaveLength(1);
  });

  it('compares argument errors as results', () => {
    expect(
      diffScenarioRecords(record('mock', [{ op: 'upload', result: 'RangeError' }]), record('native', [{ op: 'upload', result: 'EINVAL' }])),
    ).toEqual(['step 0 (upload): result mock=RangeError native=EINVAL']);
  });
});
