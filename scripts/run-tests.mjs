#!/usr/bin/env node
// The README's test command. It compiles the TypeScript (the CLI tests run the compiled `xlp`),
// runs the linter and the formatter's check, then vitest, and ends with the plain line
// "N passed, N failed" that CI recognises, taken from vitest's JSON report. The exit code is vitest's own.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = join(root, '.vitest-result.json');
const bin = (name) => join(root, 'node_modules', '.bin', name);

// tsc gives dist/ (the library entries); build-cli.mjs bundles the `xlp` that bin/xlp.js runs.
for (const [what, cmd, args] of [
  ['TypeScript build', bin('tsc'), ['-p', 'tsconfig.build.json']],
  ['CLI bundle', process.execPath, [join(root, 'scripts', 'build-cli.mjs')]],
]) {
  const built = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) {
    console.error(`${what} failed; no test was run.`);
    console.log('0 passed, 1 failed');
    process.exit(built.status ?? 1);
  }
}

// The type check of tests and scripts, the linter and the formatter's check (npm run typecheck, lint,
// format:check) gate the suite as the build does: vitest runs tests without checking their types.
for (const [what, cmd, args] of [
  ['typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']],
  ['lint', bin('eslint'), ['.']],
  ['format:check', bin('prettier'), ['--check', '.']],
]) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm run ${what} failed; no test was run.`);
    console.log('0 passed, 1 failed');
    process.exit(r.status ?? 1);
  }
}

rmSync(report, { force: true });
const args = ['run', '--reporter=default', '--reporter=json', `--outputFile=${report}`, ...process.argv.slice(2)];
const vitest = spawnSync(bin('vitest'), args, { cwd: root, stdio: 'inherit' });

let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  // A suite that fails to load has no failed test of its own; count it so the line never says 0 failed.
  failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
} catch {
  failed = 1;
}
// vitest can fail after its tests passed (the temporary-directory check of test/support/temp-check.ts).
if (vitest.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(vitest.status ?? 1);
