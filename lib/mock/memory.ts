/**
 * What the mock knows of hypervisor memory: symbol addresses (from the identity's symbol table, or
 * synthetic) and, for the functions the identity lists, the bytes at their start. Patching a
 * function rewrites those bytes as `arch_livepatch_apply` does (a `jmp rel32`, or NOPs, after an
 * ENDBR64 if the function starts with one), so a later expectation sees the patched code.
 */
import type { SymbolTable } from '../xen/symbols.js';

/** Where synthetic hypervisor symbols live (Xen's x86-64 text starts at 0xffff82d040200000). */
const SYNTHETIC_TEXT = 0xffff_82d0_4020_0000n;

/** `endbr64` and the poison Xen writes over unused ones (arch/x86/include/asm/endbr.h). */
const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];
const ENDBR64_POISON = [0x66, 0x0f, 0x1f, 0x01];
export const ENDBR64_LEN = 4;
export const PATCH_INSN_SIZE = 5;

export interface CodeLocation {
  readonly symbol: string;
  readonly offset: number;
}

/** A deterministic synthetic address for a name (FNV-1a, 16-byte aligned, within 16 MiB). */
export function syntheticAddress(name: string): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return SYNTHETIC_TEXT + BigInt((h & 0xfffff) << 4);
}

export class MemoryModel {
  /** Symbols with known contents, sorted by address, for reverse lookups of absolute addresses. */
  private readonly known: { name: string; addr: bigint }[];

  constructor(
    private readonly symbols: SymbolTable | null,
    /** Current bytes per symbol (mutated by patching). */
    readonly contents: Record<string, Uint8Array>,
  ) {
    this.known = Object.keys(contents)
      .map((name) => ({ name, addr: this.addressOf(name) }))
      .sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  addressOf(name: string): bigint {
    return this.symbols?.get(name) ?? syntheticAddress(name);
  }

  /** Whether the symbol table names this symbol (always false without a table). */
  hasSymbol(name: string): boolean {
    return this.symbols?.has(name) ?? false;
  }

  /** The known-contents location of an absolute address, if any. */
  locate(addr: bigint): CodeLocation | null {
    for (const k of this.known) {
      const bytes = this.contents[k.name]!;
      if (addr >= k.addr && addr < k.addr + BigInt(bytes.length)) return { symbol: k.name, offset: Number(addr - k.addr) };
    }
    return null;
  }

  /** The known bytes of a symbol (own entries only: a function named `toString` has none). */
  private bytesOf(symbol: string): Uint8Array | undefined {
    return Object.hasOwn(this.contents, symbol) ? this.contents[symbol] : undefined;
  }

  read(loc: CodeLocation, len: number): Uint8Array | null {
    const bytes = this.bytesOf(loc.symbol);
    if (!bytes || loc.offset + len > bytes.length) return null;
    return bytes.slice(loc.offset, loc.offset + len);
  }

  write(loc: CodeLocation, data: Uint8Array): void {
    const bytes = this.bytesOf(loc.symbol);
    if (!bytes || loc.offset + data.length > bytes.length) return;
    bytes.set(data, loc.offset);
  }

  /** Does the code at `loc` start with ENDBR64 (or its poison)? Unknown memory: no. */
  startsWithEndbr(loc: CodeLocation): boolean {
    const head = this.read(loc, ENDBR64_LEN);
    if (!head) return false;
    const eq = (p: number[]) => p.every((b, i) => head[i] === b);
    return eq(ENDBR64) || eq(ENDBR64_POISON);
  }
}

/** `jmp rel32` from `from` (the address of the jmp) to `to`. */
export function jmpRel32(from: bigint, to: bigint): Uint8Array {
  const rel = BigInt.asIntN(32, to - (from + BigInt(PATCH_INSN_SIZE)));
  const out = new Uint8Array(PATCH_INSN_SIZE);
  out[0] = 0xe9;
  new DataView(out.buffer).setInt32(1, Number(rel), true);
  return out;
}

/** NOP fill (the mock writes one-byte NOPs; Xen writes its ideal multi-byte NOPs). */
export function nops(len: number): Uint8Array {
  return new Uint8Array(Math.max(0, len)).fill(0x90);
}
