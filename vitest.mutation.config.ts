import { defineConfig } from 'vitest/config';

/**
 * The suite `make mutation` runs against mutated source: the tests that import `src/` in-process.
 * Left out: test/process, test/crash and test/cli spawn real processes that run dist/ (never the
 * mutated source), test/browser drives chromium, test/interop needs the clients `make interop`
 * installs. stryker.config.mjs narrows this further to the files that matter for each module.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/http/**/*.test.ts', 'test/policy/**/*.test.ts', 'test/sdk/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/process/**', 'test/crash/**', 'test/cli/**', 'test/browser/**', 'test/interop/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
