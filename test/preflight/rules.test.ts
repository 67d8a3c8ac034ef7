/**
 * Every hypervisor check has a payload that trips it: the finding is reported with its errno and
 * console line, and for upload-time checks it is what UPLOAD would fail with (Xen's first failure).
 */
import { describe, expect, it } from 'vitest';
import { preflight, RULE_CODES, RULES } from '../../lib/preflight/index.js';
import { ERRNO } from '../../lib/xen/errno.js';
import { caseOptions, RULE_CASES } from './rule-cases.js';

describe.each(RULE_CASES.map((c) => [`${c.code}: ${c.title}`, c] as const))('%s', (_t, c) => {
  it('trips exactly this rule', async () => {
    const bytes = await c.bytes();
    const report = preflight(bytes, { name: 't', ...caseOptions(c, bytes) });
    const rule = RULES[c.code];
    const hits = report.diagnostics.filter((d) => d.code === c.code);
    expect(
      hits.length,
      JSON.stringify(report.diagnostics, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 1),
    ).toBeGreaterThan(0);
    const d = hits[0]!;
    expect(d.check).toBe(rule.check);
    expect(d.group).toBe(rule.group);
    const asUpload = c.uploadError ?? (rule.group !== 'apply' && rule.group !== 'advice');
    if (asUpload) {
      expect(report.uploadError?.code).toBe(c.code);
      expect(report.uploadError).toBe(d);
    } else {
      expect(report.uploadError?.code ?? null).not.toBe(c.code);
    }
    if (d.severity === 'fatal') expect(report.fatal).toBe(true);
    else if (rule.errno) expect(d.errno).toBe(ERRNO[rule.errno]);
    if (c.console === null) expect(d.console).toBeUndefined();
    else if (typeof c.console === 'string') expect(d.console).toBe(c.console);
    else if (typeof c.console === 'function') expect(d.console).toBe(c.console(bytes));
    else if (c.console) expect(d.console).toMatch(c.console);
    // No other refusal, unless Xen would meet it after this one.
    const others = report.diagnostics.filter(
      (x) => (x.severity === 'error' || x.severity === 'fatal') && x.code !== c.code && !(c.alsoAllowed ?? []).includes(x.code as never),
    );
    expect(others.map((x) => x.code)).toEqual([]);
  });
});

describe('rule coverage', () => {
  // Checks that no payload can trip on x86 or that Xen cannot reach: see the rule titles.
  const UNREACHABLE = new Set(['alternatives-unsupported', 'expectation-no-old-addr', 'expectation-too-long']);
  const NOT_REFUSALS = RULE_CODES.filter((c) => RULES[c].severity === 'info' || RULES[c].severity === 'warning');

  it('has a tripping payload for every error and fatal rule', () => {
    const tripped = new Set(RULE_CASES.map((c) => c.code));
    const missing = RULE_CODES.filter((c) => !tripped.has(c) && !UNREACHABLE.has(c) && !NOT_REFUSALS.includes(c));
    expect(missing).toEqual([]);
  });

  it('covers every check id of the facts file section 3', () => {
    const ids = new Set(RULE_CODES.map((c) => RULES[c].check));
    const facts = [...range('H', 10), ...range('S', 16), ...range('R', 9), ...range('F', 8), ...range('P', 20), ...range('E', 5)];
    expect(facts.filter((id) => !ids.has(id))).toEqual([]);
  });
});

function range(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

describe('documentation', () => {
  it('lists every rule code in docs/preflight.md', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/preflight.md', import.meta.url), 'utf8');
    expect(RULE_CODES.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
