import { defineConfig } from 'vitest/config';

/** `make interop`: the stock OFREP providers and the flagd daemon against our OFREP (test/interop/). */
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
