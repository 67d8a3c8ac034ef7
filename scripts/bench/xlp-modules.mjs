#!/usr/bin/env node
// The same `xlp` as bin/xlp.js, run from tsc's module files (dist/cli/*.js, each import resolved
// and opened by Node) instead of the bundle dist/xlp/xlp.cjs: the layout before the bundle, which
// the benchmarks measure beside it in the same run. Not shipped as a command.
const args = process.argv.slice(2);
const { run } = await import('../../dist/cli/main.js');
const { rawArguments } = await import('../../dist/cli/argv.js');
process.exitCode = await run(args, rawArguments(args.length));
