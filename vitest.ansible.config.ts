import { defineConfig } from 'vitest/config';

// `npm run test:ansible`: the fleet suite (test/ansible/*.ansible-test.ts) runs real
// ansible-playbook against nine local hosts, twice (ansible-core 2.14 and 2.19): minutes, not
// seconds, so it is a suite of its own that .ci/run calls, not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/ansible/**/*.ansible-test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    globalSetup: ['test/support/temp-check.ts'],
  },
});
