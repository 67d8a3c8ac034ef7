import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run test:mutation` runs against each mutant (stryker.config.mjs): the suites of
 * the mutated scope that exercise it in the test process. Stryker sees coverage, and activates a
 * mutant, only in that process, so a test that drives the code through another process (the
 * compiled `xlp`, the fuzz scripts, the native builds, the QEMU harness) can never kill a mutant;
 * yet every mutant its in-process set-up touches would run it (seconds per `xlp` call on a busy
 * machine). Those suites stay in `npm test`.
 */
export default defineConfig({
  plugins: [
    {
      name: 'xlp-mutation-forks',
      // Stryker's vitest runner starts vitest with `pool: 'threads'`, which overrides any config.
      // Some tests set environment variables that the addon reads with getenv(3), and a worker
      // thread's process.env never reaches the C environment: run each test file in a process,
      // as `npm test` does.
      configureVitest({ project }) {
        project.config.pool = 'forks';
      },
    },
  ],
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    globalSetup: ['test/support/temp-check.ts'],
    include: [
      'test/fs/**/*.test.ts',
      'test/preflight/**/*.test.ts',
      'test/workflow/**/*.test.ts',
      'test/mock/**/*.test.ts',
      'test/parity/**/*.test.ts',
      'test/properties/**/*.test.ts',
      // the error kinds, their JSON and exit codes (reportFor), and the documented tables
      'test/cli/error-kinds.test.ts',
      'test/cli/error-report.test.ts',
      'test/cli/docs.test.ts',
    ],
    exclude: ['test/mock/cli.test.ts', 'test/mock/concurrency.test.ts', 'test/properties/*fuzz-script.test.ts', '**/node_modules/**'],
  },
});
