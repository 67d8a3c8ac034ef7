/**
 * Builds livepatch payloads from C sources with the host's gcc and ld, the way Xen's own build
 * makes them: compile, add the build-id dependency notes, `ld -r --build-id=sha1`. Used by the
 * tests (fixtures), by the demo payload generator and by the real-hypervisor run, which passes the
 * packaged hypervisor's build-id. Results are cached by a hash of every input.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Directory holding `livepatch.h`, put on every payload's include path. */
export const PAYLOAD_INCLUDE_DIR = HERE;
export const DEFAULT_CACHE_DIR = join(HERE, '..', '..', '.cache', 'payloads');

/**
 * Compiler flags Debian's Xen 4.17 accepts (measured under QEMU): freestanding, no unwind tables,
 * position-independent so data references are PC32 and calls PLT32 (Xen rejects R_X86_64_32),
 * and `endbr64` at function entries because Xen (CONFIG_XEN_IBT) calls hooks indirectly.
 */
export const PAYLOAD_CFLAGS: readonly string[] = [
  '-O2',
  '-fpic',
  '-fvisibility=hidden',
  '-ffreestanding',
  '-nostdinc',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-jump-tables',
  '-fcf-protection=branch',
  '-mno-red-zone',
  '-mno-sse',
  '-ffunction-sections',
  '-fdata-sections',
  '-Wall',
  '-Werror',
];

/** Which build-id a dependency note carries: a literal build-id (hex) or none at all. */
export type NoteSpec = string | null;

export interface PayloadSpec {
  /** File name of the result, without directory: `<name>.livepatch`. */
  readonly name: string;
  /** C source files (absolute paths). */
  readonly sources: readonly string[];
  /** Build-id for `.livepatch.xen_depends`; null leaves the section out. */
  readonly xenDepends: NoteSpec;
  /** Build-id for `.livepatch.depends`; null leaves the section out. Defaults to `xenDepends`. */
  readonly depends?: NoteSpec;
  /** Extra preprocessor definitions, e.g. `{ HOOK_RC: '-22' }`. */
  readonly defines?: Readonly<Record<string, string>>;
  /** Leave out the payload's own `.note.gnu.build-id` (a malformed payload). */
  readonly noBuildId?: boolean;
}

export interface BuiltPayload {
  readonly name: string;
  readonly path: string;
  /** The payload's own build-id (its `.note.gnu.build-id`), as lowercase hex; null without one. */
  readonly buildId: string | null;
}

export interface BuildOptions {
  readonly cacheDir?: string;
}

const HEX_BUILD_ID = /^(?:[0-9a-f]{2}){1,64}$/;

function assertBuildId(id: string, what: string): void {
  if (!HEX_BUILD_ID.test(id)) throw new Error(`${what}: not a build-id in lowercase hex: ${JSON.stringify(id)}`);
}

/** Assembler for a GNU build-id note in a section of its own, laid out as Xen's build writes it. */
export function noteAssembly(section: string, buildId: string): string {
  assertBuildId(buildId, section);
  const bytes = buildId.match(/../g)!.map((b) => `0x${b}`);
  return [
    `\t.section ${section},"a",@progbits`,
    '\t.balign 4',
    `\t.long 4, ${bytes.length}, 3`,
    '\t.asciz "GNU"',
    `\t.byte ${bytes.join(', ')}`,
    '\t.balign 4',
    // Without this marker the assembler's object asks for an executable stack.
    '\t.section .note.GNU-stack,"",@progbits',
    '',
  ].join('\n');
}

async function toolVersion(tool: string): Promise<string> {
  const { stdout } = await run(tool, ['--version']);
  return stdout.split('\n')[0] ?? tool;
}

let toolchainId: Promise<string> | undefined;
function toolchain(): Promise<string> {
  toolchainId ??= Promise.all([toolVersion('gcc'), toolVersion('ld')]).then((v) => v.join('\n'));
  return toolchainId;
}

/** Reads the payload's own build-id from its `.note.gnu.build-id` with readelf (an independent oracle). */
export async function readBuildId(path: string): Promise<string | null> {
  const { stdout } = await run('readelf', ['-n', '-W', path]);
  const m = /Build ID: ([0-9a-f]+)/.exec(stdout);
  return m?.[1] ?? null;
}

async function cacheKey(spec: PayloadSpec): Promise<string> {
  const h = createHash('sha256');
  // Bump when the build itself changes (v2: builds with unhandled relocation types are refused).
  h.update('xlp-payload-builder v2\n');
  h.update(await toolchain());
  h.update(PAYLOAD_CFLAGS.join(' '));
  h.update(await readFile(join(HERE, 'livepatch.h')));
  h.update(JSON.stringify({ ...spec, sources: spec.sources.map((s) => basename(s)) }));
  for (const src of spec.sources) h.update(await readFile(src));
  return h.digest('hex').slice(0, 24);
}

/** Builds one payload (or returns the cached build of identical inputs). */
export async function buildPayload(spec: PayloadSpec, options: BuildOptions = {}): Promise<BuiltPayload> {
  if (!/^[A-Za-z0-9_.-]+$/.test(spec.name)) throw new Error(`payload name not usable as a file name: ${spec.name}`);
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const dir = join(cacheDir, await cacheKey(spec));
  const out = join(dir, `${spec.name}.livepatch`);
  if (!existsSync(out)) {
    const work = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(work, { recursive: true });
    try {
      await compileAndLink(spec, work);
      await mkdir(dir, { recursive: true });
      await rename(join(work, 'payload.o'), out);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return { name: spec.name, path: out, buildId: await readBuildId(out) };
}

async function compileAndLink(spec: PayloadSpec, work: string): Promise<void> {
  const objects: string[] = [];
  // Symbols the header's macros define are suffixed with the payload's name unless told otherwise.
  const tag = { XLP_TAG: `_${spec.name.replace(/[^A-Za-z0-9_]/g, '_')}`, ...spec.defines };
  const defines = Object.entries(tag).map(([k, v]) => `-D${k}=${v}`);
  for (const [i, src] of spec.sources.entries()) {
    const obj = join(work, `${i}.o`);
    await run('gcc', [...PAYLOAD_CFLAGS, ...defines, '-I', PAYLOAD_INCLUDE_DIR, '-include', 'livepatch.h', '-c', src, '-o', obj]);
    objects.push(obj);
  }
  const depends = spec.depends === undefined ? spec.xenDepends : spec.depends;
  const notes = [
    spec.xenDepends === null ? '' : noteAssembly('.livepatch.xen_depends', spec.xenDepends),
    depends === null ? '' : noteAssembly('.livepatch.depends', depends),
  ].join('');
  if (notes) {
    const asm = join(work, 'notes.s');
    await writeFile(asm, notes);
    const obj = join(work, 'notes.o');
    await run('gcc', ['-c', asm, '-o', obj]);
    objects.push(obj);
  }
  const buildId = spec.noBuildId ? [] : ['--build-id=sha1'];
  const out = join(work, 'payload.o');
  await run('ld', ['-r', ...buildId, '-o', out, ...objects]);
  await refuseUnhandledRelocations(spec.name, out);
}

/** The relocation types Xen's x86 `arch_livepatch_perform_rela` handles; any other is EOPNOTSUPP. */
export const XEN_RELOCATION_TYPES: readonly string[] = ['R_X86_64_NONE', 'R_X86_64_64', 'R_X86_64_PC32', 'R_X86_64_PLT32'];

/**
 * Refuses a build the hypervisor would reject for its relocations (e.g. R_X86_64_32 from code
 * that takes a data address without -fpic): such a payload is a build mistake, not a fixture.
 * readelf is the oracle here, independent of the project's own ELF reader.
 */
async function refuseUnhandledRelocations(name: string, path: string): Promise<void> {
  const { stdout } = await run('readelf', ['-r', '-W', path], { maxBuffer: 64 * 1024 * 1024 });
  const types = new Set([...stdout.matchAll(/\b(R_X86_64_\w+)/g)].map((m) => m[1]!));
  const bad = [...types].filter((t) => !XEN_RELOCATION_TYPES.includes(t));
  if (bad.length) throw new Error(`${name}: relocation types the hypervisor rejects (Unhandled relocation, EOPNOTSUPP): ${bad.join(', ')}`);
}

/**
 * Builds payloads in order, letting each one depend on an earlier one's build-id: a `depends`
 * of `{ on: 'name' }` is replaced by that payload's own build-id once it is built.
 */
export type ChainSpec = Omit<PayloadSpec, 'depends'> & { readonly depends?: NoteSpec | { readonly on: string } };

export async function buildPayloads(specs: readonly ChainSpec[], options: BuildOptions = {}): Promise<Map<string, BuiltPayload>> {
  const built = new Map<string, BuiltPayload>();
  for (const spec of specs) {
    let depends: NoteSpec | undefined;
    if (spec.depends !== null && typeof spec.depends === 'object') {
      const base = built.get(spec.depends.on);
      if (!base?.buildId) throw new Error(`${spec.name} depends on ${spec.depends.on}, which is not built before it or has no build-id`);
      depends = base.buildId;
    } else {
      depends = spec.depends;
    }
    const { depends: _ignored, ...rest } = spec;
    built.set(spec.name, await buildPayload(depends === undefined ? rest : { ...rest, depends }, options));
  }
  return built;
}
