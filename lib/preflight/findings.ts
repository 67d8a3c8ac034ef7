import { ERRNO } from '../xen/errno.js';
import { type RuleCode, RULES } from './rules.js';
import type { Diagnostic, Severity } from './types.js';

/** Where a finding is: a section (by name), a symbol, an offset (within the section) and a field. */
export interface Where {
  readonly section?: string | null;
  readonly symbol?: string | null;
  readonly offset?: number;
  readonly field?: string;
}

export interface FindingOptions extends Where {
  /** What the hypervisor prints, when it prints something (release build). */
  readonly console?: string;
  /** For the few rules whose errno or severity depends on the case (see the rule's title). */
  readonly errno?: number | null;
  readonly severity?: Severity;
}

/** How many findings of one code are listed before the rest are summed up in one line. */
export const PER_CODE_LIMIT = 20;

/**
 * Collects findings in the order the hypervisor would meet them. A malformed file can repeat one
 * fault thousands of times (every relocation of a table); only the first few of a code are kept,
 * so the report stays readable and memory stays bounded.
 */
export class Findings {
  private readonly list: Diagnostic[] = [];
  private readonly counts = new Map<RuleCode, number>();

  add(code: RuleCode, message: string, options: FindingOptions = {}): void {
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n > PER_CODE_LIMIT) return;
    this.list.push(make(code, message, options));
  }

  /** Whether any finding of this code was made. */
  has(code: RuleCode): boolean {
    return this.counts.has(code);
  }

  /** The findings, with one summary line per code that went over the limit. */
  finish(): Diagnostic[] {
    const out = [...this.list];
    for (const [code, n] of this.counts) {
      if (n > PER_CODE_LIMIT) {
        const r = RULES[code];
        out.push(
          make(code, `${n - PER_CODE_LIMIT} more findings like the above (${code}) are not listed.`, {
            severity: r.severity === 'fatal' || r.severity === 'error' ? r.severity : 'info',
          }),
        );
      }
    }
    return out;
  }
}

function make(code: RuleCode, message: string, o: FindingOptions): Diagnostic {
  const r = RULES[code];
  const errno = o.errno !== undefined ? o.errno : r.errno === null ? null : ERRNO[r.errno];
  return {
    code,
    check: r.check,
    group: r.group,
    severity: o.severity ?? r.severity,
    errno,
    ...(o.section != null ? { section: o.section } : {}),
    ...(o.symbol != null ? { symbol: o.symbol } : {}),
    ...(o.offset !== undefined ? { offset: o.offset } : {}),
    ...(o.field !== undefined ? { field: o.field } : {}),
    message,
    ...(o.console !== undefined ? { console: o.console } : {}),
  };
}
