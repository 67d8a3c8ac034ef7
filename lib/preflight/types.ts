import type { Payload } from '../payload/model.js';
import type { BuildIdHex, LoadedPayloadInfo } from '../xen/domain.js';
import type { SymbolTable } from '../xen/symbols.js';
import type { XenVersion } from '../xen/version.js';

/**
 * The preflight contract: what `preflight()` (lib/preflight/index.ts) takes and returns. The mock
 * uses the same verdict to refuse uploads, so "what the hypervisor would say" is computed once.
 */

/**
 * - `fatal`: the hypervisor would not just refuse this payload, it would crash on it; nothing in
 *   this project uploads it, whatever the flags.
 * - `error`: the hypervisor refuses it (UPLOAD, or APPLY for apply-time checks) with `errno`.
 * - `warning`: legal but risky (vetoing hooks block REPLACE, not safe to re-apply, ...).
 * - `info`: facts worth showing (e.g. a check that needs a running system was skipped).
 */
export type Severity = 'fatal' | 'error' | 'warning' | 'info';

/** Xen's own grouping of its checks, in the order UPLOAD runs them. */
export type CheckGroup =
  | 'upload' // name, size, duplicate name (livepatch_upload)
  | 'header' // livepatch_header_check
  | 'sections' // elf_resolve_sections / section names
  | 'symbols' // symbol table, resolution
  | 'relocations' // perform_relocs
  | 'build-id' // notes: xen_depends, depends, own build-id
  | 'special-sections' // check_special_sections / check_patching_sections
  | 'funcs' // .livepatch.funcs (prepare_payload)
  | 'hooks' // hook sections (prepare_payload)
  | 'alternatives' // .altinstructions, .ex_table, bug frames
  | 'metadata' // .modinfo
  | 'symbol-table' // build_symbol_table
  | 'apply' // checks the hypervisor runs at APPLY/REPLACE time (dependencies, expectations)
  | 'advice'; // not a hypervisor check: what is legal but risky

export type { SymbolTable } from '../xen/symbols.js';

export interface Diagnostic {
  /** Stable kebab-case identifier, e.g. `hook-section-size`. Part of the JSON schema. */
  readonly code: string;
  /** The check's id in the facts file (H1..H10, S1..S16, R1..R9, F1..F8, P1..P20, E1..), or null for advice. */
  readonly check: string | null;
  readonly group: CheckGroup;
  readonly severity: Severity;
  /** The positive errno the hypervisor would return, or null when it would not refuse. */
  readonly errno: number | null;
  readonly section?: string;
  readonly symbol?: string;
  /** Byte offset in the file (or within `section`, when one is named) of what is at fault. */
  readonly offset?: number;
  /** The ELF or struct field at fault (`sh_addralign`, `old_size`, `r_info`...), when there is one. */
  readonly field?: string;
  /** One human sentence. */
  readonly message: string;
  /**
   * What the hypervisor prints on its console for this failure (without the `(XEN) ` prefix),
   * or absent when it prints nothing in a release build.
   */
  readonly console?: string;
}

export type { LoadedPayloadInfo } from '../xen/domain.js';

/** Facts about the running system; absent means an offline check of the file alone. */
export interface PreflightContext {
  /**
   * The hypervisor's build-id; null when it has none (ENODATA). Absent when it is not known (e.g.
   * only a symbol table was given): the xen_depends check is then reported as not verified.
   */
  readonly xenBuildId?: BuildIdHex | null;
  /** Payloads already uploaded, in upload order. */
  readonly loaded?: readonly LoadedPayloadInfo[];
  /** Build-ids of the applied stack, bottom first (for the APPLY dependency check). */
  readonly appliedBuildIds?: readonly (BuildIdHex | null)[];
  /** Hypervisor symbols; absent means undefined symbols cannot be verified (reported as info). */
  readonly xenSymbols?: SymbolTable;
}

export type { XenVersion } from '../xen/version.js';

export interface PreflightOptions {
  /** Check as this Xen version does (lib/xen/version.ts); default 4.17. */
  readonly xenVersion?: XenVersion;
  /** The name the payload will be uploaded as (name checks, duplicate name). */
  readonly name?: string;
  readonly context?: PreflightContext;
}

export interface PreflightReport {
  /** The payload model, when the file could be read far enough to build it. */
  readonly payload: Payload | null;
  /** Every finding, in the order the hypervisor would meet them. */
  readonly diagnostics: readonly Diagnostic[];
  /** What UPLOAD would fail with: the first upload-time error in Xen's order; null if accepted. */
  readonly uploadError: Diagnostic | null;
  /** Any finding of severity `fatal`. */
  readonly fatal: boolean;
}
