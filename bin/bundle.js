// Loads the bundled CLI (dist/xlp/xlp.cjs, built by scripts/build-cli.mjs) with V8's code cache.
//
// Why not `require` or `import`: on Node 20 neither can reuse compiled code between runs (Node 22's
// module.enableCompileCache is not there), and compiling the ~700 KB bundle is the largest single
// cost of an `xlp` start (`npm run bench:cli`). The build runs the bundle once over a scratch mock,
// then stores what V8 compiled beside it (xlp.cjs.cache). Here that cache is handed back to V8,
// which checks it against its own version and flags and against the source's length, and
// compiles from source instead when it does not match (another Node, other flags): the cache only
// ever saves time. The cache is written at build time only, into the package's own directory,
// never by xlp at run time.
//
// A cache belongs to the bundle it was made from: both carry the build's token (the bundle on
// its first line, the cache in its header), so a cache left from another build is never used.
'use strict';
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'xlp', 'xlp.cjs');
const TOKEN_PREFIX = '// xlp-build ';
const TOKEN_LENGTH = 32; // hex digits
const HEADER_LENGTH = TOKEN_LENGTH + 1; // the token and a newline

/** The build token on the bundle's first line, or undefined for a file that has none. */
function tokenOf(source) {
  if (!source.startsWith(TOKEN_PREFIX)) return undefined;
  const token = source.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + TOKEN_LENGTH);
  return /^[0-9a-f]+$/.test(token) && token.length === TOKEN_LENGTH ? token : undefined;
}

/** The cached code for this source, or undefined (none, unreadable, or another build's). */
function cachedDataFor(file, source) {
  const token = tokenOf(source);
  if (token === undefined) return undefined;
  let data;
  try {
    data = readFileSync(`${file}.cache`);
  } catch {
    return undefined;
  }
  if (data.length <= HEADER_LENGTH || data.latin1Slice(0, TOKEN_LENGTH) !== token || data[TOKEN_LENGTH] !== 0x0a) return undefined;
  return data.subarray(HEADER_LENGTH);
}

/**
 * Compiles and runs the bundle as a CommonJS module. `useCache: false` compiles from source (the
 * build does, to make the cache). Returns its exports, the compiled script (for
 * `createCachedData`) and whether a cache was given and taken.
 */
function loadBundle({ file = BUNDLE, useCache = true } = {}) {
  // The bundle is ASCII (the build checks): read as Latin-1, it becomes V8's one-byte string
  // without a UTF-8 decode.
  const source = readFileSync(file, 'latin1');
  const cachedData = useCache ? cachedDataFor(file, source) : undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    // The one dynamic import the bundle keeps (a Node built-in loaded on first use) goes to Node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

module.exports = { BUNDLE, HEADER_LENGTH, TOKEN_PREFIX, TOKEN_LENGTH, loadBundle, tokenOf };
