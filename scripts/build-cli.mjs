#!/usr/bin/env node
// `npm run build:ts` (after tsc): the `xlp` command as one ES module, dist/xlp/xlp.js, that
// bin/xlp.js loads. Node then opens and resolves one file instead of ~100 modules of dist/ and
// commander's CommonJS (which it would otherwise scan for its exports on every start);
// `npm run bench:cli` measures the difference. Build time only: nothing at run time needs esbuild.
//
// The runtime dependencies it takes in (commander, picocolors) keep their licences: their texts
// are written beside it, dist/xlp/THIRD-PARTY-LICENSES.txt, and the bundle's first line says so.
//
// What stays outside: the addon (.node, found by node-gyp-build from the package root), and the
// library entries of dist/ that other programs import. The bundle sits two levels below the
// package root, as dist/cli/*.js does, so the paths it computes from import.meta.url
// (package.json, bin/xlp.js, the addon) are the same as theirs.
import { build } from 'esbuild';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = await build({
  absWorkingDir: root,
  entryPoints: { xlp: 'lib/cli/entry.ts' },
  outdir: 'dist/xlp',
  bundle: true,
  // One file: every chunk of a split build is one more open + resolve + compile at start-up.
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // commander is CommonJS: the bundle's own require() for the builtins it asks for.
  banner: {
    js: [
      '// xen-livepatch `xlp`, bundled by scripts/build-cli.mjs; the licences of the packages it includes: THIRD-PARTY-LICENSES.txt',
      "import { createRequire as __xlpCreateRequire } from 'node:module'; const require = __xlpCreateRequire(import.meta.url);",
    ].join('\n'),
  },
  // node-gyp-build is required at run time (by a local `require` of createRequire), never bundled.
  external: ['node-gyp-build'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

const packages = [
  ...new Set(Object.keys(result.metafile.inputs).flatMap((p) => p.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ?? [])),
].sort();
const notices = packages.map((name) => {
  const dir = join(root, 'node_modules', name);
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`build-cli: ${name} is bundled into xlp but has no licence file to ship with it`);
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return `${name}@${version} (${license})\n\n${readFileSync(join(dir, file), 'utf8').trim()}\n`;
});
writeFileSync(
  join(root, 'dist', 'xlp', 'THIRD-PARTY-LICENSES.txt'),
  `Packages bundled into xlp.js:\n\n${notices.join(`\n${'-'.repeat(72)}\n\n`)}`,
);
