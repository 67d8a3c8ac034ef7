import type { PreflightReport } from '../../preflight/types.js';
import type { HookKind } from '../../xen/domain.js';
import { abortedError, PreflightError, type WorkflowError } from '../errors.js';
import type { Plan } from '../plan.js';

/** The hooks of each kind a payload has, as a plan's inventory counts them. */
export function inventoryOf(kinds: readonly HookKind[]): Map<HookKind, number> {
  const m = new Map<HookKind, number>();
  for (const k of kinds) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/**
 * Preflight's findings as a plan's warnings: the warnings themselves, and errors the command goes
 * ahead despite (--force, or an APPLY-time check that does not concern an upload). When the plan
 * is refused, its errors are the refusal, not warnings.
 */
export function diagnosticWarnings(report: PreflightReport, refused: boolean, command: 'load' | 'upload' = 'load'): string[] {
  const out: string[] = [];
  for (const d of report.diagnostics) {
    if (d.severity === 'warning') out.push(`${d.code}: ${d.message}`);
    else if (d.severity === 'error' && !refused) {
      const why =
        d.group === 'apply'
          ? command === 'upload'
            ? 'it concerns APPLY, not this upload'
            : 'applied with --nodeps'
          : 'uploaded anyway: --force';
      out.push(`preflight error ${d.code} (${why}): ${d.message}`);
    }
  }
  return out;
}

/** A plan the command would refuse: no steps, and the error it would exit with. */
export function withRefusal(plan: Plan, refusal: WorkflowError | null): Plan {
  if (!refusal) return plan;
  return { ...plan, steps: [], refused: { code: refusal.code, category: refusal.category, message: refusal.message } };
}

/** The PreflightError a payload earns: any fatal finding, or errors unless forced. */
export function preflightRefusal(name: string, report: PreflightReport, force: boolean): PreflightError | null {
  if (report.fatal) return new PreflightError(name, report.diagnostics, true);
  const errors = report.diagnostics.filter((d) => d.severity === 'error' && d.group !== 'apply');
  if (errors.length && !force) return new PreflightError(name, report.diagnostics, false);
  return null;
}

export function checkSignal(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) abortedError(signal, what);
}
