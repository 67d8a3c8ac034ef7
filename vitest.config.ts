import { defineConfig } from 'vitest/config';

// The native bridge suite runs once per libxenctrl generation the addon knows (the fake library
// is built as 4.17, 4.20 and 4.21; see test/native/support/fake-xenctrl.ts); everything else once.
const BRIDGE = 'test/native/bridge/**/*.test.ts';
const GENERATIONS = ['17', '20', '21'];

export default defineConfig({
  test: {
    // Native, gcc and QEMU-backed suites spawn processes; the default 5 s is too tight on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    projects: [
      { extends: true as const, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [BRIDGE] } },
      ...GENERATIONS.map((minor) => ({
        extends: true as const,
        test: { name: `bridge-4.${minor}`, include: [BRIDGE], env: { XLP_FAKE_XEN_MINOR: minor } },
      })),
    ],
    // A temporary directory per run, and a check that the tests leave nothing in it.
    globalSetup: ['test/support/temp-check.ts'],
  },
});
