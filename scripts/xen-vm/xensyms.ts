// The hypervisor's symbol table as dom0 sees it in /proc/xen/xensyms (nm format:
// "%016lx %c %s", local symbols as "file.c#name"), cached on the host by the image's sha256.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, exists, log } from './common.js';
import { runInXen } from './boot.js';
import { fetchPackages, type Fetched } from './fetch.js';
import { xenImage, type XenImage } from './image.js';
import { GUEST_HARNESS_DIR } from './initramfs.js';
import { XEN_TARGETS, type XenTargetId } from './targets.js';

export interface XenSymbol {
  addr: bigint;
  type: string;
  name: string;
}

export function xensymsPath(image: XenImage = xenImage()): string {
  return join(cacheDir('xensyms'), `xensyms-${image.sha256.slice(0, 16)}.txt`);
}

export function parseXensyms(text: string): XenSymbol[] {
  const out: XenSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{16}) (\S) (.+)$/.exec(line);
    if (m) out.push({ addr: BigInt(`0x${m[1]}`), type: m[2]!, name: m[3]! });
  }
  return out;
}

/** Stores a xensyms dump received from the guest (the first one wins; later ones must match). */
export function storeXensyms(data: Buffer, image: XenImage = xenImage()): { path: string; matchedCache: boolean | null } {
  const path = xensymsPath(image);
  if (exists(path)) return { path, matchedCache: readFileSync(path).equals(data) };
  writeFileSync(path, data);
  return { path, matchedCache: null };
}

/** The cached symbol table, booting once (the target `fetched` names) to read it from dom0 when it is not cached yet. */
export async function ensureXensyms(image: XenImage = xenImage(), fetched?: Fetched): Promise<XenSymbol[]> {
  const path = xensymsPath(image);
  if (!exists(path)) {
    const f = fetched ?? fetchPackages(XEN_TARGETS[image.target as XenTargetId]);
    if (f.target.id !== image.target) throw new Error(`ensureXensyms: an image of Xen ${image.target} with the packages of ${f.target.id}`);
    log('xensyms not cached for this image: booting once to read /proc/xen/xensyms');
    const r = await runInXen({ fetched: f, command: ['node', `${GUEST_HARNESS_DIR}/send-file.mjs`, 'xensyms', '/proc/xen/xensyms'] });
    const blob = r.blobs.get('xensyms');
    if (!r.ok || !blob) throw new Error(`could not read xensyms from dom0: ${r.failures.join('; ')}`);
    storeXensyms(blob.data, image);
  }
  return parseXensyms(readFileSync(path, 'utf8'));
}

export function symbol(syms: XenSymbol[], name: string): XenSymbol {
  const s = syms.find((x) => x.name === name);
  if (!s) throw new Error(`symbol ${name} not in xensyms`);
  return s;
}

/** Distance from a symbol to the next higher address in the table (an upper bound of its size). */
export function gapToNext(syms: XenSymbol[], name: string): number {
  const s = symbol(syms, name);
  let next: bigint | undefined;
  for (const x of syms) if (x.addr > s.addr && (next === undefined || x.addr < next)) next = x.addr;
  if (next === undefined) throw new Error(`no symbol after ${name}`);
  return Number(next - s.addr);
}
