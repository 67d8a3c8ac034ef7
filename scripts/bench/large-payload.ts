/**
 * A large synthetic payload for the preflight benchmark: generated assembler with `functions`
 * small functions (each a PC32 reference to a string and a PLT32 call to `printk`), a table of
 * pointers to some of them (R_X86_64_64), one `.livepatch.funcs` entry and the dependency notes,
 * assembled and linked the way the payload builder links (`ld -r --build-id=sha1`). About 10 MB,
 * 100k symbols and 200k relocations for the default size; over Xen's 2 MiB limit on purpose (the bench measures
 * the parser, and `xlp check` reports the size). Cached by parameters under .cache/bench.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { noteAssembly } from '../payloads/builder.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_CACHE = join(ROOT, '.cache', 'bench');
const GENERATOR_VERSION = 2;

export interface LargePayloadOptions {
  readonly functions?: number;
  readonly strings?: number;
  readonly xenBuildId?: string;
}

function assembly(functions: number, strings: number): string {
  const out: string[] = ['\t.section .note.GNU-stack,"",@progbits', '\t.section .text.bench,"ax",@progbits'];
  for (let i = 0; i < functions; i++) {
    out.push(
      `\t.globl bench_fn_${i}`,
      `\t.type bench_fn_${i}, @function`,
      `bench_fn_${i}:`,
      '\tendbr64',
      `\tleaq bench_str_${i % strings}(%rip), %rdi`,
      '\tjmp printk@PLT',
      `\t.size bench_fn_${i}, .-bench_fn_${i}`,
    );
  }
  out.push('\t.section .rodata.bench,"a",@progbits');
  for (let j = 0; j < strings; j++) out.push(`bench_str_${j}:`, `\t.asciz "bench string ${j}"`);
  // A table of pointers to every hundredth function (R_X86_64_64 relocations).
  out.push('\t.section .data.rel.ro.bench,"aw",@progbits', '\t.balign 8', 'bench_table:');
  for (let i = 0; i < functions; i += 100) out.push(`\t.quad bench_fn_${i}`);
  // One function patch, so the payload has something to patch.
  out.push(
    '\t.section .rodata.bench_name,"a",@progbits',
    'bench_name:',
    '\t.asciz "xen_extra_version"',
    '\t.section .livepatch.funcs,"aw",@progbits',
    '\t.balign 8',
    '\t.quad bench_name',
    '\t.quad bench_fn_0',
    '\t.quad xen_extra_version',
    '\t.long 16, 16',
    '\t.byte 2',
    '\t.zero 71',
  );
  return `${out.join('\n')}\n`;
}

/** Builds (or finds in the cache) the large payload and returns its path. */
export async function buildLargePayload(options: LargePayloadOptions = {}): Promise<string> {
  const functions = options.functions ?? 100_000;
  const strings = options.strings ?? 2_000;
  const xen = options.xenBuildId ?? 'c0ffee0000000000000000000000000000001700';
  const out = join(BENCH_CACHE, `large-v${GENERATOR_VERSION}-${functions}-${strings}-${xen.slice(0, 8)}.livepatch`);
  if (existsSync(out)) return out;
  const work = join(BENCH_CACHE, `tmp-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    await writeFile(join(work, 'bench.s'), assembly(functions, strings));
    await writeFile(join(work, 'notes.s'), noteAssembly('.livepatch.xen_depends', xen) + noteAssembly('.livepatch.depends', xen));
    await run('as', ['--64', '-o', join(work, 'bench.o'), join(work, 'bench.s')], { maxBuffer: 64 * 1024 * 1024 });
    await run('as', ['--64', '-o', join(work, 'notes.o'), join(work, 'notes.s')]);
    await run('ld', ['-r', '--build-id=sha1', '-o', join(work, 'payload.o'), join(work, 'bench.o'), join(work, 'notes.o')]);
    await rename(join(work, 'payload.o'), out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}
