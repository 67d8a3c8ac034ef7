import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native, gcc and QEMU-backed suites spawn processes; the default 5 s is too tight on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // A temporary directory per run, and a check that the tests leave nothing in it.
    globalSetup: ['test/support/temp-check.ts'],
  },
});
