import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): the whole system as production runs it (three pollers, their Redis
 * servers, sqld with a token, the git remote over HTTP, the vendor fleet) under injected faults. One file at a
 * time: each starts its own system, and two at once would not fit 2 cores.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/setup/global.ts'],
    reporters: ['default', './test/faults/reporter.ts'],
  },
});
