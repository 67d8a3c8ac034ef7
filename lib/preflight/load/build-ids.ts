import { SHF_ALLOC } from '../../elf/index.js';
import { BUILD_ID_SECTIONS, buildIdOf, type BuildIdParse } from '../../payload/index.js';
import { ERRNO } from '../../xen/errno.js';
import { lp } from '../console.js';
import type { RuleCode } from '../rules.js';
import type { LoadState } from './state.js';

const XEN_DEPENDS = BUILD_ID_SECTIONS.xenDepends;

/**
 * The two continuation lines of `check_xen_buildid`'s mismatch message. Xen's format string indents
 * them with U+00A0 NO-BREAK SPACEs (UTF-8 in the source, printed byte for byte): one before
 * `  livepatch:`'s space, seven before `xen:`'s, so the ids line up.
 */
export const MISMATCH_LIVEPATCH = '\u00a0 livepatch: ';
export const MISMATCH_XEN = `${'\u00a0'.repeat(7)} xen: `;

/** The three build-id sections: which finding a missing or unparsable one gives. */
const NOTES = {
  [BUILD_ID_SECTIONS.depends]: { missing: 'depends-missing', invalid: 'depends-invalid', what: 'the build-id this payload depends on' },
  [BUILD_ID_SECTIONS.xenDepends]: {
    missing: 'xen-depends-missing',
    invalid: 'xen-depends-invalid',
    what: 'the hypervisor build-id this payload was built for',
  },
  [BUILD_ID_SECTIONS.buildId]: { missing: 'build-id-missing', invalid: 'build-id-invalid', what: "the payload's own build-id" },
} as const satisfies Record<string, { missing: RuleCode; invalid: RuleCode; what: string }>;

/**
 * `check_special_sections`: `.livepatch.depends` and `.note.gnu.build-id` (and, before 'xen-build-id-first',
 * `.livepatch.xen_depends`) must be present and non-empty. Runs after relocation.
 */
export function checkSpecialSections(s: LoadState): void {
  const names = !s.xen.has['xen-build-id-first']
    ? [BUILD_ID_SECTIONS.depends, XEN_DEPENDS, BUILD_ID_SECTIONS.buildId]
    : [BUILD_ID_SECTIONS.depends, BUILD_ID_SECTIONS.buildId];
  for (const n of names) {
    const sec = s.elf!.sectionByName(n);
    const rule = NOTES[n];
    if (!sec)
      s.findings.add(rule.missing, `${n} is missing: it must hold ${rule.what}.`, { section: n, console: lp(s.name, `${n} is missing`) });
    else if (sec.size === 0n)
      s.findings.add(rule.missing, `${n} is empty: it must hold ${rule.what}.`, {
        section: n,
        field: 'sh_size',
        console: lp(s.name, `${n} is empty`),
      });
  }
}

/**
 * 'xen-build-id-first' (4.18.4, 4.19.1, 4.20): `check_xen_buildid`, right after the ELF checks: `.livepatch.xen_depends` must be
 * there, parse, and equal the running hypervisor's build-id.
 */
export function checkXenBuildIdFirst(s: LoadState): void {
  const sec = s.elf!.sectionByName(XEN_DEPENDS);
  if (!sec) {
    s.findings.add('xen-depends-missing', `${XEN_DEPENDS} is missing: it must hold ${NOTES[XEN_DEPENDS].what}.`, {
      section: XEN_DEPENDS,
      console: lp(s.name, `section ${XEN_DEPENDS} is missing`),
    });
    return;
  }
  const parsed = buildIdOf(s.elf!, XEN_DEPENDS)!;
  if (!parsed.ok) {
    const rc = -ERRNO[parsed.errno];
    s.findings.add('xen-depends-invalid', `${XEN_DEPENDS} is not a build-id note Xen can parse: ${parsed.reason}.`, {
      section: XEN_DEPENDS,
      console: lp(s.name, `failed to parse section ${XEN_DEPENDS} as build-id: ${rc}`),
    });
    return;
  }
  compareWithXen(s, parsed.id, 'first');
}

/** Before 'xen-build-id-first': `xen_build_id_dep`, after `prepare_payload` has parsed the note. */
export function checkXenBuildIdAfterPrepare(s: LoadState): void {
  const parsed = buildIdOf(s.elf!, XEN_DEPENDS);
  if (!parsed?.ok) return; // already reported (missing or invalid): Xen stopped before this
  compareWithXen(s, parsed.id, 'after');
}

function compareWithXen(s: LoadState, id: string, when: 'first' | 'after'): void {
  const ctx = s.context;
  if (!ctx || ctx.xenBuildId === undefined) {
    s.findings.add(
      'xen-build-id-unverified',
      `${XEN_DEPENDS} says the payload is for hypervisor ` + `build-id ${id}; no running hypervisor was given to compare with.`,
      { section: XEN_DEPENDS },
    );
    return;
  }
  if (ctx.xenBuildId === null) {
    s.findings.add('xen-build-id-unavailable', 'The hypervisor has no build-id, so Xen cannot check .livepatch.xen_depends.', {
      section: XEN_DEPENDS,
      // 4.20 prints xen_build_id()'s -ENODATA; 4.21+ reads a variable and prints rc, still 0 there.
      ...(when === 'first'
        ? { console: lp(s.name, `unable to get running Xen build-id: ${s.xen.has['running-build-id-rc-zero'] ? 0 : -ERRNO.ENODATA}`) }
        : {}),
    });
    return;
  }
  const xen = ctx.xenBuildId.toLowerCase();
  if (xen !== id) {
    s.findings.add('xen-build-id-mismatch', `The payload was built for hypervisor ${id}, but this hypervisor is ${xen}.`, {
      section: XEN_DEPENDS,
      console:
        when === 'first'
          ? lp(s.name, `build-id mismatch:\n${MISMATCH_LIVEPATCH}${id}\n${MISMATCH_XEN}${xen}`)
          : lp(s.name, 'check against hypervisor build-id failed'),
    });
  }
}

/**
 * `prepare_payload`'s notes: the payload's own build-id (and no duplicate among the loaded
 * payloads), `.livepatch.depends`, and before 'xen-build-id-first' `.livepatch.xen_depends`. Xen prints nothing.
 */
export function checkPreparedNotes(s: LoadState): void {
  const own = parseNote(s, BUILD_ID_SECTIONS.buildId);
  if (own?.ok) {
    const dup = s.context?.loaded?.find((p) => p.buildId !== null && p.buildId.toLowerCase() === own.id);
    if (dup)
      s.findings.add('duplicate-build-id', `Payload "${dup.name}" is already uploaded with the same build-id ${own.id}.`, {
        section: BUILD_ID_SECTIONS.buildId,
      });
  }
  parseNote(s, BUILD_ID_SECTIONS.depends);
  if (!s.xen.has['xen-build-id-first']) parseNote(s, XEN_DEPENDS);
}

function parseNote(s: LoadState, name: keyof typeof NOTES): BuildIdParse | null {
  const sec = s.elf!.sectionByName(name);
  if (!sec || sec.size === 0n) return null; // reported by checkSpecialSections
  if (!(sec.flags & SHF_ALLOC) && notLoadedNote(s, name, sec.size)) return null;
  const parsed = buildIdOf(s.elf!, name)!;
  if (!parsed.ok) {
    // Before 'build-id-note-errno' every parse failure is EINVAL; after, parse_buildid's own errno.
    const errno = s.xen.has['build-id-note-errno'] ? ERRNO[parsed.errno] : ERRNO.EINVAL;
    s.findings.add(NOTES[name].invalid, `${name} is not a build-id note Xen can parse: ${parsed.reason}.`, { section: name, errno });
  }
  return parsed;
}

/** A build-id note in an unloaded section: Xen reads it through its (NULL or freed) load address. */
function notLoadedNote(s: LoadState, name: string, size: bigint): boolean {
  if (size <= 12n) return false; // refused (EINVAL) before the note is read
  if (!s.xen.has['unloaded-sections-keep-file-address']) {
    s.findings.add(
      'special-section-not-loaded',
      `${name} is not SHF_ALLOC: Xen ${s.xen.name} parses it through a NULL load address and crashes.`,
      { section: name, field: 'sh_flags' },
    );
    return true;
  }
  if (name !== XEN_DEPENDS) {
    s.findings.add(
      'special-section-not-loaded',
      `${name} is not SHF_ALLOC: Xen keeps a pointer into the upload ` + `buffer, which it frees, and reads it on later uploads and APPLY.`,
      { section: name, field: 'sh_flags' },
    );
  }
  return false;
}
