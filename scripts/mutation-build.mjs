#!/usr/bin/env node
// StrykerJS's build command (stryker.config.mjs), run in each sandbox after it has written the
// mutants into lib/: dist/ compiled without type checks (the mutant switches are not typed), then
// the bundled CLI, dist/xlp/xlp.js, that the CLI tests run. Stryker runs a build command without a
// shell, so the two steps are chained here.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck'], { stdio: 'inherit' });
await import('./build-cli.mjs');
