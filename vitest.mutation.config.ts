import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run test:mutation` runs against each mutant (stryker.config.mjs): the `main`
 * project of vitest.config.ts without the suites that cannot see a mutant of the mutated scope.
 * Stryker measures coverage in the test process only, so a suite that exercises the code through
 * another process (the native toolchain and bridge builds, the packed package, the QEMU harness)
 * costs the initial run minutes and never kills a mutant.
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
    include: ['test/**/*.test.ts'],
    exclude: ['test/native/**', 'test/package/**', 'test/xen-vm/**', '**/node_modules/**'],
  },
});
