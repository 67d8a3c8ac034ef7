// @ts-check
/**
 * `npm run test:mutation`: StrykerJS over the code whose bugs hurt most (issue 16; docs/testing.md,
 * "Mutation testing"). 9.6.1 is the last StrykerJS that runs on Node 20 (10.x needs Node 22).
 * Incremental: a re-run tests only the mutants whose code or covering tests changed since the
 * result kept in .cache/ (git-ignored); `npm run test:mutation -- --force` starts over.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // The CLI tests run the compiled xlp (dist/) and check that it is newer than lib/, which the
  // sandbox has just rewritten with the mutants: compile it (without type checks: the mutant
  // switches are not typed). A child process never activates a mutant, so dist/ behaves as lib/ does.
  buildCommand: 'npx tsc -p tsconfig.build.json --noCheck',
  incremental: true,
  incrementalFile: '.cache/stryker/incremental.json',
  mutate: [
    // the file lock, atomic writes and private files
    'lib/fs/**/*.ts',
    // the preflight rules, the order Xen meets them in, and the findings they make
    'lib/preflight/rules.ts',
    'lib/preflight/load/**/*.ts',
    'lib/preflight/apply.ts',
    'lib/preflight/findings.ts',
    // the CLI's error reporting and exit codes
    'lib/cli/error-*.ts',
    'lib/cli/exit-codes.ts',
    // the workflows
    'lib/workflow/**/*.ts',
    // the mock's state machine and its action and hook semantics
    'lib/mock/machine.ts',
    'lib/mock/hooks.ts',
  ],
  // Two cores, shared: one test runner per core.
  concurrency: 2,
  // A busy machine slows every test; a mutant that loops still shows as a timeout.
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 20,
  thresholds: { high: 90, low: 85, break: 85 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.cache/stryker/mutation.html' },
  jsonReporter: { fileName: '.cache/stryker/mutation.json' },
  tempDirName: '.cache/stryker/tmp',
  // Only what the tests read is copied into the sandboxes (dist/ and build/ are: the CLI tests run them).
  ignorePatterns: ['.cache', 'build-cmake', 'build-asan', 'prebuilds', 'coverage', '.vitest-result.json', '*.tgz', 'stryker-setup-*.js'],
};
