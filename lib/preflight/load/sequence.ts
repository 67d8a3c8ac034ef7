import { checkXenBuildIdAfterPrepare, checkXenBuildIdFirst, checkPreparedNotes, checkSpecialSections } from './build-ids.js';
import { checkFuncs } from './funcs.js';
import { checkHeader } from './header.js';
import { checkHookSections } from './hooks.js';
import { checkLayout } from './layout.js';
import { checkAltCallSites, checkAlternatives, checkBugFrames, checkExTable, checkModinfo } from './optional-sections.js';
import { checkPatchingSections } from './patching-sections.js';
import { checkRelocations } from './relocations.js';
import { checkSections, checkSymbolNames } from './sections.js';
import type { LoadState, Unverified } from './state.js';
import { checkSymbolTable } from './symbol-table.js';
import { resolveSymbols } from './symbols.js';

/**
 * `load_payload_data` as the selected Xen version runs it. Xen stops at its first failure; here
 * every stage runs as long as the file remains readable for it, so one report lists every reason,
 * in the order Xen would meet them. Stops early only where later stages have nothing to read
 * (bad header, no symbol table, unreadable names).
 */
export function runLoadSequence(s: LoadState): void {
  if (!checkHeader(s) || !s.elf) return;
  // livepatch_elf_load
  if (!checkSections(s)) return;
  checkSymbolNames(s);
  // 'xen-build-id-first' (4.18.4, 4.19.1, 4.20+): check_xen_buildid
  if (s.xen.has['xen-build-id-first']) checkXenBuildIdFirst(s);
  // move_payload, livepatch_elf_resolve_symbols, livepatch_elf_perform_relocs
  checkLayout(s);
  resolveSymbols(s);
  checkRelocations(s);
  // check_special_sections, check_patching_sections
  checkSpecialSections(s);
  checkPatchingSections(s);
  // prepare_payload
  checkFuncs(s);
  checkHookSections(s);
  checkPreparedNotes(s);
  checkBugFrames(s);
  checkAlternatives(s);
  checkAltCallSites(s);
  checkExTable(s);
  checkModinfo(s);
  // before it: xen_build_id_dep
  if (!s.xen.has['xen-build-id-first']) checkXenBuildIdAfterPrepare(s);
  // build_symbol_table
  checkSymbolTable(s);
  reportUnverified(s);
}

/** One line for everything a hypervisor symbol table would have settled (S14, F4, P20). */
function reportUnverified(s: LoadState): void {
  if (s.context?.xenSymbols) return;
  const { symbols, funcNames } = s.unverified;
  const parts: string[] = [];
  if (symbols.count) parts.push(`${symbols.count} undefined symbol${symbols.count === 1 ? '' : 's'} (${preview(symbols)})`);
  if (funcNames.count) parts.push(`${funcNames.count} function${funcNames.count === 1 ? '' : 's'} found by name (${preview(funcNames)})`);
  const what = parts.length
    ? `${parts.join(' and ')} could not be resolved, and the ` + `payload's symbols could not be checked for duplicates`
    : "the payload's symbols could not be checked for duplicates";
  s.findings.add('symbols-unverified', `Without the hypervisor's symbol table (--symbols, or /proc/xen/xensyms on the host), ${what}.`);
}

function preview(u: Unverified): string {
  return u.count > u.first.length ? `${u.first.join(', ')}, ...` : u.first.join(', ');
}
