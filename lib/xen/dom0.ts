import { existsSync, readFileSync } from 'node:fs';
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

/** Linux says which hypervisor it runs on here (the xen platform code fills it in, dom0 and guests alike). */
export const HYPERVISOR_TYPE_PATH = '/sys/hypervisor/type';

/** True when Linux runs on Xen (a dom0 or a guest), whether or not privcmd is there. */
export function runsOnXen(): boolean {
  try {
    return readFileSync(HYPERVISOR_TYPE_PATH, 'utf8').trim() === 'xen' || existsSync('/proc/xen/capabilities');
  } catch {
    return existsSync('/proc/xen/capabilities');
  }
}

/** `/proc/xen/xensyms` as text (`nm` format, names kept byte for byte), or null if unreadable. */
export function readXenSymbolsText(): Promise<string | null> {
  return readFile(XENSYMS_PATH, 'latin1').catch(() => null);
}
