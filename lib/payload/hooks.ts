import { HOOK_KINDS, type HookKind, hookSectionName, MULTI_HOOK_KINDS, VETOING_HOOK_KINDS } from '../xen/domain.js';
import type { ElfFile } from '../elf/index.js';
import { SHF_ALLOC } from '../elf/index.js';
import type { SymbolLocator } from './addresses.js';
import type { PayloadHook } from './model.js';
import { RelocatedSection } from './relocated-fields.js';

/**
 * Every pointer of every hook section, in Xen's section order and index order. A single-hook
 * section is decoded whatever its size (Xen refuses it unless it is exactly 8 bytes); a trailing
 * partial pointer is left out.
 */
export function decodeHooks(elf: ElfFile, locator: SymbolLocator | null): PayloadHook[] {
  const out: PayloadHook[] = [];
  for (const kind of HOOK_KINDS) {
    const sec = elf.sectionByName(hookSectionName(kind));
    if (!sec) continue;
    const data = new RelocatedSection(elf, sec, locator);
    const count = MULTI_HOOK_KINDS.includes(kind) ? Math.floor(data.size / 8) : Math.min(1, Math.floor(data.size / 8));
    for (let index = 0; index < count; index++) {
      const target = data.pointer(index * 8);
      const symbol = target.kind === 'payload' ? target.symbol : target.kind === 'external' ? target.symbol : null;
      out.push({ kind, index, symbol, isNull: target.kind === 'null', target, section: sec.index, loaded: (sec.flags & SHF_ALLOC) !== 0n });
    }
  }
  return out;
}

/**
 * The pre/post hooks the hypervisor would call: a non-null pointer in a loaded section of the right
 * size (`is_hook_enabled`). Any of them makes REPLACE fail with EOPNOTSUPP.
 */
export function vetoingHookKinds(hooks: readonly PayloadHook[]): HookKind[] {
  return VETOING_HOOK_KINDS.filter((k) => hooks.some((h) => h.kind === k && !h.isNull && h.loaded));
}
