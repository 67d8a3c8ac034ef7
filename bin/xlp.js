#!/usr/bin/env node
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
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { run } = await import('../dist/cli/main.js');
  const { rawArguments } = await import('../dist/cli/argv.js');
  process.exitCode = await run(args, rawArguments(args.length));
}
