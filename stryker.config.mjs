// @ts-check
/**
 * `npm run test:mutation` (scripts/mutation.mjs) runs StrykerJS once per area below: the code whose
 * bugs hurt most (issue 16; docs/testing.md, "Mutation testing"), each against the suites written
 * for it. A mutant an area's own tests do not kill counts as surviving even if some distant test
 * would notice: the score says how well each area is pinned by its own tests, and a run stays
 * within minutes (a mutant of the lock, reached by nearly every test, would otherwise run the whole
 * suite). 9.6.1 is the last StrykerJS that runs on Node 20 (10.x needs Node 22).
 */

/** @type {readonly { name: string; mutate: string[]; tests: string[] }[]} */
export const AREAS = [
  {
    name: 'fs',
    // the file lock, atomic writes, private directories and files, the state-file decoders
    mutate: ['lib/fs/**/*.ts', '!lib/fs/index.ts'],
    tests: ['test/fs/**/*.test.ts', 'test/mock/persist.test.ts', 'test/mock/state-safety.test.ts', 'test/workflow/state-files.test.ts'],
  },
  {
    name: 'preflight',
    // the rules, the order Xen meets them in (load/sequence.ts), the findings they make
    mutate: ['lib/preflight/rules.ts', 'lib/preflight/load/**/*.ts', 'lib/preflight/apply.ts', 'lib/preflight/findings.ts'],
    tests: ['test/preflight/**/*.test.ts', 'test/properties/linear.test.ts'],
  },
  {
    name: 'cli-errors',
    // the JSON error object of every kind, and the exit codes
    mutate: ['lib/cli/error-*.ts', 'lib/cli/exit-codes.ts'],
    tests: ['test/cli/error-kinds.test.ts', 'test/cli/error-report.test.ts', 'test/cli/docs.test.ts'],
  },
  {
    name: 'workflow',
    mutate: ['lib/workflow/**/*.ts', '!lib/workflow/index.ts'],
    tests: ['test/workflow/**/*.test.ts'],
  },
  {
    name: 'mock',
    // the state machine: its entry points (machine.ts), one file per sysctl op (sysctl/), the
    // deferred work of an action (work.ts), running hooks (hook-calls.ts) and their scripted
    // behaviours (hooks.ts), patching the known memory (patching.ts)
    mutate: [
      'lib/mock/machine.ts',
      'lib/mock/sysctl/*.ts',
      'lib/mock/work.ts',
      'lib/mock/hook-calls.ts',
      'lib/mock/patching.ts',
      'lib/mock/hooks.ts',
    ],
    tests: ['test/mock/**/*.test.ts', '!test/mock/cli.test.ts', '!test/mock/concurrency.test.ts', 'test/parity/**/*.test.ts'],
  },
];

const area = AREAS.find((a) => a.name === process.env.XLP_MUTATION_AREA);
if (!area) throw new Error(`XLP_MUTATION_AREA must name one of: ${AREAS.map((a) => a.name).join(', ')} (npm run test:mutation sets it)`);
const out = `.cache/stryker/${area.name}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: area.mutate,
  testFiles: area.tests,
  coverageAnalysis: 'perTest',
  // A mutant that only code run outside any test reaches (module load, beforeAll) would need every
  // test of the area per mutant, after a reload. Such mutants are left out of the score (listed
  // as "ignored" in the report); a mutant a test also reaches runs against the tests that reach it.
  ignoreStatic: true,
  // A re-run tests only the mutants whose code or covering tests changed since the last result
  // (kept in .cache/, git-ignored); `npm run test:mutation -- --force` starts over.
  incremental: true,
  incrementalFile: `${out}/incremental.json`,
  // The CLI tests run the compiled xlp (dist/ and its bundle dist/xlp/xlp.js) and check that both
  // are newer than lib/, which the sandbox has just rewritten with the mutants: compile and bundle
  // it (without type checks: the mutant switches are not typed). Without the bundle, those tests
  // stop in their beforeAll, and vitest reports them skipped: they cover nothing and kill nothing.
  // A child process never activates a mutant, so dist/ behaves as lib/ does.
  buildCommand: 'node scripts/mutation-build.mjs',
  // Two cores, shared: one test runner per core.
  concurrency: 2,
  // A busy machine slows every test; a mutant that loops still shows as a timeout.
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 20,
  thresholds: { high: 90, low: 85, break: null },
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  htmlReporter: { fileName: `${out}/mutation.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  // One sandbox directory per area (Stryker deletes it after a successful run), so areas can run at once.
  tempDirName: `.cache/stryker/tmp-${area.name}`,
  // Only what the tests read is copied into the sandbox (dist/ and build/ are: the CLI tests run them).
  ignorePatterns: ['.cache', 'build-cmake', 'build-asan', 'prebuilds', 'coverage', '.vitest-result.json', '*.tgz', 'stryker-setup-*.js'],
};
