// Host-side payload builder: gcc + ld -r with the flags this hypervisor accepts, plus the
// .livepatch.depends / .livepatch.xen_depends GNU build-id notes made from a build-id.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureDir, run } from './common.js';

/** Compiler flags (xen-in-qemu.md): position-independent, hidden visibility, IBT landing pads. */
export const PAYLOAD_CFLAGS = [
  '-O2', '-fpic', '-fvisibility=hidden', '-ffreestanding', '-nostdinc', '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables', '-fcf-protection=branch', '-mno-red-zone', '-fno-common',
  '-fno-jump-tables', '-ffunction-sections', '-fdata-sections',
];

export interface BuildPayloadOptions {
  /** Payload name; the output is `<outDir>/<name>.livepatch`. */
  name: string;
  /** C sources. */
  sources: string[];
  outDir: string;
  /** Hypervisor build-id (hex): goes into .livepatch.xen_depends. */
  xenBuildId: string;
  /** Build-id the payload depends on (hex, default: the hypervisor's); null omits the note. */
  dependsOn?: string | null;
  /** false omits .livepatch.xen_depends (a payload the hypervisor must refuse at upload). */
  xenDepends?: boolean;
  /** -D definitions. */
  defines?: Record<string, string>;
  includeDirs?: string[];
}

export interface BuiltPayload {
  name: string;
  path: string;
  /** The payload's own build-id (.note.gnu.build-id). */
  buildId: string;
  dependsOn: string | null;
}

/** Assembler source for a GNU build-id note in `section` (namesz 4, descsz 20, type 3, "GNU\0"). */
export function buildIdNoteAsm(section: string, buildIdHex: string): string {
  if (!/^([0-9a-f]{2})+$/i.test(buildIdHex)) throw new Error(`bad build-id ${buildIdHex}`);
  const bytes = buildIdHex.match(/../g)!.map((b) => `0x${b}`);
  return [
    `\t.section ${section},"a",@note`,
    '\t.balign 4',
    `\t.long 4, ${bytes.length}, 3`,
    '\t.asciz "GNU"',
    `\t.byte ${bytes.join(', ')}`,
    '\t.balign 4',
    '',
  ].join('\n');
}

/** The build-id note of an ELF file, hex. */
export function elfBuildId(path: string): string {
  const out = run('readelf', ['-n', '-W', path]).stdout;
  const m = /Build ID:\s*([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`${basename(path)} has no build-id note`);
  return m[1]!;
}

export function buildPayload(o: BuildPayloadOptions): BuiltPayload {
  const work = ensureDir(join(o.outDir, '.build', o.name));
  const dependsOn = o.dependsOn === undefined ? o.xenBuildId : o.dependsOn;
  const notes = join(work, 'notes.S');
  writeFileSync(
    notes,
    (dependsOn === null ? '' : buildIdNoteAsm('.livepatch.depends', dependsOn)) +
      (o.xenDepends === false ? '' : buildIdNoteAsm('.livepatch.xen_depends', o.xenBuildId)),
  );
  const defs = Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const incs = (o.includeDirs ?? []).map((d) => `-I${d}`);
  const objs: string[] = [];
  for (const [i, src] of o.sources.entries()) {
    const obj = join(work, `${i}-${basename(src)}.o`);
    run('gcc', [...PAYLOAD_CFLAGS, ...incs, ...defs, '-c', src, '-o', obj]);
    objs.push(obj);
  }
  const notesObj = join(work, 'notes.o');
  run('gcc', ['-c', notes, '-o', notesObj]);
  const path = join(o.outDir, `${o.name}.livepatch`);
  run('ld', ['-r', '--build-id=sha1', '-o', path, ...objs, notesObj]);
  // Sanity: no relocation type the hypervisor rejects (it takes NONE, 64, PC32, PLT32).
  const relocs = run('readelf', ['-r', '-W', path]).stdout;
  const bad = [...relocs.matchAll(/\bR_X86_64_(\w+)/g)].map((m) => m[1]!).filter((t) => !['NONE', '64', 'PC32', 'PLT32'].includes(t));
  if (bad.length) throw new Error(`${o.name}: relocations the hypervisor rejects: ${[...new Set(bad)].join(', ')}`);
  return { name: o.name, path, buildId: elfBuildId(path), dependsOn };
}

/** Reads a payload file (for staging). */
export function payloadBytes(p: BuiltPayload): Buffer {
  return readFileSync(p.path);
}
