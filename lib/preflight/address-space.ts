/**
 * Where things live in the x86-64 hypervisor's address space (xen/arch/x86/include/asm/config.h),
 * for the checks whose outcome depends on run-time addresses: Xen's text and data, and the vmap
 * area payloads are loaded into, are all inside the 1 GiB from XEN_VIRT_START. Two addresses in
 * that window are always within 32-bit reach of each other; an absolute address outside it may
 * not be.
 */
export const XEN_VIRT_START = 0xffff_82d0_4000_0000n;
export const XEN_VIRT_END = XEN_VIRT_START + (1n << 30n);
export const PAGE_SIZE = 4096n;
/** ARCH_LIVEPATCH_RANGE on x86: `livepatch_verify_distance` refuses |old - new| >= 2 GiB. */
export const LIVEPATCH_RANGE = 1n << 31n;

/** An address known exactly, or only to lie in [lo, hi]. */
export interface AddressRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

export const XEN_WINDOW: AddressRange = { lo: XEN_VIRT_START, hi: XEN_VIRT_END - 1n };
export const exactly = (a: bigint): AddressRange => ({ lo: a, hi: a });

/** `a - b` as a signed 64-bit difference of two unsigned addresses, as a range. */
export function difference(a: AddressRange, b: AddressRange): AddressRange {
  return { lo: signed64(a.lo - b.hi), hi: signed64(a.hi - b.lo) };
}

function signed64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** Whether every value of `r` lies in [lo, hi), none does, or it depends. */
export function within(r: AddressRange, lo: bigint, hi: bigint): 'always' | 'never' | 'maybe' {
  // A range crossing the signed wrap point is treated as unknown.
  if (r.lo > r.hi) return 'maybe';
  if (r.lo >= lo && r.hi < hi) return 'always';
  if (r.hi < lo || r.lo >= hi) return 'never';
  return 'maybe';
}
