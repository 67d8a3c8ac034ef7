/**
 * Checks a scenario record against the scenario's expectations, and compares two records of the
 * same scenario (mock vs real hypervisor) line by line.
 */
import { DEFAULT_XEN_VERSION, hasXenFeature, type XenVersion } from '../xen/version.js';
import type { ConsoleLinePattern, ConsolePattern, ParityPayloadId, ParityScenario, ScenarioRecord } from './types.js';

export interface CheckContext {
  readonly xenBuildId: string | null;
  readonly buildIdOf: (id: ParityPayloadId) => string | null;
  /** The Xen version the record was made on, for version-dependent lines (default 4.17). */
  readonly xenVersion?: XenVersion;
}

/** The patterns that hold for the context's Xen version (a versioned one may mean no line at all). */
function forVersion(patterns: readonly ConsolePattern[] | undefined, ctx: CheckContext): ConsoleLinePattern[] {
  const v = ctx.xenVersion ?? DEFAULT_XEN_VERSION;
  return (patterns ?? []).flatMap((p) => {
    if (typeof p === 'string' || p instanceof RegExp) return [p];
    const chosen = hasXenFeature(v, p.feature) ? p.with : p.without;
    return chosen === null ? [] : [chosen];
  });
}

function fill(pattern: string, ctx: CheckContext): string {
  return pattern
    .replaceAll('{xen}', ctx.xenBuildId ?? '')
    .replace(/\{id:([a-z_]+)\}/g, (_m, id: string) => ctx.buildIdOf(id as ParityPayloadId) ?? `<no build-id for ${id}>`);
}

function matches(line: string, p: ConsoleLinePattern, ctx: CheckContext): boolean {
  return typeof p === 'string' ? line.includes(fill(p, ctx)) : p.test(line);
}

const show = (p: ConsoleLinePattern) => (typeof p === 'string' ? JSON.stringify(p) : String(p));

/** Every way the record differs from what the scenario expects; empty when it passes. */
export function checkScenarioRecord(scenario: ParityScenario, record: ScenarioRecord, ctx: CheckContext): string[] {
  if (record.skipped) return [];
  const problems: string[] = [];
  let lastVersion: number | null = null;
  for (const [i, step] of scenario.steps.entries()) {
    const r = record.steps[i];
    const where = `step ${i} (${step.op}${'name' in step && step.name !== undefined ? ` ${step.name}` : ''})`;
    if (!r) {
      problems.push(`${where}: not run`);
      continue;
    }
    const e = step.expect;
    if (r.result !== e.result) problems.push(`${where}: result ${r.result}${r.message ? ` (${r.message})` : ''}, expected ${e.result}`);
    if (e.status !== undefined && JSON.stringify(r.status) !== JSON.stringify(e.status)) {
      problems.push(`${where}: status ${JSON.stringify(r.status)}, expected ${JSON.stringify(e.status)}`);
    }
    for (const [n, want] of Object.entries(e.statuses ?? {})) {
      const got = r.statuses?.[n];
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(`${where}: status of ${n} ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    let from = 0;
    for (const p of forVersion(e.console, ctx)) {
      const at = r.console.findIndex((line, k) => k >= from && matches(line, p, ctx));
      if (at === -1) {
        problems.push(`${where}: console line ${show(p)} missing (in order) from:\n    ${r.console.join('\n    ')}`);
        break;
      }
      from = at + 1;
    }
    for (const p of forVersion(e.consoleAbsent, ctx)) {
      const line = r.console.find((l) => matches(l, p, ctx));
      if (line !== undefined) problems.push(`${where}: console has ${JSON.stringify(line)}, which must not appear`);
    }
    if (e.hooks && r.hooks) {
      const want = e.hooks;
      const got = r.hooks;
      const fmt = (h: object) => JSON.stringify(h);
      if (got.length !== want.length)
        problems.push(
          `${where}: ${got.length} hook calls ${got.map(fmt).join(', ')}; ` + `expected ${want.length}: ${want.map(fmt).join(', ')}`,
        );
      else {
        want.forEach((w, k) => {
          const g = got[k]!;
          const payload = w.payload ?? ('name' in step ? step.name : undefined);
          const bad =
            g.kind !== w.kind ||
            (payload !== undefined && g.payload !== payload) ||
            (w.symbol !== undefined && g.symbol !== w.symbol) ||
            (w.rc !== undefined && g.rc !== w.rc) ||
            (w.payloadRc !== undefined && g.payloadRc !== w.payloadRc);
          if (bad) problems.push(`${where}: hook call ${k} was ${fmt(g)}, expected ${fmt({ ...w, payload })}`);
        });
      }
    }
    const wantList = e.list;
    if (wantList) {
      const withMeta = wantList.some((l) => l.metadata !== undefined);
      const got = (r.list ?? []).map((x) => ({ name: x.name, state: x.state, rc: x.rc, ...(withMeta ? { metadata: x.metadata } : {}) }));
      if (JSON.stringify(got) !== JSON.stringify(wantList))
        problems.push(`${where}: list ${JSON.stringify(got)}, expected ${JSON.stringify(wantList)}`);
    }
    if (e.page && r.page) {
      if (e.page.entries !== undefined && r.page.entries !== e.page.entries)
        problems.push(`${where}: ${r.page.entries} entries, expected ${e.page.entries}`);
      if (e.page.remaining !== undefined && r.page.remaining !== e.page.remaining)
        problems.push(`${where}: remaining ${r.page.remaining}, expected ${e.page.remaining}`);
      if (e.page.versionDelta !== undefined && lastVersion !== null && r.page.version - lastVersion !== e.page.versionDelta) {
        problems.push(`${where}: version moved by ${r.page.version - lastVersion}, expected ${e.page.versionDelta}`);
      }
    }
    if (r.page) lastVersion = r.page.version;
  }
  return problems;
}

/**
 * Normalises what legitimately differs between two hypervisors running the same scenario: pointers
 * (`%p`, 16 hex digits) and page counts in the `x` dump.
 */
export function normaliseConsoleLine(line: string): string {
  return line.replace(/\b[0-9a-f]{16}\b/g, '<ptr>').replace(/using \d+ pages\./, 'using <n> pages.');
}

/**
 * Differences between two records of one scenario (e.g. mock vs real), as readable lines. Raw LIST
 * pages are compared by entries, remaining count and how the version counter moved since the
 * previous page (its absolute value depends on the hypervisor's history).
 */
export function diffScenarioRecords(a: ScenarioRecord, b: ScenarioRecord): string[] {
  const out: string[] = [];
  const n = Math.max(a.steps.length, b.steps.length);
  let lastA: number | null = null;
  let lastB: number | null = null;
  for (let i = 0; i < n; i++) {
    const x = a.steps[i];
    const y = b.steps[i];
    if (!x || !y) {
      out.push(`step ${i}: only in ${x ? a.backend : b.backend}`);
      continue;
    }
    if (x.result !== y.result) out.push(`step ${i} (${x.op}): result ${a.backend}=${x.result} ${b.backend}=${y.result}`);
    if (JSON.stringify(x.status) !== JSON.stringify(y.status))
      out.push(`step ${i} (${x.op}): ` + `status ${a.backend}=${JSON.stringify(x.status)} ${b.backend}=${JSON.stringify(y.status)}`);
    if (JSON.stringify(x.statuses) !== JSON.stringify(y.statuses))
      out.push(`step ${i} (${x.op}): ` + `statuses ${a.backend}=${JSON.stringify(x.statuses)} ${b.backend}=${JSON.stringify(y.statuses)}`);
    if (JSON.stringify(x.list) !== JSON.stringify(y.list)) out.push(`step ${i} (${x.op}): list differs`);
    if (x.page || y.page) {
      const pa = x.page
        ? { entries: x.page.entries, remaining: x.page.remaining, versionDelta: lastA === null ? null : x.page.version - lastA }
        : null;
      const pb = y.page
        ? { entries: y.page.entries, remaining: y.page.remaining, versionDelta: lastB === null ? null : y.page.version - lastB }
        : null;
      if (JSON.stringify(pa) !== JSON.stringify(pb))
        out.push(`step ${i} (${x.op}): page ${a.backend}=${JSON.stringify(pa)} ${b.backend}=${JSON.stringify(pb)}`);
      if (x.page) lastA = x.page.version;
      if (y.page) lastB = y.page.version;
    }
    const cx = x.console.map(normaliseConsoleLine);
    const cy = y.console.map(normaliseConsoleLine);
    for (let k = 0; k < Math.max(cx.length, cy.length); k++) {
      if (cx[k] !== cy[k]) {
        out.push(
          `step ${i} (${x.op}): console ` +
            `line ${k}: ${a.backend}=${JSON.stringify(cx[k] ?? null)} ${b.backend}=${JSON.stringify(cy[k] ?? null)}`,
        );
        break;
      }
    }
  }
  return out;
}
