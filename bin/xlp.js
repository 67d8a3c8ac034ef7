#!/usr/bin/env node
// `xlp --version` answers before the command line parser is even loaded: scripts call it to probe.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { run } = await import('../dist/cli/main.js');
  process.exitCode = await run(args);
}
