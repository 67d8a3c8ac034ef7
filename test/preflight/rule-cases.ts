/**
 * One payload per rule: how each is derived (byte edits of a valid fixture, or a dedicated build)
 * and what preflight must say about it. Shared by the rule tests and the CLI tests.
 */
import { readElf, SHN_ABS } from '../../lib/elf/index.js';
import type { RuleCode } from '../../lib/preflight/index.js';
import { readPayload } from '../../lib/payload/index.js';
import type { PreflightOptions } from '../../lib/preflight/types.js';
import { fixture, type FixtureBuildOptions, OTHER_XEN_BUILD_ID, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { type ElfPatcher, patch } from '../helpers/patch-elf.js';

export interface RuleCase {
  readonly title: string;
  readonly code: RuleCode;
  /** Builds the payload bytes (from the catalogue built for XEN_BUILD_ID unless told otherwise). */
  readonly bytes: (build?: FixtureBuildOptions) => Promise<Uint8Array>;
  /** Options for preflight; a function gets the payload bytes (e.g. to name its own build-id). */
  readonly options?: PreflightOptions | ((bytes: Uint8Array) => PreflightOptions);
  /** Whether the finding is what UPLOAD fails with (default: true for upload-time errors). */
  readonly uploadError?: boolean;
  /** The console line expected (null: none, undefined: not checked); a function gets the payload bytes. */
  readonly console?: string | RegExp | ((bytes: Uint8Array) => string) | null;
  /** Other error/fatal codes that may appear after it (Xen stops at the first; preflight goes on). */
  readonly alsoAllowed?: readonly RuleCode[];
}

const HEAD: PreflightOptions['xenVersion'] = { major: 4, minor: 21 };
/** Debian 13's Xen: the early build-id check and the refused alternatives, but not 4.21's LIST ABI. */
const V420: PreflightOptions['xenVersion'] = { major: 4, minor: 20 };
const from =
  (name: string, edit: (p: ElfPatcher) => ElfPatcher = (p) => p) =>
  async (build?: FixtureBuildOptions): Promise<Uint8Array> =>
    edit(patch((await fixture(name, build)).bytes)).bytes();
/** Xen names sections by index: where the builder put `name` in this payload. */
const sectionIndex = (bytes: Uint8Array, name: string): number => {
  const s = readElf(bytes).elf?.sectionByName(name);
  if (!s) throw new Error(`no section ${name} in the fixture`);
  return s.index;
};
const ctx = (extra: Partial<NonNullable<PreflightOptions['context']>> = {}): NonNullable<PreflightOptions['context']> => ({
  xenBuildId: XEN_BUILD_ID,
  ...extra,
});
const sym = (entries: Record<string, bigint>) => new Map(Object.entries(entries));
const XEN_SYMS = sym({ xen_extra_version: 0xffff82d040257a20n, xen_minor_version: 0xffff82d040400000n, printk: 0xffff82d040210000n });

/** The preflight options of a case, for its bytes. */
export function caseOptions(c: RuleCase, bytes: Uint8Array): PreflightOptions {
  return typeof c.options === 'function' ? c.options(bytes) : (c.options ?? {});
}

export const RULE_CASES: readonly RuleCase[] = [
  // upload
  { title: 'a 128-byte name', code: 'name-too-long', bytes: from('func_normal'), options: { name: 'x'.repeat(128) }, console: null },
  { title: 'an empty file', code: 'payload-empty', bytes: async () => new Uint8Array(0), console: null },
  { title: 'a payload over 2 MiB', code: 'payload-too-large', bytes: from('func_normal', (p) => p.pad(2 * 1024 * 1024)), console: null },
  {
    title: 'a name already uploaded',
    code: 'duplicate-name',
    bytes: from('func_normal'),
    options: { name: 'hello', context: ctx({ loaded: [{ name: 'hello', buildId: 'aa', symbols: [] }] }) },
    console: null,
  },

  // header
  {
    title: 'a 63-byte file',
    code: 'header-truncated',
    bytes: from('func_normal', (p) => p.truncate(63)),
    console: 'livepatch: t: Section header is bigger than payload',
  },
  {
    title: 'bad magic',
    code: 'not-elf',
    bytes: from('func_normal', (p) => p.sectionBytes(0, 1, [0x58])),
    console: 'livepatch: t: Not an ELF payload',
  },
  {
    title: 'an executable (ET_EXEC)',
    code: 'elf-ident-invalid',
    bytes: from('func_normal', (p) => p.header('e_type', 2)),
    console: 'livepatch: t: Invalid ELF payload',
  },
  { title: 'OS ABI Linux (3)', code: 'elf-ident-invalid', bytes: from('func_normal', (p) => p.header('e_ident[EI_OSABI]', 3)) },
  {
    title: 'an i386 object',
    code: 'elf-machine-unsupported',
    bytes: from('func_normal', (p) => p.header('e_machine', 3)),
    console: 'livepatch: t: Unsupported ELF Machine type',
  },
  { title: 'ELF32', code: 'elf-machine-unsupported', bytes: from('func_normal', (p) => p.header('e_ident[EI_CLASS]', 1)) },
  { title: 'big-endian', code: 'elf-machine-unsupported', bytes: from('func_normal', (p) => p.header('e_ident[EI_DATA]', 2)) },
  {
    title: 'e_shstrndx 0',
    code: 'shstrndx-undefined',
    bytes: from('func_normal', (p) => p.header('e_shstrndx', 0)),
    console: 'livepatch: t: Section name idx is undefined',
  },
  { title: '1117 sections', code: 'too-many-sections', bytes: from('many_sections'), console: /^livepatch: t: Too many \(\d+\) sections$/ },
  {
    title: 'e_shstrndx past the sections',
    code: 'shstrndx-out-of-range',
    bytes: from('func_normal', (p) => p.header('e_shstrndx', 18)),
    console: 'livepatch: t: Section name idx (18) is past end of sections (18)',
  },
  {
    title: 'e_shoff at the end of the file',
    code: 'shoff-out-of-range',
    bytes: from('func_normal', (p) => p.header('e_shoff', p.bytes().length)),
    console: 'livepatch: t: Bogus e_shoff',
  },
  {
    title: 'e_shentsize 32',
    code: 'shentsize-too-small',
    bytes: from('func_normal', (p) => p.header('e_shentsize', 32)),
    console: 'livepatch: t: Section header size is 32! Expected 64.',
  },
  {
    title: 'one section header more than the file holds',
    code: 'section-table-truncated',
    bytes: from('func_normal', (p) => p.header('e_shnum', 19)),
    console: 'livepatch: t: Section header size is corrupted',
  },

  // sections
  {
    title: 'section data inside the ELF header',
    code: 'section-offset',
    bytes: from('func_normal', (p) => p.section('.rodata.xlp_name', 'sh_offset', 16)),
    console: (b) => `livepatch: t: Section [${sectionIndex(b, '.rodata.xlp_name')}] data at ELF header of payload`,
  },
  {
    title: 'section data past the end',
    code: 'section-offset',
    bytes: from('func_normal', (p) => p.section('.rodata.xlp_name', 'sh_size', 0x10000)),
    console: (b) => `livepatch: t: Section [${sectionIndex(b, '.rodata.xlp_name')}] data is past end of payload`,
  },
  {
    title: 'alignment 3',
    code: 'section-alignment',
    bytes: from('func_normal', (p) => p.section('.rodata.xlp_name', 'sh_addralign', 3)),
    console: (b) => `livepatch: t: Section [${sectionIndex(b, '.rodata.xlp_name')}] alignment (0x3) is not supported`,
  },
  {
    title: 'address 8 with alignment 16',
    code: 'section-address-misaligned',
    bytes: from('func_normal', (p) => p.section('.rodata.xlp_name', 'sh_addr', 8)),
    console: (b) => `livepatch: t: Section [${sectionIndex(b, '.rodata.xlp_name')}] addr (0x8) is not aligned properly (0x10)`,
  },
  {
    title: 'a 3 MiB .bss',
    code: 'nobits-too-large',
    bytes: from('func_normal', (p) => p.section('.bss', 'sh_size', 3 * 1024 * 1024)),
    console: null,
  },
  {
    title: 'a second symbol table',
    code: 'multiple-symtabs',
    bytes: from('func_normal', (p) => p.section('.comment', 'sh_type', 2)),
    console: 'livepatch: t: Unsupported multiple symbol tables',
    alsoAllowed: ['symtab-corrupted'],
  },
  {
    title: 'symtab linking to section 999',
    code: 'symtab-link-out-of-range',
    bytes: from('func_normal', (p) => p.section('.symtab', 'sh_link', 999)),
    console: 'livepatch: t: Symbol table idx (999) to strtab past end (18)',
  },
  {
    title: 'no symbol table',
    code: 'symtab-missing',
    bytes: from('func_normal', (p) => p.section('.symtab', 'sh_type', 1)),
    console: 'livepatch: t: No symbol table found',
  },
  {
    title: 'symbol entry size 16',
    code: 'symtab-corrupted',
    bytes: from('func_normal', (p) => p.section('.symtab', 'sh_entsize', 16)),
    console: 'livepatch: t: Symbol table header is corrupted',
  },
  {
    title: 'string table not starting with NUL',
    code: 'strtab-corrupted',
    bytes: from('func_normal', (p) => p.sectionBytes('.strtab', 0, [0x41])),
    console: 'livepatch: t: String table section is corrupted',
  },
  {
    title: 'section-name table not ending with NUL',
    code: 'shstrtab-corrupted',
    bytes: from('func_normal', (p) => p.sectionBytes('.shstrtab', p.sectionSize('.shstrtab') - 1, [0x41])),
    console: 'livepatch: t: Section string table is corrupted',
  },
  {
    title: 'a section name offset past .shstrtab',
    code: 'section-name-out-of-range',
    bytes: from('func_normal', (p) => p.section('.comment', 'sh_name', 0xffff)),
    console: 'livepatch: t: Section 13 name is not within .shstrtab',
  },
  {
    title: 'a symbol name offset past .strtab',
    code: 'symbol-name-out-of-range',
    bytes: from('func_normal', (p) => p.symbol('xlp_name', 'st_name', 0xffff)),
    console: 'livepatch: t: Symbol [16] name is not within .strtab',
  },
  {
    title: 'symtab sh_link 0 (NULL dereference)',
    code: 'strtab-link-null',
    bytes: from('func_normal', (p) => p.section('.symtab', 'sh_link', 0)),
    console: null,
  },
  {
    title: 'offset + size wrapping around 2^64',
    code: 'section-size-wraps',
    bytes: from('func_normal', (p) =>
      p.section('.rodata.xlp_name', 'sh_size', (1n << 64n) - BigInt(p.sectionOffset('.rodata.xlp_name')) + 4n),
    ),
    alsoAllowed: ['payload-allocation', 'section-layout-overflow', 'section-layout-overlap'],
  },
  {
    title: 'a writable executable section',
    code: 'section-write-exec',
    bytes: from('func_normal', (p) => p.section('.text.xlp_extra_version', 'sh_flags', 0x7)),
    console: null,
  },
  {
    title: 'a 2^40 alignment (allocation fails)',
    code: 'payload-allocation',
    bytes: from('func_normal', (p) => p.section('.rodata.xlp_name', 'sh_addralign', 1n << 40n)),
    console: 'livepatch: t: Could not allocate memory for payload',
  },
  {
    title: 'alignment 0 resetting the region (overflow)',
    code: 'section-layout-overflow',
    bytes: from('func_normal', (p) => p.section('.livepatch.depends', 'sh_addralign', 0)),
    alsoAllowed: ['section-layout-overlap'],
  },
  {
    title: 'alignment 0 placing sections over each other',
    code: 'section-layout-overlap',
    bytes: from('hooks_load_unload', (p) => p.section('.text.xlp_hi_func', 'sh_addralign', 0)),
  },

  // symbols
  {
    title: 'a COMMON symbol',
    code: 'common-symbol',
    bytes: from('func_normal', (p) => p.symbol('xlp_name', 'st_shndx', 0xfff2)),
    console: 'livepatch: t: Unexpected common symbol: xlp_name',
  },
  {
    title: 'an undefined symbol Xen lacks',
    code: 'undefined-symbol',
    bytes: from('func_normal'),
    options: { context: ctx({ xenSymbols: sym({ printk: 0xffff82d040210000n }) }) },
    console: 'livepatch: t: Unknown symbol: xen_extra_version',
  },
  {
    title: 'an undefined symbol with an empty name (offline)',
    code: 'undefined-symbol',
    bytes: from('func_normal', (p) => p.symbol('xen_extra_version', 'st_name', 0)),
    console: 'livepatch: t: Unknown symbol: ',
  },
  {
    title: 'a reserved section index',
    code: 'symbol-section-reserved',
    bytes: from('func_normal', (p) => p.symbol('xlp_name', 'st_shndx', 0xff05)),
    console: 'livepatch: t: Out of bounds symbol section 0xff05',
  },
  {
    title: 'a section index past the sections',
    code: 'symbol-section-out-of-range',
    bytes: from('func_normal', (p) => p.symbol('xlp_name', 'st_shndx', 500)),
    console: 'livepatch: t: Out of bounds symbol section 0x1f4',
  },

  // relocations
  {
    title: 'a relocation section not linked to the symtab',
    code: 'relocation-symtab-link',
    bytes: from('func_normal', (p) => p.section('.rela.livepatch.funcs', 'sh_link', 1)),
    console: 'livepatch: t: Relative link of .rela.livepatch.funcs is incorrect (1, expected=15)',
  },
  {
    title: 'relocation entry size 16',
    code: 'relocation-section-corrupted',
    bytes: from('func_normal', (p) => p.section('.rela.livepatch.funcs', 'sh_entsize', 16)),
    console: 'livepatch: t: Section relative header is corrupted',
  },
  {
    title: 'SHT_REL',
    code: 'relocation-rel-unsupported',
    bytes: from('func_normal', (p) => p.section('.rela.livepatch.funcs', 'sh_type', 9)),
    console: 'livepatch: t: SHT_REL relocation unsupported',
  },
  {
    title: 'a relocation against symbol 0',
    code: 'relocation-null-symbol',
    bytes: from('func_normal', (p) => p.rela('.rela.livepatch.funcs', 0, 'r_sym', 0)),
    console: 'livepatch: t: Encountered STN_UNDEF',
  },
  {
    title: 'gas output: PC32 to an absolute symbol is emitted against symbol 0',
    code: 'relocation-null-symbol',
    bytes: from('pc32_absolute'),
  },
  {
    title: 'a relocation against symbol 9999',
    code: 'relocation-symbol-out-of-range',
    bytes: from('func_normal', (p) => p.rela('.rela.livepatch.funcs', 0, 'r_sym', 9999)),
    console: 'livepatch: t: Relative relocation wants symbol@9999 which is past end',
  },
  {
    title: 'a relocation against a symbol in an unloaded section',
    code: 'relocation-ignored-symbol',
    bytes: from('func_normal', (p) => p.symbol('xen_extra_version', 'st_shndx', p.sectionIndex('.comment'))),
    console: 'livepatch: t: Relocation against ignored symbol xen_extra_version cannot be resolved',
  },
  {
    title: 'R_X86_64_32',
    code: 'relocation-type-unsupported',
    bytes: from('func_normal', (p) => p.rela('.rela.livepatch.funcs', 0, 'r_type', 10)),
    console: 'livepatch: t: Unhandled relocation 10',
  },
  {
    title: 'a relocation past its section',
    code: 'relocation-offset',
    bytes: from('func_normal', (p) => p.rela('.rela.livepatch.funcs', 0, 'r_offset', 0x1000)),
    console: 'livepatch: t: Relative relocation offset is past .livepatch.funcs section',
  },
  {
    title: 'PC32 to an absolute address 0x1000',
    code: 'relocation-overflow',
    bytes: from('pc32_absolute', (p) =>
      p.rela('.rela.rodata.xlp_far', 0, 'r_sym', p.symbolIndex('xlp_far_away')).rela('.rela.rodata.xlp_far', 0, 'r_addend', 0),
    ),
    console: 'livepatch: t: Overflow in relocation 0 in .rela.rodata.xlp_far for .rodata.xlp_far',
  },
  {
    title: 'PC32 from code to an absolute symbol at 0',
    code: 'relocation-overflow',
    bytes: from('func_normal', (p) => p.symbol('.LC0', 'st_shndx', SHN_ABS)),
  },
  {
    title: 'a relocation section for section 0 (NULL dereference)',
    code: 'relocation-target-null',
    bytes: from('func_normal', (p) => p.section('.rela.livepatch.funcs', 'sh_info', 0)),
    alsoAllowed: ['func-name-invalid'],
  },

  // build-ids and special sections (4.17: xen_depends checked with the special sections)
  {
    title: 'no .livepatch.xen_depends',
    code: 'xen-depends-missing',
    bytes: from('no_xen_depends'),
    console: 'livepatch: t: .livepatch.xen_depends is missing',
  },
  {
    title: 'no .livepatch.xen_depends (HEAD)',
    code: 'xen-depends-missing',
    bytes: from('no_xen_depends'),
    options: { xenVersion: HEAD },
    console: 'livepatch: t: section .livepatch.xen_depends is missing',
  },
  {
    title: 'an empty .livepatch.xen_depends',
    code: 'xen-depends-missing',
    bytes: from('func_normal', (p) => p.section('.livepatch.xen_depends', 'sh_size', 0)),
    console: 'livepatch: t: .livepatch.xen_depends is empty',
  },
  {
    title: 'xen_depends note of type 4',
    code: 'xen-depends-invalid',
    bytes: from('func_normal', (p) => p.note('.livepatch.xen_depends', 'type', 4)),
    console: null,
  },
  {
    title: 'xen_depends note of type 4 (HEAD)',
    code: 'xen-depends-invalid',
    bytes: from('func_normal', (p) => p.note('.livepatch.xen_depends', 'type', 4)),
    options: { xenVersion: HEAD },
    console: 'livepatch: t: failed to parse section .livepatch.xen_depends as build-id: -61',
  },
  {
    title: 'a hypervisor without build-id',
    code: 'xen-build-id-unavailable',
    bytes: from('func_normal'),
    options: { context: { xenBuildId: null } },
    console: null,
  },
  {
    title: 'a hypervisor without build-id (HEAD)',
    code: 'xen-build-id-unavailable',
    bytes: from('func_normal'),
    options: { xenVersion: HEAD, context: { xenBuildId: null } },
    console: 'livepatch: t: unable to get running Xen build-id: 0',
  },
  {
    title: 'a hypervisor without build-id (4.20: -ENODATA printed)',
    code: 'xen-build-id-unavailable',
    bytes: from('func_normal'),
    options: { xenVersion: V420, context: { xenBuildId: null } },
    console: 'livepatch: t: unable to get running Xen build-id: -61',
  },
  {
    title: 'another hypervisor',
    code: 'xen-build-id-mismatch',
    bytes: from('func_normal'),
    options: { context: ctx({ xenBuildId: OTHER_XEN_BUILD_ID }) },
    console: 'livepatch: t: check against hypervisor build-id failed',
  },
  {
    title: 'another hypervisor (HEAD)',
    code: 'xen-build-id-mismatch',
    bytes: from('func_normal'),
    options: { xenVersion: HEAD, context: ctx({ xenBuildId: OTHER_XEN_BUILD_ID }) },
    console: `livepatch: t: build-id mismatch:\n\u00a0 livepatch: ${XEN_BUILD_ID}\n${'\u00a0'.repeat(7)} xen: ${OTHER_XEN_BUILD_ID}`,
  },
  {
    title: 'no .livepatch.depends',
    code: 'depends-missing',
    bytes: from('no_depends'),
    console: 'livepatch: t: .livepatch.depends is missing',
  },
  {
    title: 'an empty .livepatch.depends',
    code: 'depends-missing',
    bytes: from('func_normal', (p) => p.section('.livepatch.depends', 'sh_size', 0)),
    console: 'livepatch: t: .livepatch.depends is empty',
  },
  {
    title: 'no .note.gnu.build-id',
    code: 'build-id-missing',
    bytes: from('no_build_id'),
    console: 'livepatch: t: .note.gnu.build-id is missing',
  },
  {
    title: 'own build-id note of type 4',
    code: 'build-id-invalid',
    bytes: from('func_normal', (p) => p.note('.note.gnu.build-id', 'type', 4)),
    console: null,
  },
  {
    title: 'depends note with namesz 3',
    code: 'depends-invalid',
    bytes: from('func_normal', (p) => p.note('.livepatch.depends', 'namesz', 3)),
    console: null,
  },
  {
    title: 'a build-id already uploaded',
    code: 'duplicate-build-id',
    bytes: from('func_normal'),
    options: (b) => ({ context: ctx({ loaded: [{ name: 'other', buildId: readPayload(b).payload!.buildId, symbols: [] }] }) }),
    console: null,
  },
  {
    title: 'nothing to patch',
    code: 'nothing-to-patch',
    bytes: from('nothing_to_patch'),
    console: 'livepatch: t: Nothing to patch. Aborting...',
  },
  {
    title: 'an empty load hook section',
    code: 'patching-section-empty',
    bytes: from('empty_load_hooks'),
    console: 'livepatch: t: .livepatch.hooks.load is empty',
  },
  {
    title: 'an unloaded .modinfo (NULL dereference)',
    code: 'special-section-not-loaded',
    bytes: from('modinfo_kv', (p) => p.section('.modinfo', 'sh_flags', 0)),
  },
  {
    title: 'an unloaded .livepatch.funcs (NULL dereference)',
    code: 'special-section-not-loaded',
    bytes: from('func_normal', (p) => p.section('.livepatch.funcs', 'sh_flags', 0)),
  },

  // functions
  {
    title: 'a 105-byte .livepatch.funcs',
    code: 'funcs-size',
    bytes: from('func_normal', (p) => p.section('.livepatch.funcs', 'sh_size', 105)),
    console: 'livepatch: t: Wrong size 105 of .livepatch.funcs (must be multiple of 104)',
  },
  {
    title: 'a version 1 function',
    code: 'func-version',
    bytes: from('func_normal', (p) => p.func(0, 'version', 1)),
    console: 'livepatch: t: Wrong version (1). Expected 2',
  },
  {
    title: 'old_size 0',
    code: 'func-old-size-zero',
    bytes: from('func_normal', (p) => p.func(0, 'old_size', 0)),
    console: 'livepatch: t: Address or size fields are zero',
  },
  {
    title: 'a function by name Xen lacks',
    code: 'func-unresolved',
    bytes: from('func_by_name'),
    options: { context: ctx({ xenSymbols: sym({ printk: 1n }) }) },
    console: 'livepatch: t: Could not resolve old address of xen_extra_version',
  },
  {
    title: 'old_addr 0 and no name (NULL dereference)',
    code: 'func-name-invalid',
    bytes: from('func_by_name', (p) => p.dropRelocation('.livepatch.funcs', 0)),
  },
  {
    title: 'a 32-byte NOP',
    code: 'nop-too-long',
    bytes: from('func_nop', (p) => p.func(0, 'new_size', 32).func(0, 'old_size', 40)),
    console: null,
  },
  { title: 'a NOP longer than old_size', code: 'nop-old-size', bytes: from('func_nop', (p) => p.func(0, 'old_size', 4)), console: null },
  { title: 'old_size 4', code: 'func-old-size', bytes: from('func_normal', (p) => p.func(0, 'old_size', 4)), console: null },
  {
    title: 'new code at absolute 0x1000',
    code: 'func-too-far',
    bytes: from('func_normal', (p) => p.dropRelocation('.livepatch.funcs', 8).func(0, 'new_addr', 0x1000)),
    console: null,
  },

  // hooks
  {
    title: 'a 20-byte load hook section',
    code: 'hook-section-size',
    bytes: from('hooks_load_unload', (p) => p.section('.livepatch.hooks.load', 'sh_size', 20)),
    console: 'livepatch: t: Wrong size 20 of .livepatch.hooks.load (must be multiple of 8)',
  },
  {
    title: 'a 16-byte preapply hook section (silent)',
    code: 'single-hook-section-size',
    bytes: from('hook_preapply', (p) => p.section('.livepatch.hooks.preapply', 'sh_size', 16)),
    console: null,
  },
  {
    title: 'a 12-byte postrevert hook section',
    code: 'single-hook-section-size',
    bytes: from('hook_postrevert', (p) => p.section('.livepatch.hooks.postrevert', 'sh_size', 12)),
    console: 'livepatch: t: Wrong size 12 of .livepatch.hooks.postrevert (must be multiple of 8)',
  },
  {
    title: 'a null entry in the load hooks (called anyway)',
    code: 'hook-call-invalid',
    bytes: from('hooks_load_unload', (p) => p.dropRelocation('.livepatch.hooks.load', 8)),
    console: null,
  },
  {
    title: 'a preapply hook at an absolute address',
    code: 'hook-call-invalid',
    bytes: from('hook_preapply', (p) =>
      p.dropRelocation('.livepatch.hooks.preapply', 0).sectionBytes('.livepatch.hooks.preapply', 0, [0x00, 0x10]),
    ),
    console: null,
  },
  {
    title: 'unloaded load hooks (NULL call at APPLY)',
    code: 'special-section-not-loaded',
    bytes: from('hooks_only_load', (p) => p.section('.livepatch.hooks.load', 'sh_flags', 0)),
  },

  // optional sections
  {
    title: 'a 12-byte .bug_frames.0',
    code: 'bug-frames-size',
    bytes: from('bug_frames_12'),
    console: 'livepatch: t: Wrong size 12 of .bug_frames.0 (must be multiple of 8)',
  },
  {
    title: 'a 15-byte .altinstructions',
    code: 'altinstructions-size',
    bytes: from('alt_bad_size'),
    console: 'livepatch: t: Wrong size 15 of .altinstructions (must be multiple of 14)',
  },
  {
    title: 'alternatives without text',
    code: 'altinstructions-no-text',
    bytes: from('alt_no_text'),
    console: 'livepatch: t Alternatives provided, but no .text',
  },
  {
    title: 'alternatives without replacement section',
    code: 'altinstructions-no-replacement',
    bytes: from('alt_no_repl'),
    console: 'livepatch: t .altinstructions provided, but no .altinstr_replacement',
  },
  {
    title: 'an original range past the text',
    code: 'alternative-out-of-range',
    bytes: from('alt_orig_too_long'),
    console: /^livepatch: t Alternative orig <addr>\+0xc8 outside payload text <addr>\+0x/,
  },
  {
    title: 'a replacement range past its section',
    code: 'alternative-out-of-range',
    bytes: from('alt_repl_out_of_range'),
    console: /^livepatch: t Alternative repl <addr>\+0x7 outside \.altinstr_replacement <addr>\+0x2$/,
  },
  {
    title: 'a replacement longer than the original (4.17 BUG)',
    code: 'alternative-invalid',
    bytes: from('alt_repl_too_long'),
    console: null,
  },
  { title: 'an unknown feature bit (4.17 BUG)', code: 'alternative-invalid', bytes: from('alt_bad_feature'), console: null },
  {
    title: 'a replacement longer than the original (4.20: ENOSPC)',
    code: 'alternative-invalid',
    bytes: from('alt_repl_too_long'),
    options: { xenVersion: V420 },
    console: 'Alt for <addr>, replacement size 0x7 larger than origin 0x5\nlivepatch: t applying alternatives failed: -28',
  },
  {
    title: 'an unknown feature bit (4.20: ERANGE)',
    code: 'alternative-invalid',
    bytes: from('alt_bad_feature'),
    options: { xenVersion: V420 },
    console: 'Alt for <addr>, feature 0x7fff outside of featureset range 0x2a0\nlivepatch: t applying alternatives failed: -34',
  },
  {
    title: 'a 6-byte .alt_call_sites (4.21+)',
    code: 'alt-call-sites',
    bytes: from('alt_call_6'),
    options: { xenVersion: HEAD },
    console: 'livepatch: t: Wrong size 6 of .alt_call_sites (must be multiple of 4)',
  },
  {
    title: 'a 12-byte .ex_table',
    code: 'ex-table-size',
    bytes: from('ex_table_12'),
    console: 'livepatch: t: Wrong size 12 of .ex_table (must be multiple of 8)',
  },
  { title: 'an empty .modinfo (verified crash)', code: 'modinfo-empty', bytes: from('modinfo_empty'), console: null },
  {
    title: '.modinfo without trailing NUL',
    code: 'modinfo-unterminated',
    bytes: from('modinfo_kv', (p) => p.sectionBytes('.modinfo', p.sectionSize('.modinfo') - 1, [0x78])),
    console: 'livepatch: t: Incorrect metadata format detected',
  },

  // symbol table
  {
    title: 'a payload symbol Xen has',
    code: 'duplicate-symbol',
    bytes: from('func_normal'),
    options: { context: ctx({ xenSymbols: new Map([...XEN_SYMS, ['xlp_name', 0xffff82d040300000n]]) }) },
    console: 'livepatch: t: duplicate new symbol: xlp_name',
  },
  {
    title: 'a payload symbol a loaded payload added (offline)',
    code: 'duplicate-symbol',
    bytes: from('func_normal'),
    options: { context: ctx({ loaded: [{ name: 'first', buildId: 'aa', symbols: ['xlp_func_extra_version'] }] }) },
    console: 'livepatch: t: duplicate new symbol: xlp_func_extra_version',
  },

  // APPLY time
  {
    title: 'depends on a payload, empty stack',
    code: 'depends-mismatch',
    bytes: from('chain_2'),
    options: { context: ctx({ appliedBuildIds: [] }) },
    uploadError: false,
    console: 'livepatch: t: check against hypervisor build-id failed',
  },
  {
    title: 'depends not on the top of the stack',
    code: 'depends-mismatch',
    bytes: from('chain_3'),
    options: { context: ctx({ appliedBuildIds: [XEN_BUILD_ID], loaded: [{ name: 'base', buildId: XEN_BUILD_ID, symbols: [] }] }) },
    uploadError: false,
    console: 'livepatch: t: check against base build-id failed',
  },
  {
    title: 'empty stack, hypervisor without build-id',
    code: 'depends-xen-build-id-unavailable',
    bytes: from('func_normal'),
    options: { context: { xenBuildId: null, appliedBuildIds: [] } },
    uploadError: false,
    alsoAllowed: ['xen-build-id-unavailable'],
  },
  {
    title: 'expectation with reserved bits',
    code: 'expectation-reserved',
    bytes: from('expectations', (p) => p.func(0, 'expect', 1 | (8 << 1) | (1 << 6))),
    uploadError: false,
    console: 'livepatch: t: expectations of xen_extra_version failed (rc=-22), aborting!',
  },
  {
    title: 'expectation longer than old_size',
    code: 'expectation-old-size',
    bytes: from('expectations', (p) => p.func(0, 'expect', 1 | (20 << 1))),
    uploadError: false,
    console: 'livepatch: t: expectations of xen_extra_version failed (rc=-34), aborting!',
  },
];
