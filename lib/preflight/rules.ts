import type { ErrnoName } from '../xen/errno.js';
import type { XenFeature } from '../xen/version.js';
import type { CheckGroup, Severity } from './types.js';

/**
 * Every finding preflight can make, keyed by its stable code (part of the JSON schema: codes are
 * never renamed). `check` is the id in the facts file (H1..H10, S1..S16, R1..R9, F1..F8, P1..P20,
 * E1..E5); ids the facts file does not have are ours: U (upload sysctl, facts §2.2), A (APPLY
 * dependency check, facts §2.7) and X (failures found in Xen's code that the facts file does not
 * list, most of them crashes). `errno` and `severity` are the usual ones; a few findings change
 * them per Xen version or per case, and say so in their description.
 */
export interface Rule {
  readonly check: string | null;
  readonly group: CheckGroup;
  readonly severity: Severity;
  readonly errno: ErrnoName | null;
  /** What the rule is about, for the documentation and `--explain`. */
  readonly title: string;
  /**
   * For a `fatal` rule that later Xen versions turned into a refusal: the version feature
   * (lib/xen/version.ts) from which the hypervisor refuses the payload (an `error`) instead of crashing.
   */
  readonly fatalUntil?: XenFeature;
}

const rule = (
  check: string | null,
  group: CheckGroup,
  severity: Severity,
  errno: ErrnoName | null,
  title: string,
  fatalUntil?: XenFeature,
): Rule => ({ check, group, severity, errno, title, ...(fatalUntil ? { fatalUntil } : {}) });

export const RULES = {
  // livepatch_upload / verify_payload (and libxenctrl's own name check)
  'name-too-long': rule('U1', 'upload', 'error', 'EINVAL', 'The name is longer than 127 bytes (XEN_LIVEPATCH_NAME_SIZE includes the NUL).'),
  'payload-empty': rule('U2', 'upload', 'error', 'EINVAL', 'The payload is empty.'),
  'payload-too-large': rule('U3', 'upload', 'error', 'EINVAL', 'The payload is larger than LIVEPATCH_MAX_SIZE (2 MiB).'),
  'duplicate-name': rule('U4', 'upload', 'error', 'EEXIST', 'A payload of the same name is already uploaded.'),

  // livepatch_header_check, arch_livepatch_verify_elf
  'header-truncated': rule('H1', 'header', 'error', 'EINVAL', 'The file is shorter than an ELF64 header.'),
  'not-elf': rule('H2', 'header', 'error', 'EINVAL', 'The file does not start with the ELF magic.'),
  'elf-ident-invalid': rule(
    'H3',
    'header',
    'error',
    'EOPNOTSUPP',
    'ELF version, OS ABI, ABI version, type (must be ' + 'ET_REL) or program headers are not what Xen accepts.',
  ),
  'elf-machine-unsupported': rule('H4', 'header', 'error', 'EOPNOTSUPP', 'Not an x86-64, ELF64, little-endian object.'),
  'shstrndx-undefined': rule('H5', 'header', 'error', 'EINVAL', 'e_shstrndx is SHN_UNDEF.'),
  'too-many-sections': rule('H6', 'header', 'error', 'EOPNOTSUPP', 'The payload has 1024 sections or more.'),
  'shstrndx-out-of-range': rule('H7', 'header', 'error', 'EINVAL', 'e_shstrndx is not a section index.'),
  'shoff-out-of-range': rule('H8', 'header', 'error', 'EINVAL', 'e_shoff points past the end of the file.'),
  'shentsize-too-small': rule('H9', 'header', 'error', 'EINVAL', 'e_shentsize is smaller than a section header.'),
  'section-table-truncated': rule('H10', 'header', 'error', 'EINVAL', 'The section header table does not fit in the file.'),

  // elf_resolve_sections, elf_resolve_section_names, elf_get_sym
  'section-offset': rule(
    'S1',
    'sections',
    'error',
    'EINVAL',
    "A section's data starts inside the ELF header or runs past the end of the file.",
  ),
  'section-alignment': rule('S2', 'sections', 'error', 'EOPNOTSUPP', "A section's alignment is not a power of two."),
  'section-address-misaligned': rule('S3', 'sections', 'error', 'EINVAL', "A section's address is not a multiple of its alignment."),
  'nobits-too-large': rule('S4', 'sections', 'error', 'EINVAL', 'A loaded NOBITS section (.bss) is larger than 2 MiB.'),
  'multiple-symtabs': rule('S5', 'sections', 'error', 'EOPNOTSUPP', 'The payload has more than one symbol table.'),
  'symtab-link-out-of-range': rule('S6', 'sections', 'error', 'EINVAL', "The symbol table's string table index is not a section."),
  'symtab-missing': rule('S7', 'sections', 'error', 'EINVAL', 'The payload has no symbol table.'),
  'symtab-corrupted': rule('S8', 'sections', 'error', 'EINVAL', 'The symbol table is empty or its entry size is wrong.'),
  'strtab-corrupted': rule('S9', 'sections', 'error', 'EINVAL', "The symbol table's string table is not a NUL-delimited STRTAB."),
  'shstrtab-corrupted': rule('S9', 'sections', 'error', 'EINVAL', 'The section-name string table is not a NUL-delimited STRTAB.'),
  'section-name-out-of-range': rule(
    'S10',
    'sections',
    'error',
    'EINVAL',
    "A section's name offset is outside the section-name string table.",
  ),
  'symbol-name-out-of-range': rule('S11', 'symbols', 'error', 'EINVAL', "A symbol's name offset is outside the string table."),
  'strtab-link-null': rule(
    'X1',
    'sections',
    'fatal',
    null,
    "The symbol table's string table index is 0: Xen dereferences a NULL section (host crash).",
  ),
  'section-size-wraps': rule(
    'X10',
    'sections',
    'fatal',
    null,
    "offset + size of a section wraps around 2^64, so Xen's " + 'bounds check passes and it reads far past the payload.',
  ),

  // move_payload
  'section-write-exec': rule('S12', 'sections', 'error', 'EOPNOTSUPP', 'A loaded section is both writable and executable.'),
  'payload-allocation': rule('X6', 'sections', 'error', 'ENOMEM', 'The loaded image Xen computes is too large to allocate.'),
  'section-layout-overflow': rule(
    'X4',
    'sections',
    'fatal',
    null,
    'An alignment of 0 makes Xen lay a section out past ' + 'the memory it allocated (hypervisor memory corruption).',
  ),
  'section-layout-overlap': rule(
    'X5',
    'sections',
    'fatal',
    null,
    'An alignment of 0 makes Xen lay sections over each other: the loaded code is not what was built.',
  ),

  // livepatch_elf_resolve_symbols
  'common-symbol': rule('S13', 'symbols', 'error', 'EINVAL', 'A symbol is COMMON (build with -fno-common).'),
  'undefined-symbol': rule(
    'S14',
    'symbols',
    'error',
    'ENOENT',
    'An undefined symbol is neither in the hypervisor nor in a loaded payload.',
  ),
  'symbol-section-reserved': rule(
    'S15',
    'symbols',
    'error',
    'EOPNOTSUPP',
    "A symbol's section index is a reserved one other than ABS and COMMON.",
  ),
  'symbol-section-out-of-range': rule('S16', 'symbols', 'error', 'EINVAL', "A symbol's section index is past the last section."),
  'symbols-unverified': rule(
    'S14',
    'symbols',
    'info',
    null,
    'Undefined symbols (and functions found by name) were ' + 'not checked: no hypervisor symbol table was given.',
  ),

  // livepatch_elf_perform_relocs, arch_livepatch_perform_rela
  'relocation-symtab-link': rule(
    'R1',
    'relocations',
    'error',
    'EINVAL',
    'A relocation section for a loaded section does not link to the symbol table.',
  ),
  'relocation-section-corrupted': rule('R2', 'relocations', 'error', 'EINVAL', "A relocation section's entry size is wrong."),
  'relocation-rel-unsupported': rule(
    'R3',
    'relocations',
    'error',
    'EOPNOTSUPP',
    'SHT_REL relocations are not supported on x86 (only RELA).',
  ),
  'relocation-null-symbol': rule('R4', 'relocations', 'error', 'EOPNOTSUPP', 'A relocation refers to symbol 0.'),
  'relocation-symbol-out-of-range': rule(
    'R5',
    'relocations',
    'error',
    'EINVAL',
    'A relocation refers to a symbol past the end of the symbol table.',
  ),
  'relocation-ignored-symbol': rule(
    'R6',
    'relocations',
    'error',
    'EINVAL',
    'A relocation in a loaded section refers to a symbol in a section Xen does not load.',
  ),
  'relocation-type-unsupported': rule(
    'R7',
    'relocations',
    'error',
    'EOPNOTSUPP',
    'A relocation type other than R_X86_64_NONE, _64, _PC32 and _PLT32.',
  ),
  'relocation-offset': rule('R8', 'relocations', 'error', 'EINVAL', 'A relocation writes past the end of its section.'),
  'relocation-overflow': rule(
    'R9',
    'relocations',
    'error',
    'EOVERFLOW',
    'A PC-relative relocation cannot reach its target from where Xen loads the payload.',
  ),
  'relocation-overflow-unverified': rule(
    'R9',
    'relocations',
    'info',
    null,
    'Whether a PC-relative relocation reaches its target ' + 'depends on addresses only the running hypervisor knows.',
  ),
  'relocation-target-null': rule(
    'X2',
    'relocations',
    'fatal',
    null,
    "A relocation section's target index (sh_info) is 0: Xen dereferences a NULL section (host crash).",
  ),

  // check_xen_buildid / xen_build_id_dep, check_special_sections, prepare_payload's notes
  'xen-depends-missing': rule('P1', 'build-id', 'error', 'EINVAL', '.livepatch.xen_depends is missing or empty.'),
  'xen-depends-invalid': rule('P2', 'build-id', 'error', 'EINVAL', '.livepatch.xen_depends is not a GNU build-id note Xen can parse.'),
  'xen-build-id-unavailable': rule(
    'P3',
    'build-id',
    'error',
    'ENODATA',
    'The hypervisor has no build-id to check .livepatch.xen_depends against.',
  ),
  'xen-build-id-mismatch': rule('P4', 'build-id', 'error', 'EINVAL', ".livepatch.xen_depends is not the running hypervisor's build-id."),
  'xen-build-id-unverified': rule(
    'P4',
    'build-id',
    'info',
    null,
    ".livepatch.xen_depends was not compared with a hypervisor's build-id (no context).",
  ),
  'depends-missing': rule('P5', 'build-id', 'error', 'EINVAL', '.livepatch.depends is missing or empty.'),
  'build-id-missing': rule('P5', 'build-id', 'error', 'EINVAL', '.note.gnu.build-id is missing or empty (link with --build-id).'),
  'build-id-invalid': rule(
    'P10',
    'build-id',
    'error',
    'EINVAL',
    '.note.gnu.build-id is not a GNU build-id note Xen can parse ' + '(ENODATA from Xen 4.20, 4.18.4, 4.19.1 for a wrong type or owner).',
  ),
  'depends-invalid': rule(
    'P10',
    'build-id',
    'error',
    'EINVAL',
    '.livepatch.depends is not a GNU build-id note Xen can parse ' + '(ENODATA from Xen 4.20, 4.18.4, 4.19.1 for a wrong type or owner).',
  ),
  'duplicate-build-id': rule('P11', 'build-id', 'error', 'EEXIST', 'A payload with the same build-id is already uploaded.'),
  'nothing-to-patch': rule('P6', 'special-sections', 'error', 'EINVAL', 'Neither .livepatch.funcs nor any hook section is present.'),
  'patching-section-empty': rule('P7', 'special-sections', 'error', 'EINVAL', '.livepatch.funcs or a hook section is present but empty.'),
  'special-section-not-loaded': rule(
    'X3',
    'special-sections',
    'fatal',
    null,
    'A section Xen reads through its load address is not SHF_ALLOC, so Xen ' +
      'uses a NULL (before 4.20, 4.18.4, 4.19.1) or freed (from there) pointer.',
  ),

  // prepare_payload: functions
  'funcs-size': rule('F1', 'funcs', 'error', 'EINVAL', '.livepatch.funcs is not a whole number of struct livepatch_func.'),
  'func-version': rule('F2', 'funcs', 'error', 'EOPNOTSUPP', "A function's version is not the hypervisor's payload version (2)."),
  'func-old-size-zero': rule('F3', 'funcs', 'error', 'EINVAL', "A function's old_size is 0."),
  'func-unresolved': rule('F4', 'funcs', 'error', 'ENOENT', 'A function with old_addr 0 names a symbol the hypervisor does not have.'),
  'func-name-invalid': rule(
    'X7',
    'funcs',
    'fatal',
    null,
    'A function with old_addr 0 has no usable name pointer: ' + 'Xen reads the name from address 0 or an absolute address.',
  ),
  'nop-too-long': rule('F5', 'funcs', 'error', 'EOPNOTSUPP', 'A NOP function replaces more than 31 bytes.'),
  'nop-old-size': rule('F6', 'funcs', 'error', 'EINVAL', 'A NOP function replaces more bytes than the old function has.'),
  'func-old-size': rule('F7', 'funcs', 'error', 'EINVAL', "A function's old_size is smaller than the 5-byte jump Xen writes."),
  'func-old-size-endbr': rule(
    'F7',
    'funcs',
    'warning',
    null,
    "A function's old_size leaves no room for the jump if " + 'the old function starts with ENDBR64 (9 bytes needed).',
  ),
  'func-too-far': rule('F8', 'funcs', 'error', 'EOVERFLOW', 'The new function is 2 GiB or more away from the old one.'),
  'func-distance-unverified': rule(
    'F8',
    'funcs',
    'info',
    null,
    'The distance between old and new function depends on addresses only the running hypervisor knows.',
  ),
  'func-old-addr-absolute': rule(
    'X8',
    'funcs',
    'warning',
    null,
    'old_addr is an absolute address: Xen reads it at upload (ENDBR64 check) and patches it at APPLY.',
  ),

  // prepare_payload: hooks
  'hook-section-size': rule('P8', 'hooks', 'error', 'EINVAL', 'A load/unload hook section is not a whole number of pointers.'),
  'single-hook-section-size': rule('P9', 'hooks', 'error', 'EINVAL', 'A single-hook section is not exactly one pointer (8 bytes).'),
  'hook-call-invalid': rule(
    'X11',
    'hooks',
    'fatal',
    null,
    'A hook Xen would call is a null pointer in a load/unload ' + 'array (called unconditionally) or an absolute address.',
  ),
  'hook-no-endbr': rule(
    'X12',
    'hooks',
    'warning',
    null,
    'A hook function does not start with ENDBR64: on CET-IBT ' + 'hardware with an IBT-enabled Xen, the indirect call faults.',
  ),

  // prepare_payload: optional sections
  'bug-frames-size': rule(
    'P12',
    'alternatives',
    'error',
    'EINVAL',
    'A .bug_frames.N section is not a whole number of bug frames (8 bytes).',
  ),
  'altinstructions-size': rule('P13', 'alternatives', 'error', 'EINVAL', '.altinstructions is not a whole number of alt_instr (14 bytes).'),
  'altinstructions-no-text': rule('P14', 'alternatives', 'error', 'EINVAL', '.altinstructions is not empty but the payload has no text.'),
  'altinstructions-no-replacement': rule(
    'P14',
    'alternatives',
    'error',
    'EINVAL',
    '.altinstructions is not empty but there is no .altinstr_replacement.',
  ),
  'alternative-out-of-range': rule(
    'P15',
    'alternatives',
    'error',
    'EINVAL',
    "An alternative's original or replacement range is " + 'outside the payload text or .altinstr_replacement.',
  ),
  'alternatives-unsupported': rule(
    'P16',
    'alternatives',
    'error',
    'EOPNOTSUPP',
    'Alternatives on an architecture without them (never on x86).',
  ),
  'alt-call-sites': rule(
    'P17',
    'alternatives',
    'error',
    'EINVAL',
    '.alt_call_sites (Xen 4.21+) is not a whole number of sites, or a site is outside the payload text.',
  ),
  'alternative-invalid': rule(
    'X9',
    'alternatives',
    'fatal',
    null,
    'An alternative whose lengths or feature bit Xen BUG()s on (host crash) ' +
      'before 4.20 (4.18.4, 4.19.1); from there it is refused (ENOSPC/ERANGE).',
    'alternatives-refused',
  ),
  'ex-table-size': rule('P18', 'alternatives', 'error', 'EINVAL', '.ex_table is not a whole number of exception table entries (8 bytes).'),

  // prepare_payload: metadata
  'modinfo-empty': rule(
    'P19',
    'metadata',
    'fatal',
    null,
    'An empty .modinfo: Xen reads 4 GiB past it and takes a fatal page fault (verified on Xen 4.17.7).',
  ),
  'modinfo-unterminated': rule('P19', 'metadata', 'error', 'EINVAL', ".modinfo's last byte is not NUL."),

  // build_symbol_table
  'duplicate-symbol': rule(
    'P20',
    'symbol-table',
    'error',
    'EEXIST',
    'A symbol the payload adds has the name of a hypervisor or loaded payload symbol.',
  ),

  // APPLY / REPLACE time
  'depends-mismatch': rule(
    'A1',
    'apply',
    'error',
    'EINVAL',
    '.livepatch.depends is not the build-id of the top of the ' + 'applied stack (or of the hypervisor on an empty stack).',
  ),
  'depends-xen-build-id-unavailable': rule(
    'A2',
    'apply',
    'error',
    'ENODATA',
    'APPLY on an empty stack needs the hypervisor build-id, and it has none.',
  ),
  'depends-on-payload': rule(
    'A1',
    'apply',
    'info',
    null,
    'The payload must be applied on top of another payload ' + '(its .livepatch.depends is not the hypervisor).',
  ),
  'replace-depends': rule(
    'A1',
    'apply',
    'warning',
    'EINVAL',
    "REPLACE will be refused: .livepatch.depends is not the hypervisor's build-id.",
  ),
  'expectation-no-old-addr': rule(
    'E1',
    'apply',
    'error',
    'EFAULT',
    'An enabled expectation with old_addr 0 (unreachable: upload resolves old_addr or fails).',
  ),
  'expectation-too-long': rule(
    'E2',
    'apply',
    'error',
    'EOVERFLOW',
    'An expectation longer than 31 bytes (unreachable: len is a 5-bit field).',
  ),
  'expectation-reserved': rule('E3', 'apply', 'error', 'EINVAL', "An enabled expectation's reserved bits are not 0."),
  'expectation-old-size': rule('E4', 'apply', 'error', 'ERANGE', 'An enabled expectation is longer than old_size.'),
  'expectation-unverified': rule('E5', 'apply', 'info', null, 'Expected bytes are compared with the hypervisor text at APPLY.'),

  // Not hypervisor checks: legal but risky
  'vetoing-hooks': rule(
    null,
    'advice',
    'warning',
    null,
    'Pre/post hooks make REPLACE fail with EOPNOTSUPP, for this payload and while it is applied.',
  ),
  'not-safe-to-reapply': rule(
    null,
    'advice',
    'warning',
    null,
    'Writable data besides .livepatch.funcs: after a revert, APPLY ' + 'is refused until the payload is unloaded and uploaded again.',
  ),
  'modinfo-not-key-value': rule(null, 'advice', 'warning', null, '.modinfo strings are documented as key=value.'),
  'name-characters': rule(null, 'advice', 'warning', null, 'livepatch-build-tools only produce names of [A-Za-z0-9_-].'),
  'name-long': rule(null, 'advice', 'info', null, 'livepatch-build-tools before 2024 truncate names to 48 characters.'),
  'name-empty': rule(null, 'advice', 'warning', null, 'Xen accepts an empty name, but nothing can address the payload sensibly by it.'),
  'name-embedded-nul': rule(null, 'advice', 'warning', null, 'The name contains a NUL: libxenctrl and Xen stop at it.'),
  'hook-null': rule(null, 'advice', 'info', null, 'A single-hook section holds a null pointer: Xen treats it as no hook.'),
  'hook-not-loaded': rule(
    'X3',
    'advice',
    'warning',
    null,
    'A section Xen reads through its load address is not SHF_ALLOC; Xen ' +
      'before 4.20 (4.18.4, 4.19.1) treats it as absent or crashes later.',
  ),
} as const satisfies Record<string, Rule>;

export type RuleCode = keyof typeof RULES;

export function ruleOf(code: RuleCode): Rule {
  return RULES[code];
}

/** Codes in catalogue order (the order of the documentation table). */
export const RULE_CODES = Object.keys(RULES) as RuleCode[];
