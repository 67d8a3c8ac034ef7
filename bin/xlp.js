#!/usr/bin/env node
// CommonJS (bin/package.json says so): no ES module loader is set up unless a command needs one.

// `xlp --version` answers before the command line parser is even loaded: scripts call it to probe.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync, writeSync } = require('node:fs');
  const { join } = require('node:path');
  const line = `${JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version}\n`;
  try {
    writeSync(1, line);
  } catch (error) {
    if (error.code === 'EAGAIN') process.stdout.write(line);
    else if (error.code !== 'EPIPE') throw error; // a reader that went away is not an error of ours
  }
} else {
  // The bundled CLI (scripts/build-cli.mjs), compiled with the code cache made at build time (bundle.js).
  // Output goes straight to the descriptors (lib/cli/std-stream.ts), which also stop quietly
  // when the reader goes away (`xlp list | head`).
  const { run, rawArguments } = require('./bundle.js').loadBundle().exports;
  run(args, rawArguments(args.length)).then((code) => {
    process.exitCode = code;
  });
}
