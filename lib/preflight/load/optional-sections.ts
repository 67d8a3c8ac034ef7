import { R_X86_64_PC32, R_X86_64_PLT32, SHF_ALLOC, type SectionHeader } from '../../elf/index.js';
import { RelocatedSection } from '../../payload/index.js';
import { ERRNO } from '../../xen/errno.js';
import { CONSOLE_ADDR } from '../../xen/domain.js';
import { cHex, lp, lpNoColon } from '../console.js';
import { symbolAddress } from './relocations.js';
import { label, type LoadState } from './state.js';

/** `struct alt_instr` (packed): s32 orig, s32 repl, u16 cpuid, u8 orig_len, repl_len, pad_len, priv. */
const ALT_INSTR_SIZE = 14;
/** `MAX_PATCH_LEN` and `NCAPINTS * 32` on x86 (4.17.7 and master alike). */
const MAX_PATCH_LEN = 254;
const FEATURE_LIMIT = 21 * 32;
const ALT_FLAG_NOT = 0x8000;
const ADDR = CONSOLE_ADDR;

function wrongSize(
  s: LoadState,
  code: 'bug-frames-size' | 'altinstructions-size' | 'ex-table-size' | 'alt-call-sites',
  sec: SectionHeader,
  unit: number,
  what: string,
): boolean {
  if (sec.size % BigInt(unit) === 0n) return false;
  s.findings.add(code, `${label(sec)} has ${sec.size} bytes, not a whole number of ${what} (${unit} bytes).`, {
    section: label(sec),
    field: 'sh_size',
    console: lp(s.name, `Wrong size ${sec.size} of ${label(sec)} (must be multiple of ${unit})`),
  });
  return true;
}

/** `.bug_frames.0` to `.bug_frames.3`: whole 8-byte frames. */
export function checkBugFrames(s: LoadState): void {
  for (let i = 0; i < 4; i++) {
    const sec = s.elf!.sectionByName(`.bug_frames.${i}`);
    if (!sec || wrongSize(s, 'bug-frames-size', sec, 8, 'bug frames')) continue;
    if (sec.size > 0n && !(sec.flags & SHF_ALLOC)) {
      s.findings.add(
        'hook-not-loaded',
        `${label(sec)} is not SHF_ALLOC: the hypervisor registers its bug frames at a NULL (or freed) ` +
          `address, so a BUG or WARN in the payload crashes the host.`,
        { section: label(sec), field: 'sh_flags' },
      );
    }
  }
}

/** Where a PC-relative `s32` field of a loaded section points, as an offset from the payload start. */
function pcRelativeTarget(s: LoadState, data: RelocatedSection, base: bigint, at: number): bigint | 'outside' | null {
  const rel = data.relocationAt(at);
  if (rel) {
    if (rel.type !== R_X86_64_PC32 && rel.type !== R_X86_64_PLT32) return null;
    const target = s.symtab && rel.sym < s.symtab.count ? symbolAddress(s, rel.sym) : null;
    if (!target) return null;
    return 'payload' in target ? target.payload + rel.addend : 'outside';
  }
  if (at + 4 > data.size) return null;
  const raw = new DataView(data.bytes.buffer, data.bytes.byteOffset + at, 4).getInt32(0, true);
  return base + BigInt(at) + BigInt(raw);
}

function outside(p: bigint | 'outside', len: number, start: bigint, size: bigint): boolean {
  return p === 'outside' || p < start || BigInt(len) > size || p + BigInt(len) > start + size;
}

/**
 * `.altinstructions`: whole entries; if not empty, the payload needs text and an
 * `.altinstr_replacement`; every original range must lie in the payload text and every replacement
 * in `.altinstr_replacement`. Then `apply_alternatives`, which BUG()s on impossible lengths or
 * feature bits unless the version has 'alternatives-refused' (4.18.4, 4.19.1, 4.20), which refuses them.
 */
export function checkAlternatives(s: LoadState): void {
  const sec = s.elf!.sectionByName('.altinstructions');
  if (!sec || wrongSize(s, 'altinstructions-size', sec, ALT_INSTR_SIZE, 'alt_instr entries') || sec.size === 0n) return;
  const name = s.name;
  const layout = s.layout;
  if (layout && layout.textSize === 0n) {
    s.findings.add('altinstructions-no-text', '.altinstructions is not empty but the payload has no executable section.', {
      section: label(sec),
      console: lpNoColon(name, 'Alternatives provided, but no .text'),
    });
    return;
  }
  const replSec = s.elf!.sectionByName('.altinstr_replacement');
  if (!replSec) {
    s.findings.add('altinstructions-no-replacement', '.altinstructions is not empty but there is no .altinstr_replacement section.', {
      section: label(sec),
      console: lpNoColon(name, '.altinstructions provided, but no .altinstr_replacement'),
    });
    return;
  }
  if (!layout) return;
  if (!(sec.flags & SHF_ALLOC)) {
    if (!s.xen.has['unloaded-sections-keep-file-address']) {
      s.findings.add(
        'special-section-not-loaded',
        `.altinstructions is not SHF_ALLOC: Xen ${s.xen.name} walks it from a NULL load address and ` + `crashes.`,
        { section: label(sec), field: 'sh_flags' },
      );
      return;
    }
  }
  const base = layout.base.get(sec.index);
  const replBase = layout.base.get(replSec.index);
  const data = new RelocatedSection(s.elf!, sec, null);
  // The entries the file holds: a size that wraps around 2^64 (already a fatal finding) is not walked.
  const count = Math.floor(data.size / ALT_INSTR_SIZE);
  const entries: { k: number; cpuid: number; origLen: number; replLen: number; padLen: number }[] = [];
  let rangesOk = true;
  for (let k = 0; k < count; k++) {
    const at = k * ALT_INSTR_SIZE;
    const e = {
      k,
      cpuid: data.bytes[at + 8]! | (data.bytes[at + 9]! << 8),
      origLen: data.bytes[at + 10]!,
      replLen: data.bytes[at + 11]!,
      padLen: data.bytes[at + 12]!,
    };
    entries.push(e);
    // Unloaded ('unloaded-sections-keep-file-address'): the fields are read unrelocated, relative to
    // the upload buffer, which is not the payload.
    const orig = base === undefined ? 'outside' : pcRelativeTarget(s, data, base, at);
    const repl = base === undefined ? 'outside' : pcRelativeTarget(s, data, base, at + 4);
    const where = { section: label(sec), offset: at };
    if (orig !== null && outside(orig, e.origLen, 0n, layout.textSize)) {
      s.findings.add(
        'alternative-out-of-range',
        `Alternative ${k}: the ${e.origLen} original bytes are not inside the payload's text ` + `(${layout.textSize} bytes).`,
        {
          ...where,
          field: 'orig_offset',
          console: lpNoColon(
            name,
            `Alternative orig ${ADDR}+${hexOrZero(e.origLen)} outside payload ` + `text ${ADDR}+${hexOrZero(layout.textSize)}`,
          ),
        },
      );
      rangesOk = false;
    } else if (repl !== null && (replBase === undefined || outside(repl, e.replLen, replBase, replSec.size))) {
      s.findings.add(
        'alternative-out-of-range',
        `Alternative ${k}: the ${e.replLen} replacement bytes are not inside .altinstr_replacement ` + `(${replSec.size} bytes).`,
        {
          ...where,
          field: 'repl_offset',
          console: lpNoColon(
            name,
            `Alternative repl ${ADDR}+${hexOrZero(e.replLen)} outside ` + `.altinstr_replacement ${ADDR}+${hexOrZero(replSec.size)}`,
          ),
        },
      );
      rangesOk = false;
    }
  }
  if (!rangesOk) return;
  for (const e of entries) {
    const total = e.origLen + e.padLen;
    const feat = e.cpuid & ~ALT_FLAG_NOT;
    // apply_alternatives' three checks, in its order; `alt` is what it prints when it refuses (%ps of
    // the original: the payload's text is not a registered region yet, so the bare address).
    const problem =
      e.replLen > total
        ? {
            why: `its replacement (${e.replLen} bytes) is longer than the original plus padding (${total})`,
            errno: ERRNO.ENOSPC,
            alt: `replacement size ${cHex(e.replLen)} larger than origin ${cHex(total)}`,
          }
        : total > MAX_PATCH_LEN
          ? {
              why: `original plus padding is ${total} bytes, more than ${MAX_PATCH_LEN}`,
              errno: ERRNO.ENOSPC,
              alt: `origin size ${cHex(total)} bigger than buffer ${cHex(MAX_PATCH_LEN)}`,
            }
          : feat >= FEATURE_LIMIT
            ? {
                why: `feature ${feat} is outside the feature set (${FEATURE_LIMIT})`,
                errno: ERRNO.ERANGE,
                alt: `feature ${cHex(feat)} outside of featureset range ${cHex(FEATURE_LIMIT)}`,
              }
            : null;
    if (!problem) continue;
    const where = { section: label(sec), offset: e.k * ALT_INSTR_SIZE };
    if (!s.xen.has['alternatives-refused'])
      s.findings.add(
        'alternative-invalid',
        `Alternative ${e.k}: ${problem.why}; Xen ${s.xen.name} hits a BUG_ON in apply_alternatives and ` + `the host crashes.`,
        where,
      );
    else {
      s.findings.add('alternative-invalid', `Alternative ${e.k}: ${problem.why}; apply_alternatives refuses it.`, {
        ...where,
        severity: 'error',
        errno: problem.errno,
        console: `Alt for ${ADDR}, ${problem.alt}\n${lpNoColon(name, `applying alternatives failed: -${problem.errno}`)}`,
      });
    }
    // Xen stops at the first entry it refuses.
    return;
  }
}

function hexOrZero(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`;
}

/** Xen 4.21+ `.alt_call_sites`: 4-byte PC-relative sites, each a 6-byte call inside the payload text. */
export function checkAltCallSites(s: LoadState): void {
  if (!s.xen.has['alt-call-sites']) return;
  const sec = s.elf!.sectionByName('.alt_call_sites');
  if (!sec || wrongSize(s, 'alt-call-sites', sec, 4, 'call sites') || sec.size === 0n) return;
  const layout = s.layout;
  if (!layout) return;
  if (layout.textSize === 0n) {
    s.findings.add('alt-call-sites', '.alt_call_sites is not empty but the payload has no executable section.', {
      section: label(sec),
      console: lpNoColon(s.name, 'Alternative calls provided, but no .text'),
    });
    return;
  }
  const base = layout.base.get(sec.index);
  const data = new RelocatedSection(s.elf!, sec, null);
  for (let at = 0; at + 4 <= data.size; at += 4) {
    const orig = base === undefined ? 'outside' : pcRelativeTarget(s, data, base, at);
    if (orig !== null && outside(orig, 6, 0n, layout.textSize)) {
      s.findings.add(
        'alt-call-sites',
        `Alternative call site ${at / 4} is not a 6-byte call inside the payload's text ` + `(${layout.textSize} bytes).`,
        {
          section: label(sec),
          offset: at,
          console: lp(s.name, `Alternative call ${ADDR}+0x6 outside payload text ${ADDR}+${hexOrZero(layout.textSize)}`),
        },
      );
    }
  }
}

/** `.ex_table`: whole `{s32 addr, s32 cont}` entries, sorted in place at load. */
export function checkExTable(s: LoadState): void {
  const sec = s.elf!.sectionByName('.ex_table');
  if (!sec || wrongSize(s, 'ex-table-size', sec, 8, 'exception table entries') || sec.size === 0n || sec.flags & SHF_ALLOC) return;
  if (sec.size >= 16n && !s.xen.has['unloaded-sections-keep-file-address']) {
    s.findings.add(
      'special-section-not-loaded',
      `.ex_table is not SHF_ALLOC: Xen ${s.xen.name} sorts it at a NULL load address and crashes.`,
      { section: label(sec), field: 'sh_flags' },
    );
  } else {
    s.findings.add(
      'hook-not-loaded',
      '.ex_table is not SHF_ALLOC: the hypervisor registers it at a NULL (or freed) address, so a ' +
        'fault in the payload that needs a fixup crashes the host.',
      { section: label(sec), field: 'sh_flags' },
    );
  }
}

/**
 * `.modinfo`: the last byte must be NUL. An empty section is not refused: Xen reads the byte before
 * it through a 32-bit length that wrapped to 4 GiB and takes a fatal page fault.
 */
export function checkModinfo(s: LoadState): void {
  const sec = s.elf!.sectionByName('.modinfo');
  if (!sec) return;
  if (sec.size === 0n) {
    s.findings.add(
      'modinfo-empty',
      '.modinfo is empty: Xen checks its last byte at offset 0xffffffff (a 32-bit length of 0, minus ' +
        '1) and crashes with a fatal page fault.',
      { section: '.modinfo', field: 'sh_size' },
    );
    return;
  }
  if (!(sec.flags & SHF_ALLOC)) {
    s.findings.add(
      'special-section-not-loaded',
      s.xen.has['unloaded-sections-keep-file-address']
        ? '.modinfo is not SHF_ALLOC: Xen keeps a pointer into the upload buffer, which it frees, and ' + 'LIST copies from it.'
        : `.modinfo is not SHF_ALLOC: Xen ${s.xen.name} checks its last byte through a NULL load address ` + `and crashes.`,
      { section: '.modinfo', field: 'sh_flags' },
    );
    if (!s.xen.has['unloaded-sections-keep-file-address']) return;
  }
  const data = s.elf!.data(sec);
  const last = data ? data[data.length - 1] : 0; // NOBITS reads as zeros
  if (last !== 0) {
    s.findings.add('modinfo-unterminated', `.modinfo's last byte is 0x${last!.toString(16)}, not NUL: Xen wants NUL-terminated strings.`, {
      section: '.modinfo',
      offset: Number(sec.size) - 1,
      console: lp(s.name, 'Incorrect metadata format detected'),
    });
  }
}
