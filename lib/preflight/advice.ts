import type { Payload } from '../payload/index.js';
import type { Findings } from './findings.js';
import { effectiveName } from './load/upload.js';

/** livepatch-build-tools' `make_patch_name` keeps these and maps everything else to `-`. */
const BUILDER_NAME = /^[A-Za-z0-9_-]*$/;
/** Its length limit before 2024 (now 128, like Xen's own limit). */
const OLD_BUILDER_NAME_MAX = 48;

/** Not hypervisor checks: what is legal but will surprise the operator later. */
export function checkAdvice(f: Findings, p: Payload | null, name: string | undefined): void {
  if (name !== undefined) checkName(f, name);
  if (!p) return;
  if (p.vetoingHooks.length) {
    const hooks = p.hooks
      .filter((h) => p.vetoingHooks.includes(h.kind) && !h.isNull)
      .map((h) => `${h.kind}${h.symbol ? ` (${h.symbol})` : ''}`);
    const pre = p.vetoingHooks.some((k) => k === 'preapply' || k === 'prerevert') ? ', and its pre hooks can refuse APPLY or REVERT' : '';
    f.add(
      'vetoing-hooks',
      `The payload has ${hooks.length === 1 ? 'a ' : ''}${hooks.join(', ')} ` +
        `hook${hooks.length === 1 ? '' : 's'}: REPLACE of it, or over it while it is applied, is refused (EOPNOTSUPP)${pre}.`,
    );
  }
  if (!p.safeToReapply) {
    const rw = p.rwSections.filter((n) => n !== '.livepatch.funcs');
    f.add(
      'not-safe-to-reapply',
      `Writable data in ${rw.join(', ')}: after a REVERT, APPLY is refused ` +
        `(status rc EINVAL) until the payload is unloaded and uploaded again.`,
      rw.length === 1 ? { section: rw[0] } : {},
    );
  }
  if (p.modinfo) {
    const odd = p.modinfo.strings.filter((s) => s.length > 0 && s.indexOf('=') <= 0);
    if (odd.length)
      f.add(
        'modinfo-not-key-value',
        `.modinfo has ${odd.length === 1 ? 'a string' : 'strings'} not of ` +
          `the form key=value: ${odd.map((s) => JSON.stringify(s)).join(', ')}.`,
        { section: '.modinfo' },
      );
  }
  for (const h of p.hooks) {
    // Null load/unload entries are not skipped but called: a fatal finding of the hooks stage.
    if (h.isNull && h.kind !== 'load' && h.kind !== 'unload')
      f.add('hook-null', `The ${h.kind} hook is a null pointer: Xen skips it.`, { section: `.livepatch.hooks.${h.kind}`, offset: 0 });
  }
}

function checkName(f: Findings, name: string): void {
  const eff = effectiveName(name);
  if (eff !== name) f.add('name-embedded-nul', `The name contains a NUL byte: the hypervisor sees only "${eff}".`, { field: 'name' });
  if (eff === '') {
    f.add('name-empty', 'The name is empty: Xen accepts it, but xen-livepatch ' + 'and scripts cannot sensibly refer to the payload.', {
      field: 'name',
    });
    return;
  }
  if (!BUILDER_NAME.test(eff))
    f.add(
      'name-characters',
      `The name "${eff}" has characters livepatch-build-tools ` + `never produce (it keeps only A-Z, a-z, 0-9, _ and -).`,
      { field: 'name' },
    );
  else if (eff.length > OLD_BUILDER_NAME_MAX)
    f.add(
      'name-long',
      `The name is ${eff.length} characters; livepatch-build-tools ` + `before 2024 cut names at ${OLD_BUILDER_NAME_MAX}.`,
      { field: 'name' },
    );
}
