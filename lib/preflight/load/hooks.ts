import { SHF_ALLOC, type SectionHeader } from '../../elf/index.js';
import { locatorFor, RelocatedSection } from '../../payload/index.js';
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
      s.findings.add('hook-section-size', `${n} has ${sec.size} bytes, not a whole number of 8-byte pointers.`, {
        section: n,
        field: 'sh_size',
        ...wrongSize,
      });
      continue;
    }
    if (!multi && sec.size !== 8n) {
      s.findings.add('single-hook-section-size', `${n} has ${sec.size} bytes; it must hold exactly one 8-byte pointer.`, {
        section: n,
        field: 'sh_size',
        ...(sec.size % 8n ? wrongSize : {}),
      });
      continue;
    }
    if (sec.size === 0n) continue;
    if (sec.flags & SHF_ALLOC) {
      checkHookTargets(s, kind, sec, multi);
      continue;
    }
    if (!s.xen.has['unloaded-sections-keep-file-address'] && !multi) {
      s.findings.add(
        'hook-not-loaded',
        `${n} is not SHF_ALLOC: Xen ${s.xen.name} reads it as a NULL hook, so the ${kind} hook never runs.`,
        { section: n, field: 'sh_flags' },
      );
    } else {
      s.findings.add(
        'special-section-not-loaded',
        s.xen.has['unloaded-sections-keep-file-address']
          ? `${n} is not SHF_ALLOC: Xen keeps a pointer into the upload buffer, which it frees, and calls through it at APPLY/REVERT.`
          : `${n} is not SHF_ALLOC: Xen ${s.xen.name} records ${sec.size / 8n} ` +
              `hook(s) at a NULL address and calls through it at APPLY/REVERT.`,
        { section: n, field: 'sh_flags' },
      );
    }
  }
}

const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];

/**
 * What each pointer calls at APPLY/REVERT. `apply_payload` and `revert_payload` call every
 * load/unload entry without a null check (only single hooks go through `is_hook_enabled`), and
 * any non-null single hook is called; a target without ENDBR64 faults under CET-IBT.
 */
function checkHookTargets(s: LoadState, kind: HookKind, sec: SectionHeader, multi: boolean): void {
  if (s.relocationsFailed.has(sec.index) || !s.symtab) return;
  const data = new RelocatedSection(s.elf!, sec, locatorFor(s.elf!, s.symtab));
  const n = hookSectionName(kind);
  for (let index = 0; index * 8 + 8 <= data.size; index++) {
    const target = data.pointer(index * 8);
    const where = { section: n, offset: index * 8 };
    if ((target.kind === 'null' && multi) || target.kind === 'absolute') {
      const what =
        target.kind === 'null' ? 'a null pointer, which Xen calls anyway' : `the absolute address 0x${target.value.toString(16)}`;
      s.findings.add(
        'hook-call-invalid',
        `${kind} hook ${index} is ${what}: the host crashes ` + `at ${kind === 'unload' || kind.includes('revert') ? 'REVERT' : 'APPLY'}.`,
        where,
      );
    } else if (target.kind === 'payload') {
      const code = s.elf!.data(s.elf!.sections[target.section]!);
      const at = Number(target.offset);
      if (code && at + 4 <= code.length && !ENDBR64.every((b, k) => code[at + k] === b)) {
        s.findings.add(
          'hook-no-endbr',
          `${kind} hook ${index} (${target.symbol ?? `${target.sectionName}+0x${target.offset.toString(16)}`}) ` +
            'does not start with ENDBR64: ' +
            'Xen calls hooks indirectly, which faults on CET-IBT hardware when Xen enforces IBT (build with -fcf-protection=branch).',
          {
            ...where,
            ...(target.symbol ? { symbol: target.symbol } : {}),
          },
        );
      }
    }
  }
}
