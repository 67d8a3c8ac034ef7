import { SHF_ALLOC } from '../../elf/index.js';
import { type HookKind, hookSectionName } from '../../xen/domain.js';
import { lp } from '../console.js';
import type { LoadState } from './state.js';

/** The order `prepare_payload` assigns hooks in. */
const MULTI: readonly HookKind[] = ['load', 'unload'];
const SINGLE: readonly HookKind[] = ['preapply', 'apply', 'postapply', 'prerevert', 'revert', 'postrevert'];

/**
 * `LIVEPATCH_ASSIGN_MULTI_HOOK` / `_SINGLE_HOOK`: load/unload sections hold whole pointers, the
 * others exactly one. Xen prints "Wrong size" only when the size is not a multiple of 8, so a
 * 16-byte single-hook section is refused silently.
 */
export function checkHookSections(s: LoadState): void {
  for (const kind of [...MULTI, ...SINGLE]) {
    const n = hookSectionName(kind);
    const sec = s.elf!.sectionByName(n);
    if (!sec) continue;
    const multi = MULTI.includes(kind);
    const wrongSize = { console: lp(s.name, `Wrong size ${sec.size} of ${n} (must be multiple of 8)`) };
    if (multi && sec.size % 8n) {
      s.findings.add('hook-section-size', `${n} has ${sec.size} bytes, not a whole number of 8-byte pointers.`, { section: n, field: 'sh_size', ...wrongSize });
      continue;
    }
    if (!multi && sec.size !== 8n) {
      s.findings.add('single-hook-section-size', `${n} has ${sec.size} bytes; it must hold exactly one 8-byte pointer.`, { section: n, field: 'sh_size', ...(sec.size % 8n ? wrongSize : {}) });
      continue;
    }
    if (sec.size === 0n || sec.flags & SHF_ALLOC) continue;
    if (!s.flavor.unloadedSectionsKeepFileAddress && !multi) {
      s.findings.add('hook-not-loaded', `${n} is not SHF_ALLOC: Xen 4.14-4.19 reads it as a NULL hook, so the ${kind} hook never runs.`, { section: n, field: 'sh_flags' });
    } else {
      s.findings.add(
        'special-section-not-loaded',
        s.flavor.unloadedSectionsKeepFileAddress
          ? `${n} is not SHF_ALLOC: Xen keeps a pointer into the upload buffer, which it frees, and calls through it at APPLY/REVERT.`
          : `${n} is not SHF_ALLOC: Xen 4.14-4.19 records ${sec.size / 8n} hook(s) at a NULL address and calls through it at APPLY/REVERT.`,
        { section: n, field: 'sh_flags' },
      );
    }
  }
}
