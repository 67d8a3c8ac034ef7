#!/usr/bin/env node
// `npm run build:ts` (after tsc): the `xlp` command as one CommonJS file, dist/xlp/xlp.cjs, that
// bin/xlp.js runs (through bin/bundle.js), and the V8 code cache for it, dist/xlp/xlp.cjs.cache.
// Node then opens one file instead of ~100 modules of dist/ and commander's, and V8 reuses the
// code it compiled at build time instead of compiling the bundle again on every start;
// `npm run bench:cli` measures both. Build time only: nothing at run time needs esbuild.
//
// The runtime dependency it takes in (commander) keeps its licence: the text is written beside it,
// dist/xlp/THIRD-PARTY-LICENSES.txt, and the bundle's second line says so.
//
// What stays outside: the addon (.node, found by node-gyp-build from the package root), and the
// library entries of dist/ that other programs import (the native backend's among them, imported
// at run time). The bundle sits two levels below the package root, as dist/cli/*.js does, so the
// paths it computes from import.meta.url (package.json, the addon) are the same as theirs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'xlp');
// A cache or bundle of an earlier build must never be taken for this one's, even if this build
// fails half-way: remove them first (and the ES module bundle of earlier versions).
for (const f of ['xlp.cjs', 'xlp.cjs.cache', 'xlp.cjs.map', 'xlp.js', 'xlp.js.map']) rmSync(join(out, f), { force: true });

// commander loads child_process at start for one thing xlp never does (running a subcommand as
// its own executable): it gets a stand-in that loads the real module only when spawn is called.
// Checked against commander's source, so an upgrade that uses more of child_process stops the build.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(a.importer) ? { path: a.importer, namespace: 'commander-child-process' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'commander-child-process' }, (a) => {
      const used = new Set([...readFileSync(a.path, 'utf8').matchAll(/childProcess\.(\w+)/g)].map((m) => m[1]));
      if ([...used].some((name) => name !== 'spawn'))
        throw new Error(`commander uses child_process.${[...used].join(', ')}: only spawn is deferred`);
      return { contents: "module.exports = { spawn: (...a) => require('node:child_process').spawn(...a) };", loader: 'js' };
    });
  },
};

// bin/bundle.js pairs the bundle and its cache by this token (see there).
const token = randomBytes(16).toString('hex');
const result = await build({
  absWorkingDir: root,
  entryPoints: { xlp: 'lib/cli/entry.ts' },
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  // One file: every chunk of a split build is one more open + resolve + compile at start-up.
  splitting: false,
  // CommonJS, run by bin/bundle.js through vm.Script: the form V8's code cache can be given back to.
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  // The ES module sources compute paths from import.meta.url: here, the bundle's own file.
  define: { 'import.meta.url': '__xlpModuleUrl' },
  banner: {
    js: [
      `// xlp-build ${token}`,
      '// xen-livepatch `xlp`, bundled by scripts/build-cli.mjs; the licences of the packages it includes: THIRD-PARTY-LICENSES.txt',
      "const __xlpModuleUrl = require('node:url').pathToFileURL(__filename).href;",
    ].join('\n'),
  },
  // node-gyp-build is required at run time, never bundled.
  external: ['node-gyp-build'],
  // Non-ASCII characters in strings are written as escapes, so the file reads as Latin-1 (bin/bundle.js).
  charset: 'ascii',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  plugins: [lazyChildProcess],
});

const bundle = join(out, 'xlp.cjs');
const bytes = readFileSync(bundle);
const wide = bytes.findIndex((b) => b > 0x7f);
if (wide !== -1) {
  const line = bytes.subarray(0, wide).toString('latin1').split('\n').length;
  throw new Error(
    `build-cli: dist/xlp/xlp.cjs line ${line} has a non-ASCII character (in a comment of lib/?): bin/bundle.js reads the bundle as Latin-1`,
  );
}

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
  `Packages bundled into xlp.cjs:\n\n${notices.join(`\n${'-'.repeat(72)}\n\n`)}`,
);

// The code cache: made by running the bundle over a scratch mock in a separate Node (the one that
// will run xlp, as `npm run build:ts` is run by the installing Node).
const made = spawnSync(process.execPath, [join(root, 'scripts', 'build-code-cache.cjs'), token], { cwd: root, encoding: 'utf8' });
if (made.status !== 0) throw new Error(`build-cli: making the code cache failed (exit ${made.status ?? made.signal}):\n${made.stderr}`);
