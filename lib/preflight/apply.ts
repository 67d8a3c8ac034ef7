import type { Payload } from '../payload/index.js';
import { ERRNO } from '../xen/errno.js';
import { lp } from './console.js';
import type { Findings } from './findings.js';
import type { PreflightContext } from './types.js';

/**
 * What APPLY (and REPLACE) check before scheduling the work: the dependency on the top of the
 * applied stack (unless NODEPS), then each enabled expectation. These never make UPLOAD fail.
 */
export function checkApply(f: Findings, p: Payload, name: string, context: PreflightContext | undefined): void {
  checkDepends(f, p, name, context);
  checkExpectations(f, p, name);
}

function checkDepends(f: Findings, p: Payload, name: string, context: PreflightContext | undefined): void {
  const deps = p.depends;
  if (deps === null) return; // the upload fails anyway
  const stack = context?.appliedBuildIds;
  if (context && stack && (stack.length > 0 || context.xenBuildId !== undefined)) {
    const where = { section: '.livepatch.depends' };
    if (stack.length === 0) {
      if (context.xenBuildId === null || context.xenBuildId === undefined)
        f.add(
          'depends-xen-build-id-unavailable',
          'APPLY on an empty stack compares .livepatch.depends with the ' +
            'hypervisor build-id, and the hypervisor has none (unless --nodeps).',
          where,
        );
      else if (context.xenBuildId.toLowerCase() !== deps) {
        f.add(
          'depends-mismatch',
          `The applied stack is empty, so APPLY wants .livepatch.depends to be the ` +
            `hypervisor build-id ${context.xenBuildId}, not ${deps} (unless --nodeps).`,
          { ...where, console: lp(name, 'check against hypervisor build-id failed') },
        );
      }
    } else {
      const top = stack[stack.length - 1] ?? null;
      if (top === null || top.toLowerCase() !== deps) {
        const topName =
          context.loaded?.find((l) => l.buildId !== null && top !== null && l.buildId.toLowerCase() === top.toLowerCase())?.name ??
          top ??
          'unknown';
        f.add(
          'depends-mismatch',
          `APPLY wants .livepatch.depends (${deps}) to be the build-id of the top ` +
            `of the applied stack, ${topName} (${top ?? 'none'}) (unless --nodeps).`,
          { ...where, console: lp(name, `check against ${topName} build-id failed`) },
        );
      }
    }
  } else if (p.xenDepends !== null && deps !== p.xenDepends) {
    f.add(
      'depends-on-payload',
      `The payload depends on build-id ${deps}, not on the hypervisor: APPLY needs ` +
        `the payload with that build-id on top of the applied stack (or --nodeps).`,
      { section: '.livepatch.depends' },
    );
  }
  const xen = context?.xenBuildId ?? p.xenDepends;
  if (xen && xen.toLowerCase() !== deps) {
    f.add(
      'replace-depends',
      `REPLACE needs .livepatch.depends to be the hypervisor build-id ` +
        `(${xen.toLowerCase()}); this payload depends on ${deps}, so REPLACE fails with EINVAL.`,
      { section: '.livepatch.depends' },
    );
  }
}

function checkExpectations(f: Findings, p: Payload, name: string): void {
  for (const fn of p.funcs) {
    const e = fn.expect;
    if (!e?.enabled) continue;
    const where = { section: '.livepatch.funcs', offset: fn.offset + 72, field: 'expect', ...(fn.name ? { symbol: fn.name } : {}) };
    const failed = (rc: number): string => lp(name, `expectations of ${fn.name ?? 'unknown'} failed (rc=${-rc}), aborting!`);
    // E1 (old_addr 0) cannot happen after a successful upload, which resolves old_addr or fails;
    // E2 (len > 31) cannot either: len is a 5-bit field.
    if (e.rsv !== 0) {
      f.add(
        'expectation-reserved',
        `Function ${fn.index}${fn.name ? ` (${fn.name})` : ''} ` + `has an enabled expectation with reserved bits ${e.rsv}.`,
        { ...where, console: failed(ERRNO.EINVAL) },
      );
    } else if (fn.oldSize < e.len) {
      f.add(
        'expectation-old-size',
        `Function ${fn.index}${fn.name ? ` (${fn.name})` : ''} ` + `expects ${e.len} bytes but old_size is ${fn.oldSize}.`,
        { ...where, console: failed(ERRNO.ERANGE) },
      );
    } else {
      f.add(
        'expectation-unverified',
        `Function ${fn.index}${fn.name ? ` (${fn.name})` : ''}: APPLY fails with EINVAL unless the ` +
          `first ${e.len} bytes of the old function are ${Buffer.from(e.data.subarray(0, e.len)).toString('hex')}.`,
        where,
      );
    }
  }
}
