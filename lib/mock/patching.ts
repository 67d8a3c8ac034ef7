/**
 * A payload's functions against the hypervisor memory the mock knows: resolving old addresses,
 * checking expectations (`livepatch_check_expectations`) and writing or restoring the patch
 * (`arch_livepatch_apply` / `arch_livepatch_revert`).
 */
import { ERRNO } from '../xen/errno.js';
import type { MockMachine } from './machine.js';
import { ENDBR64_LEN, jmpRel32, nops, PATCH_INSN_SIZE } from './memory.js';
import { msg } from './messages.js';
import { hexN, str } from './printk.js';
import type { PayloadRecord } from './state.js';

type PayloadFunc = PayloadRecord['payload']['funcs'][number];
type LoadedFunc = PayloadRecord['funcs'][number];

/** `resolve_old_address`: old_addr 0 means "look the name up", in Xen's table then in payloads'. */
export function resolveFunc(m: MockMachine, f: PayloadFunc): { oldAddr: bigint; newAddr: bigint; location: LoadedFunc['location'] } {
  if (f.oldAddr === 0n || f.oldSymbol) {
    const sym = f.oldAddr === 0n ? f.name : f.oldSymbol;
    if (sym === null) return { oldAddr: 0n, newAddr: 0n, location: null };
    const owner = m.identity.symbols?.has(sym) ? undefined : m.state.payloads.find((p) => p.newSymbols.includes(sym));
    const base = owner ? owner.textAddr : m.memory.addressOf(sym);
    const offset = f.oldAddr === 0n ? 0n : f.oldAddr;
    const known = !owner && Object.hasOwn(m.state.memory, sym);
    return { oldAddr: base + offset, newAddr: 0n, location: known ? { symbol: sym, offset: Number(offset) } : null };
  }
  return { oldAddr: f.oldAddr, newAddr: 0n, location: m.memory.locate(f.oldAddr) };
}

/** `livepatch_check_expectations`. */
export function checkExpectations(m: MockMachine, p: PayloadRecord): number {
  m.console.printk(msg.verifyingExpectations(p.name));
  for (const [i, f] of p.payload.funcs.entries()) {
    const rc = verifyExpectation(m, p, f, p.funcs[i]!);
    if (rc) {
      m.console.printk(msg.expectationsOfFailed(p.name, f.name ?? 'unknown', rc));
      return rc;
    }
  }
  return 0;
}

function verifyExpectation(m: MockMachine, p: PayloadRecord, f: PayloadFunc, rt: LoadedFunc): number {
  const e = f.expect;
  if (!e?.enabled) return 0;
  if (rt.oldAddr === 0n) return -ERRNO.EFAULT;
  if (e.len > 31) return -ERRNO.EOVERFLOW;
  if (e.rsv) return -ERRNO.EINVAL;
  if (f.oldSize < e.len) return -ERRNO.ERANGE;
  const actual = rt.location ? m.memory.read(rt.location, e.len) : null;
  if (!actual) {
    m.warn('expectation-unverifiable', p.name, `contents of ${f.name ?? 'the old function'} unknown: its expectation was taken as met`);
    return 0;
  }
  const expected = e.data.subarray(0, e.len);
  if (!Buffer.from(actual).equals(Buffer.from(expected))) {
    m.console.printk(msg.expectationFailed(str(f.name), hexN(expected), hexN(actual)));
    return -ERRNO.EINVAL;
  }
  return 0;
}

/** `arch_livepatch_apply` on the known memory. */
export function patch(m: MockMachine, p: PayloadRecord, i: number): void {
  const f = p.payload.funcs[i]!;
  const rt = p.funcs[i]!;
  const loc = rt.location;
  const offset = loc && m.memory.startsWithEndbr(loc) ? ENDBR64_LEN : 0;
  p.patchOffset[i] = offset;
  if (!loc) return;
  const at = { symbol: loc.symbol, offset: loc.offset + offset };
  const len = f.isNop ? f.newSize - offset : PATCH_INSN_SIZE;
  if (len <= 0) return;
  p.saved[i] = m.memory.read(at, len);
  m.memory.write(at, f.isNop ? nops(len) : jmpRel32(rt.oldAddr + BigInt(offset), rt.newAddr));
}

/** `arch_livepatch_revert`: the saved bytes back. */
export function unpatch(m: MockMachine, p: PayloadRecord, i: number): void {
  const loc = p.funcs[i]!.location;
  const saved = p.saved[i];
  if (loc && saved) m.memory.write({ symbol: loc.symbol, offset: loc.offset + p.patchOffset[i]! }, saved);
  p.saved[i] = null;
}
