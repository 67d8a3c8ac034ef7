import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Where a running hypervisor shows itself to its dom0: the privcmd device libxenctrl opens, and
 * the hypervisor's symbol table that Linux exposes once xenfs is mounted on /proc/xen.
 */
export const PRIVCMD_PATH = '/dev/xen/privcmd';
export const XENSYMS_PATH = '/proc/xen/xensyms';

/** True on a Xen dom0 (privcmd exists), where the native backend can work. */
export function isXenDom0(): boolean {
  return existsSync(PRIVCMD_PATH);
}

/** `/proc/xen/xensyms` as text (`nm` format, names kept byte for byte), or null if unreadable. */
export function readXenSymbolsText(): Promise<string | null> {
  return readFile(XENSYMS_PATH, 'latin1').catch(() => null);
}
