// Facts about the packaged hypervisor that payloads and the mock's identity need, all read from the
// image and its symbol table (never hard-coded): the build-id, the bytes and sizes of the functions
// the parity payloads patch, and whether Xen 4.17's `struct payload` layout (which two of Xen's
// in-tree tests poke at) is the one this binary was compiled with.
import { run } from '../common.js';
import { readImageBytes, virtToFileOffset, type XenImage } from '../image.js';
import { gapToNext, symbol, type XenSymbol } from '../xensyms.js';

export interface Insn {
  /** Offset from the function's start. */
  offset: number;
  bytes: string;
  text: string;
}

export interface FunctionFacts {
  name: string;
  /** Hex address, 16 digits. */
  addr: string;
  /** Distance to the next symbol (an upper bound of the size). */
  gap: number;
  /** Bytes up to the end of the last instruction before padding. */
  size: number;
  /** Offset of that last instruction (`ret`, or `jmp` to a return thunk). */
  lastInsnOffset: number;
  /** The first `size` bytes, hex. */
  bytes: string;
  /** The first `gap` bytes, hex. */
  gapBytes: string;
  startsWithEndbr64: boolean;
  insns: Insn[];
}

export interface LayoutFacts {
  /** Whether revert_payload reads funcs/fstate/nfuncs at the offsets xen417_payload.h declares. */
  ok: boolean;
  /** The instructions that show it (or why not). */
  evidence: string[];
}

export interface XenFacts {
  buildId: string;
  version: string;
  imageSha256: string;
  extraVersion: FunctionFacts;
  minorVersion: FunctionFacts;
  structPayload: LayoutFacts;
}

/** Disassembles `len` bytes of the image at a hypervisor address with binutils' objdump. */
export function disassemble(image: XenImage, addr: bigint, len: number): Insn[] {
  const off = virtToFileOffset(image, addr);
  const out = run('objdump', [
    '-D',
    '-b',
    'binary',
    '-m',
    'i386:x86-64',
    '-w',
    `--start-address=${off}`,
    `--stop-address=${off + len}`,
    image.path,
  ]).stdout;
  const insns: Insn[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (m) insns.push({ offset: parseInt(m[1]!, 16) - off, bytes: m[2]!.replace(/ /g, ''), text: m[3]!.trim() });
  }
  return insns;
}

function isPadding(i: Insn): boolean {
  return /^(nop|int3|data16|cs nopw|nopw|nopl|xchg\s+%ax,%ax)/.test(i.text);
}

export function functionFacts(image: XenImage, syms: XenSymbol[], name: string): FunctionFacts {
  const s = symbol(syms, name);
  const gap = gapToNext(syms, name);
  const insns = disassemble(image, s.addr, gap);
  // The function ends with its last non-padding instruction, which must be a return.
  let last = insns.length - 1;
  while (last >= 0 && isPadding(insns[last]!)) last--;
  const end = insns[last];
  if (!end || !/^(ret|jmp)/.test(end.text)) throw new Error(`${name}: cannot find where the function ends in ${JSON.stringify(insns)}`);
  const size = end.offset + end.bytes.length / 2;
  return {
    name,
    addr: s.addr.toString(16).padStart(16, '0'),
    gap,
    size,
    lastInsnOffset: end.offset,
    bytes: readImageBytes(image, s.addr, size).toString('hex'),
    gapBytes: readImageBytes(image, s.addr, gap).toString('hex'),
    startsWithEndbr64: readImageBytes(image, s.addr, 4).toString('hex') === 'f30f1efa',
    insns: insns.slice(0, last + 1),
  };
}

/**
 * Xen 4.17's revert_payload() walks `data->nfuncs` functions, reading `data->funcs[i]` and
 * `data->fstate[i]`: its code names the three offsets test/parity/payloads/xen417_payload.h
 * declares (funcs 0x68, fstate 0x70, nfuncs 0x78 from the payload pointer).
 */
export function structPayloadLayout(image: XenImage, syms: XenSymbol[]): LayoutFacts {
  const s = symbol(syms, 'revert_payload');
  const insns = disassemble(image, s.addr, Math.min(gapToNext(syms, 'revert_payload'), 0x200));
  // The payload pointer arrives in %rdi and is kept in a callee-saved register.
  const keep = insns.find((i) => /^mov\s+%rdi,%(r\w+)$/.test(i.text));
  const reg = keep ? /%rdi,(%\w+)$/.exec(keep.text)![1]! : undefined;
  if (!reg) return { ok: false, evidence: ['revert_payload does not copy its argument to a register'] };
  const want = { funcs: '0x68', fstate: '0x70', nfuncs: '0x78' };
  const evidence: string[] = [keep!.text];
  let ok = true;
  for (const [field, off] of Object.entries(want)) {
    const hit = insns.find((i) => i.text.includes(`${off}(${reg})`));
    if (hit) evidence.push(`${field}: ${hit.text}`);
    else {
      ok = false;
      evidence.push(`${field}: no access to ${off}(${reg})`);
    }
  }
  return { ok, evidence };
}

export function xenFacts(image: XenImage, syms: XenSymbol[]): XenFacts {
  return {
    buildId: image.buildId,
    version: image.version,
    imageSha256: image.sha256,
    extraVersion: functionFacts(image, syms, 'xen_extra_version'),
    minorVersion: functionFacts(image, syms, 'xen_minor_version'),
    structPayload: structPayloadLayout(image, syms),
  };
}
