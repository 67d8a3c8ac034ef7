#!/usr/bin/env node
// CommonJS (bin/package.json says so): `xlp --version` then answers without Node setting up its
// ES module loader, which costs more than the answer (`npm run bench:cli`). Every other command
// imports the bundled CLI, an ES module.

// A reader that goes away (`xlp list | head`) is not an error of ours. stdout carries only the
// result, written last: stop quietly, as other tools do. stderr carries progress while a workflow
// runs: stop writing it, but let the workflow finish (and release its lock and journal).
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.stderr.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

// `xlp --version` answers before the command line parser is even loaded: scripts call it to probe.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = require('node:fs');
  const { join } = require('node:path');
  process.stdout.write(`${JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
} else {
  // The bundled CLI (scripts/build-cli.mjs): one file to open, where dist/cli/ has ~100 modules.
  import('../dist/xlp/xlp.js').then(async ({ run, rawArguments }) => {
    process.exitCode = await run(args, rawArguments(args.length));
  });
}
