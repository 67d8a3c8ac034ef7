import type { Plan } from '../workflow/index.js';
import { formatPlan } from '../workflow/index.js';
import { exitCodeFor } from './error-report.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/**
 * `--dry-run`: prints the plan (`{"plan": ...}` in JSON) and changes nothing. The exit code is 0
 * when the plan can be carried out as far as xlp can tell, else the code of the refusal xlp would
 * make before any hypercall (6 preflight, 1 replace refused or unload of an applied payload, ...).
 */
export function printPlan(plan: Plan, out: Output, extra: Record<string, unknown> = {}): ExitCode {
  out.result({ plan, ...extra }, () => formatPlan(plan));
  return plan.refused ? exitCodeFor(plan.refused.category) : EXIT.OK;
}
