// The guest suite is TypeScript type-checked against the repository's sources (lib/), but in dom0 it
// must run against the *installed package*. Each guest module is transpiled on its own (types
// erased, nothing bundled) and its imports are rewritten:
//   lib/index.js, lib/{mock,native,parity}/index.js -> the package's public entry points
//                                          (xen-livepatch, xen-livepatch/mock, /native, /parity)
//   any other lib/... module               -> that module of the installed package's dist/ (no public entry)
//   ../../guest/guest.mjs                  -> the harness's serial protocol in the initramfs
//   ./x.js                                 -> ./x.mjs (another guest module)
// Anything else (a dev dependency, a script) is refused: dom0 only has the package and node.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';
import { HARNESS_DIR, REPO_ROOT } from '../common.js';
import { GUEST_HARNESS_DIR, GUEST_STAGE_DIR } from '../initramfs.js';

export const GUEST_SRC = join(HARNESS_DIR, 'suite', 'guest');

/** Where the installed package lives in dom0. */
export const GUEST_PACKAGE_DIR = `${GUEST_STAGE_DIR}/node_modules/xen-livepatch`;

const PUBLIC_ENTRIES: Record<string, string> = {
  'lib/index.js': 'xen-livepatch',
  'lib/mock/index.js': 'xen-livepatch/mock',
  'lib/native/index.js': 'xen-livepatch/native',
  'lib/parity/index.js': 'xen-livepatch/parity',
};

function rewrite(spec: string, fromFile: string): string {
  if (spec.startsWith('node:')) return spec;
  if (!spec.startsWith('.')) throw new Error(`${relative(REPO_ROOT, fromFile)}: guest code cannot import ${spec} (dom0 has only node and the installed package)`);
  const abs = resolve(dirname(fromFile), spec);
  const rel = relative(REPO_ROOT, abs).split('\\').join('/');
  if (rel === 'scripts/xen-vm/guest/guest.mjs') return `${GUEST_HARNESS_DIR}/guest.mjs`;
  if (rel.startsWith('scripts/xen-vm/suite/guest/')) return `./${posix.basename(rel).replace(/\.js$/, '.mjs')}`;
  if (rel.startsWith('lib/')) return PUBLIC_ENTRIES[rel] ?? `${GUEST_PACKAGE_DIR}/dist/${rel.slice(4)}`;
  throw new Error(`${relative(REPO_ROOT, fromFile)}: guest code cannot import ${rel}`);
}

/** Transpiles every guest module into `outDir` as .mjs; returns the written files. */
export function transpileGuest(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const name of readdirSync(GUEST_SRC).sort()) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
    const file = join(GUEST_SRC, name);
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true, sourceMap: false },
    });
    const js = out.outputText
      .replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g, (_m, pre: string, q: string, spec: string) => `${pre}${q}${rewrite(spec, file)}${q}`);
    const dest = join(outDir, name.replace(/\.ts$/, '.mjs'));
    writeFileSync(dest, js);
    written.push(dest);
  }
  return written;
}
