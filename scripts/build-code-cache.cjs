#!/usr/bin/env node
// `node scripts/build-code-cache.cjs TOKEN` (run by scripts/build-cli.mjs): compiles the bundle
// dist/xlp/xlp.cjs from source, runs the commands whose start-up matters in this process over a
// scratch mock (so V8 compiles the functions they call, not only the top level), then writes what
// V8 compiled to dist/xlp/xlp.cjs.cache with the build's token in front (bin/bundle.js).
'use strict';
const { mkdtempSync, rmSync, writeFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { BUNDLE, TOKEN_LENGTH, loadBundle, tokenOf } = require('../bin/bundle.js');

const token = process.argv[2];
const { exports: xlp, script } = loadBundle({ useCache: false });
const source = require('node:fs').readFileSync(BUNDLE, 'latin1');
if (typeof token !== 'string' || token.length !== TOKEN_LENGTH || tokenOf(source) !== token) {
  console.error(`build-code-cache: the token given (${token}) is not the bundle's (${tokenOf(source)})`);
  process.exit(2);
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'xlp-code-cache-'));
  const mock = ['--backend', 'mock', '--mock-state', join(scratch, 'mock')];
  // Its output is not wanted: the commands write to this process's descriptors, which the build
  // does not show unless this fails.
  try {
    const runs = [
      ['mock', 'init', '--mock-state', join(scratch, 'mock')],
      ['list', ...mock],
      ['list', '--json', ...mock],
      ['status', 'none', ...mock],
      ['stack', ...mock],
      ['status', ...mock],
    ];
    // `xlp check` over some ELF file (the verdict does not matter, the reader and the rules run).
    if (existsSync('/bin/true')) runs.push(['check', '/bin/true']);
    // The native backend as far as it goes without Xen: the addon, then a libxenctrl that is not there.
    process.env.XEN_LIVEPATCH_LIBXENCTRL = join(scratch, 'no-libxenctrl.so');
    runs.push(['list', '--backend', 'native', '--state-dir', join(scratch, 'state')]);
    for (const args of runs) await xlp.run(args, undefined);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(`${BUNDLE}.cache`, Buffer.concat([Buffer.from(`${token}\n`, 'latin1'), script.createCachedData()]));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
