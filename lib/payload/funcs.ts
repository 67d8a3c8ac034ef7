import type { ElfFile } from '../elf/index.js';
import type { AddressRef } from './addresses.js';
import type { FuncExpectation, LivepatchFunc } from './model.js';
import { type RelocatedSection, stringAt } from './relocated-fields.js';

/** `struct livepatch_func` sizes on x86-64: payload version 1 (Xen 4.13) and 2 (4.14+). */
export const FUNC_SIZE_V1 = 72;
export const FUNC_SIZE_V2 = 104;

/** Field offsets within `struct livepatch_func`, for diagnostics and the test byte-patcher. */
export const FUNC_FIELDS = {
  name: { offset: 0, size: 8 },
  new_addr: { offset: 8, size: 8 },
  old_addr: { offset: 16, size: 8 },
  new_size: { offset: 24, size: 4 },
  old_size: { offset: 28, size: 4 },
  version: { offset: 32, size: 1 },
  expect: { offset: 72, size: 1 },
  expect_data: { offset: 73, size: 31 },
} as const;
export type FuncField = keyof typeof FUNC_FIELDS;

/**
 * The entry size the payload was built with. The `version` byte sits at offset 32 in both layouts,
 * so the first entry tells them apart; a size that fits neither is decoded as version 2.
 */
export function funcEntrySize(funcs: RelocatedSection): 72 | 104 {
  const size = funcs.size;
  if (size >= 33 && funcs.u8(32) === 1 && size % FUNC_SIZE_V1 === 0) return FUNC_SIZE_V1;
  if (size % FUNC_SIZE_V2 === 0) return FUNC_SIZE_V2;
  if (size % FUNC_SIZE_V1 === 0) return FUNC_SIZE_V1;
  return FUNC_SIZE_V2;
}

/** A pointer field as the model's `(symbol, offset)` pair: address = address(symbol) + value. */
export function symbolAndValue(ref: AddressRef): { symbol: string | null; value: bigint } {
  switch (ref.kind) {
    case 'null':
      return { symbol: null, value: 0n };
    case 'absolute':
      return { symbol: null, value: ref.value };
    case 'payload':
      return { symbol: ref.symbol ?? ref.sectionName, value: ref.symbolOffset };
    case 'external':
      return { symbol: ref.symbol, value: ref.addend };
    case 'unresolved':
      return { symbol: null, value: 0n };
  }
}

/** Decodes every whole entry of `.livepatch.funcs` (a trailing partial entry is left out). */
export function decodeFuncs(elf: ElfFile, funcs: RelocatedSection, entrySize: 72 | 104): LivepatchFunc[] {
  const out: LivepatchFunc[] = [];
  const count = Math.floor(funcs.size / entrySize);
  for (let index = 0; index < count; index++) {
    const at = index * entrySize;
    const nameTarget = funcs.pointer(at);
    const newTarget = funcs.pointer(at + 8);
    const oldTarget = funcs.pointer(at + 16);
    const n = symbolAndValue(newTarget);
    const o = symbolAndValue(oldTarget);
    out.push({
      index,
      offset: at,
      name: stringAt(elf, nameTarget),
      newSymbol: n.symbol,
      newAddr: n.value,
      oldSymbol: o.symbol,
      oldAddr: o.value,
      newSize: funcs.u32(at + 24),
      oldSize: funcs.u32(at + 28),
      version: funcs.u8(at + 32),
      isNop: newTarget.kind === 'null',
      expect: entrySize === FUNC_SIZE_V2 ? decodeExpectation(funcs, at) : null,
      nameTarget,
      newTarget,
      oldTarget,
    });
  }
  return out;
}

function decodeExpectation(funcs: RelocatedSection, at: number): FuncExpectation {
  const bits = funcs.u8(at + 72);
  // GCC allocates little-endian bitfields from bit 0: enabled:1, len:5, rsv:2.
  return {
    enabled: (bits & 1) === 1,
    len: (bits >> 1) & 0x1f,
    rsv: bits >> 6,
    data: Uint8Array.from(funcs.bytes.subarray(at + 73, at + 104)),
  };
}
