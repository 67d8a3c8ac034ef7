// Step 2: facts read from the packaged hypervisor image itself (never hard-coded):
// the decompressed multiboot ELF, its GNU build-id, and a virtual-address -> file-offset map so
// that bytes of a symbol listed in /proc/xen/xensyms can be read from the image on the host.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cacheDir, exists, sha256 } from './common.js';
import { fetchPackage, fetchPackages, pkgRoot, type Fetched } from './fetch.js';
import type { XenTarget } from './targets.js';

/** x86-64 XEN_VIRT_START (4.17 and 4.20 alike): the image's physical load address is an offset from it. */
export const XEN_VIRT_START = 0xffff82d040000000n;

export interface XenImage {
  /** Decompressed `xen` (ELF32 multiboot), what QEMU's -kernel takes. */
  path: string;
  /** sha256 of the decompressed image; keys caches derived from the running hypervisor. */
  sha256: string;
  /** Hypervisor build-id, lowercase hex (40 digits for sha1). */
  buildId: string;
  /** Package version it came from. */
  version: string;
  /** The harness target (Xen branch) it belongs to. */
  target: string;
  /** The LOAD segment: file offset and load (physical) address. */
  load: { offset: number; paddr: number; filesz: number };
}

interface Phdr {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
}

function phdrs(img: Buffer): Phdr[] {
  if (img.readUInt32BE(0) !== 0x7f454c46) throw new Error('xen image is not ELF');
  const cls = img[4];
  const out: Phdr[] = [];
  if (cls === 1) {
    const phoff = img.readUInt32LE(28);
    const phentsize = img.readUInt16LE(42);
    const phnum = img.readUInt16LE(44);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      out.push({
        type: img.readUInt32LE(o),
        offset: img.readUInt32LE(o + 4),
        vaddr: img.readUInt32LE(o + 8),
        paddr: img.readUInt32LE(o + 12),
        filesz: img.readUInt32LE(o + 16),
      });
    }
  } else if (cls === 2) {
    const phoff = Number(img.readBigUInt64LE(32));
    const phentsize = img.readUInt16LE(54);
    const phnum = img.readUInt16LE(56);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      out.push({
        type: img.readUInt32LE(o),
        offset: Number(img.readBigUInt64LE(o + 8)),
        vaddr: Number(img.readBigUInt64LE(o + 16)),
        paddr: Number(img.readBigUInt64LE(o + 24)),
        filesz: Number(img.readBigUInt64LE(o + 32)),
      });
    }
  } else throw new Error('unknown ELF class');
  return out;
}

/** GNU build-id from the PT_NOTE segments of an ELF image. */
export function readBuildId(img: Buffer): string {
  for (const p of phdrs(img)) {
    if (p.type !== 4) continue;
    let o = p.offset;
    const end = p.offset + p.filesz;
    while (o + 12 <= end) {
      const namesz = img.readUInt32LE(o);
      const descsz = img.readUInt32LE(o + 4);
      const type = img.readUInt32LE(o + 8);
      const name = img.subarray(o + 12, o + 12 + namesz);
      const descOff = o + 12 + ((namesz + 3) & ~3);
      if (type === 3 && name.toString('latin1') === 'GNU\0') {
        return img.subarray(descOff, descOff + descsz).toString('hex');
      }
      o = descOff + ((descsz + 3) & ~3);
    }
  }
  throw new Error('no NT_GNU_BUILD_ID note in the xen image');
}

const memo = new Map<string, XenImage>();

/** The decompressed image of a `.gz` (cached by the .gz's hash). */
function decompressed(gz: string): { path: string; img: Buffer } {
  const gzData = readFileSync(gz);
  const dir = cacheDir('image');
  const path = join(dir, `xen-${sha256(gzData).slice(0, 16)}`);
  if (exists(path)) return { path, img: readFileSync(path) };
  const img = gunzipSync(gzData);
  writeFileSync(`${path}.tmp`, img);
  renameSync(`${path}.tmp`, path);
  return { path, img };
}

/** Decompresses the target's boot/xen-4.N-amd64.gz from the fetched package. */
export function xenImage(fetched?: Fetched): XenImage {
  const f = fetched ?? fetchPackages();
  const hit = memo.get(f.target.id);
  if (hit) return hit;
  const { path, img } = decompressed(join(pkgRoot(f, f.target.hypervisorPackage), f.target.hypervisorImage));
  const load = phdrs(img).find((p) => p.type === 1);
  if (!load) throw new Error('xen image has no PT_LOAD');
  const image: XenImage = {
    path,
    sha256: sha256(img),
    buildId: readBuildId(img),
    version: f.packages[f.target.hypervisorPackage]!.version,
    target: f.target.id,
    load: { offset: load.offset, paddr: load.paddr, filesz: load.filesz },
  };
  memo.set(f.target.id, image);
  return image;
}

/**
 * The build-id of another target's hypervisor, from its package alone (not the rest of that
 * target's packages): what a payload built for that Xen carries in `.livepatch.xen_depends`.
 */
export function hypervisorBuildId(target: XenTarget): { version: string; buildId: string } {
  const pkg = fetchPackage(target, target.hypervisorPackage);
  return { version: pkg.version, buildId: readBuildId(decompressed(join(pkg.root, target.hypervisorImage)).img) };
}

/** File offset in the decompressed image of a hypervisor virtual address (as in xensyms). */
export function virtToFileOffset(image: XenImage, vaddr: bigint): number {
  const rel = vaddr - XEN_VIRT_START - BigInt(image.load.paddr);
  if (rel < 0n || rel >= BigInt(image.load.filesz)) {
    throw new Error(`address 0x${vaddr.toString(16)} is outside the image's loaded bytes`);
  }
  return image.load.offset + Number(rel);
}

/** Reads `len` bytes of the image at a hypervisor virtual address. */
export function readImageBytes(image: XenImage, vaddr: bigint, len: number): Buffer {
  const off = virtToFileOffset(image, vaddr);
  const img = readFileSync(image.path);
  return Buffer.from(img.subarray(off, off + len));
}
