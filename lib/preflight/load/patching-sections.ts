import { hookSectionName } from '../../xen/domain.js';
import { lp } from '../console.js';
import type { LoadState } from './state.js';

/** `check_patching_sections`'s order: the functions, then the hook sections in Xen's list order. */
export const PATCHING_SECTIONS: readonly string[] = [
  '.livepatch.funcs',
  hookSectionName('load'),
  hookSectionName('unload'),
  hookSectionName('preapply'),
  hookSectionName('apply'),
  hookSectionName('postapply'),
  hookSectionName('prerevert'),
  hookSectionName('revert'),
  hookSectionName('postrevert'),
];

/** `check_patching_sections`: at least one of them present, none of those present empty. */
export function checkPatchingSections(s: LoadState): void {
  let found = false;
  for (const n of PATCHING_SECTIONS) {
    const sec = s.elf!.sectionByName(n);
    if (!sec) continue;
    if (sec.size === 0n) {
      s.findings.add('patching-section-empty', `${n} is present but empty.`, {
        section: n,
        field: 'sh_size',
        console: lp(s.name, `${n} is empty`),
      });
      continue;
    }
    found = true;
  }
  if (!found && !s.findings.has('patching-section-empty')) {
    s.findings.add(
      'nothing-to-patch',
      'The payload has neither .livepatch.funcs nor any ' + '.livepatch.hooks.* section: there is nothing to patch.',
      { console: lp(s.name, 'Nothing to patch. Aborting...') },
    );
  }
}
