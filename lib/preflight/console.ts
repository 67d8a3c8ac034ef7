import { hex } from '../elf/index.js';

/**
 * The hypervisor's console lines. `LIVEPATCH` is the prefix `"livepatch: "`, and nearly every
 * message continues with `"<payload name>: "`; the `(XEN) ` the console adds is left out. Only
 * `printk` lines appear here: `dprintk` is compiled out of release builds.
 */
export function lp(name: string, text: string): string {
  return `livepatch: ${name}: ${text}`;
}

/** The few messages with no colon after the name (`LIVEPATCH "%s Alternatives provided..."`). */
export function lpNoColon(name: string, text: string): string {
  return `livepatch: ${name} ${text}`;
}

/** C's `%#x`/`%#lx` as Xen's vsnprintf prints it: `0` for zero, else `0x...`. */
export function cHex(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : hex(v);
}

/** C's `%d` of a u32 field (Xen prints `sh_link` that way). */
export function cInt(v: number): string {
  return String(v | 0);
}
