import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseNmSymbols, type SymbolTable } from '../xen/symbols.js';

/**
 * Where a running hypervisor shows itself to its dom0: the privcmd device libxenctrl opens, and
 * the hypervisor's symbol table that Linux exposes once xenfs is mounted on /proc/xen.
 */
export const PRIVCMD_PATH = '/dev/xen/privcmd';
export const XENSYMS_PATH = '/proc/xen/xensyms';
/** Linux says which hypervisor it runs on here (the xen platform code fills it in, dom0 and guests alike). */
export const HYPERVISOR_TYPE_PATH = '/sys/hypervisor/type';
const CAPABILITIES_PATH = '/proc/xen/capabilities';

/**
 * The one definition of a Xen host:
 * - `dom0`: privcmd exists, so libxenctrl (the native backend) can reach the hypervisor;
 * - `on-xen`: Linux runs on Xen (a guest, or a dom0 whose privcmd driver is not loaded) but the
 *   hypervisor cannot be reached from here;
 * - `not-xen`: no Xen at all.
 */
export type XenHostKind = 'dom0' | 'on-xen' | 'not-xen';

export function xenHostKind(): XenHostKind {
  if (existsSync(PRIVCMD_PATH)) return 'dom0';
  return runsOnXen() ? 'on-xen' : 'not-xen';
}

/** True when Linux runs on Xen (a dom0 or a guest), whether or not privcmd is there. */
function runsOnXen(): boolean {
  try {
    if (readFileSync(HYPERVISOR_TYPE_PATH, 'utf8').trim() === 'xen') return true;
  } catch {
    // No sysfs entry: fall back on xenfs.
  }
  return existsSync(CAPABILITIES_PATH) || existsSync(XENSYMS_PATH);
}

/** `/proc/xen/xensyms` as text (`nm` format, names kept byte for byte), or null if unreadable. */
export function readXenSymbolsText(): Promise<string | null> {
  return readFile(XENSYMS_PATH, 'latin1').catch(() => null);
}

/** The running hypervisor's symbol table (`/proc/xen/xensyms`), or undefined where it cannot be read. */
export async function readXenSymbols(): Promise<SymbolTable | undefined> {
  const text = await readXenSymbolsText();
  return text === null ? undefined : parseNmSymbols(text).symbols;
}
