import { SHF_ALLOC } from '../../elf/index.js';
import {
  type AddressRef,
  FUNC_FIELDS,
  FUNC_SIZE_V2,
  type LivepatchFunc,
  RelocatedSection,
  locatorFor,
  decodeFuncs,
} from '../../payload/index.js';
import { type AddressRange, difference, exactly, LIVEPATCH_RANGE, within, XEN_WINDOW } from '../address-space.js';
import { lp } from '../console.js';
import { payloadRange } from './relocations.js';
import { type LoadState, lookupSymbol } from './state.js';

const FUNCS = '.livepatch.funcs';
/** `LIVEPATCH_OPAQUE_SIZE`: the most bytes a NOP patch can replace. */
const OPAQUE_SIZE = 31;
/** ARCH_PATCH_INSN_SIZE (a `jmp rel32`) and ENDBR64_LEN on x86. */
const JMP_SIZE = 5;
const ENDBR_SIZE = 4;

/**
 * `prepare_payload`'s loop over `.livepatch.funcs`: size, then per function version, old_size,
 * old address (by name when 0), `arch_livepatch_verify_func` and `livepatch_verify_distance`.
 * Xen stops at the first failing function; every function is checked here.
 */
export function checkFuncs(s: LoadState): void {
  const sec = s.elf!.sectionByName(FUNCS);
  if (!sec) return;
  if (sec.size % BigInt(FUNC_SIZE_V2)) {
    s.findings.add('funcs-size', `${FUNCS} has ${sec.size} bytes, not a multiple of ${FUNC_SIZE_V2} (struct livepatch_func).`, {
      section: FUNCS,
      field: 'sh_size',
      console: lp(s.name, `Wrong size ${sec.size} of ${FUNCS} (must be multiple of ${FUNC_SIZE_V2})`),
    });
    return;
  }
  if (sec.size === 0n) return; // reported by check_patching_sections
  if (!(sec.flags & SHF_ALLOC)) {
    s.findings.add(
      'special-section-not-loaded',
      s.xen.has['unloaded-sections-keep-file-address']
        ? `${FUNCS} is not SHF_ALLOC: Xen reads the functions from the upload buffer without ` +
            `relocating them, keeps a pointer to it after freeing it, and patches through it at APPLY.`
        : `${FUNCS} is not SHF_ALLOC: Xen ${s.xen.name} reads ` + `the functions through a NULL load address and crashes.`,
      { section: FUNCS, field: 'sh_flags' },
    );
    return;
  }
  const locator = s.symtab ? locatorFor(s.elf!, s.symtab) : null;
  const funcs = decodeFuncs(s.elf!, new RelocatedSection(s.elf!, sec, locator), FUNC_SIZE_V2);
  const pointersValid = !s.relocationsFailed.has(sec.index);
  for (const f of funcs) checkFunc(s, f, pointersValid);
}

function where(f: LivepatchFunc, field: keyof typeof FUNC_FIELDS): { section: string; offset: number; field: string; symbol?: string } {
  return { section: FUNCS, offset: f.offset + FUNC_FIELDS[field].offset, field, ...(f.name ? { symbol: f.name } : {}) };
}

function checkFunc(s: LoadState, f: LivepatchFunc, pointersValid: boolean): void {
  const { findings: fs, name } = s;
  const what = `Function ${f.index}${f.name ? ` (${f.name})` : ''}`;
  if (f.version !== 2) {
    fs.add('func-version', `${what} has version ${f.version}; Xen ${s.xen.name} takes payload version 2.`, {
      ...where(f, 'version'),
      console: lp(name, `Wrong version (${f.version}). Expected 2`),
    });
    return;
  }
  if (f.oldSize === 0) {
    fs.add('func-old-size-zero', `${what} has old_size 0.`, {
      ...where(f, 'old_size'),
      console: lp(name, 'Address or size fields are zero'),
    });
    return;
  }
  if (pointersValid && f.oldTarget.kind === 'null' && !checkByName(s, f, what)) return;
  if (pointersValid && f.oldTarget.kind === 'absolute' && !f.isNop) {
    fs.add(
      'func-old-addr-absolute',
      `${what} has the absolute old_addr 0x${f.oldTarget.value.toString(16)}: Xen reads it at ` +
        `upload to look for ENDBR64, and an address outside the hypervisor's text crashes the host.`,
      where(f, 'old_addr'),
    );
  }
  if (f.isNop) {
    if (f.newSize > OPAQUE_SIZE) {
      fs.add('nop-too-long', `${what} is a NOP patch of ${f.newSize} bytes; Xen NOPs out at most ${OPAQUE_SIZE}.`, where(f, 'new_size'));
      return;
    }
    if (f.oldSize < f.newSize) {
      fs.add('nop-old-size', `${what} is a NOP patch of ${f.newSize} bytes but old_size is only ${f.oldSize}.`, where(f, 'old_size'));
      return;
    }
    return; // livepatch_verify_distance ignores NOPs
  }
  if (f.oldSize < JMP_SIZE) {
    fs.add('func-old-size', `${what} has old_size ${f.oldSize}; Xen writes a ${JMP_SIZE}-byte jump.`, where(f, 'old_size'));
    return;
  }
  if (f.oldSize < JMP_SIZE + ENDBR_SIZE) {
    fs.add(
      'func-old-size-endbr',
      `${what} has old_size ${f.oldSize}: if the old function starts with ENDBR64 (hypervisors ` +
        `built with CET-IBT), Xen needs ${JMP_SIZE + ENDBR_SIZE} and refuses the upload (EINVAL).`,
      where(f, 'old_size'),
    );
  }
  if (pointersValid) checkDistance(s, f, what);
}

/** `resolve_old_address`: old_addr 0 means "look `name` up", in Xen, then in the loaded payloads. */
function checkByName(s: LoadState, f: LivepatchFunc, what: string): boolean {
  const ref = f.nameTarget;
  if (ref.kind === 'null' || ref.kind === 'absolute') {
    s.findings.add(
      'func-name-invalid',
      ref.kind === 'null'
        ? `${what} has old_addr 0 and no name: Xen looks up the string at address 0 and crashes.`
        : `${what} has old_addr 0 and a name pointer to the absolute ` + `address 0x${ref.value.toString(16)}, which Xen dereferences.`,
      where(f, 'name'),
    );
    return false;
  }
  if (ref.kind !== 'payload' || f.name === null) return true; // a Xen string, or a relocation already reported
  const found = lookupSymbol(s, f.name);
  if (found === 'missing') {
    s.findings.add(
      'func-unresolved',
      `${what} has old_addr 0 and its name ${f.name ? `"${f.name}"` : '(empty)'} ` + `is not a hypervisor or loaded payload symbol.`,
      { ...where(f, 'name'), console: lp(s.name, `Could not resolve old address of ${f.name}`) },
    );
    return false;
  }
  if (found === 'unknown') s.unverified.funcNames.add(f.name);
  return true;
}

/** Where an address field points, as a range (payload addresses are in the hypervisor's window). */
function rangeOf(s: LoadState, ref: AddressRef, name: string | null): AddressRange | { payload: bigint } | null {
  switch (ref.kind) {
    case 'null': {
      // old_addr 0: resolved by name.
      const v = name ? s.context?.xenSymbols?.get(name) : undefined;
      return v ? exactly(v) : XEN_WINDOW;
    }
    case 'absolute':
      return exactly(ref.value);
    case 'external': {
      const v = s.context?.xenSymbols?.get(ref.symbol);
      return v ? exactly(v + ref.addend) : XEN_WINDOW;
    }
    case 'payload': {
      const base = s.layout?.base.get(ref.section);
      return base === undefined ? null : { payload: base + ref.offset };
    }
    case 'unresolved':
      return null;
  }
}

/** `livepatch_verify_distance`: -2 GiB <= old - new < 2 GiB. */
function checkDistance(s: LoadState, f: LivepatchFunc, what: string): void {
  const o = rangeOf(s, f.oldTarget, f.name);
  const n = rangeOf(s, f.newTarget, null);
  if (!o || !n) return;
  let verdict: 'always' | 'never' | 'maybe';
  if ('payload' in o && 'payload' in n) {
    verdict = 'always';
  } else {
    const or = 'payload' in o ? payloadRange(o.payload) : o;
    const nr = 'payload' in n ? payloadRange(n.payload) : n;
    verdict = within(difference(or, nr), -LIVEPATCH_RANGE, LIVEPATCH_RANGE);
  }
  if (verdict === 'never') {
    s.findings.add(
      'func-too-far',
      `${what}: the new code is 2 GiB or more away from the old function, out of reach of a 32-bit jump.`,
      where(f, 'new_addr'),
    );
  } else if (verdict === 'maybe') {
    s.findings.add(
      'func-distance-unverified',
      `${what}: whether the new code is within 2 GiB of the old ` + `function depends on where the hypervisor loads the payload.`,
      where(f, 'new_addr'),
    );
  }
}
