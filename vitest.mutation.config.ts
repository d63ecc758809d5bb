import { defineConfig } from 'vitest/config';
import { moduleGroup } from './stryker.modules.mjs';

/**
 * The suite `make mutation` runs against mutated source: the test files of one module group
 * (STRYKER_MODULE, stryker.modules.mjs). None of them spawns a process: test/process, test/crash
 * and test/cli run dist/ (never the mutated source), test/browser drives chromium and test/interop
 * needs the clients `make interop` installs, so no group lists them.
 */
export default defineConfig({
  test: {
    include: moduleGroup().testFiles,
    exclude: ['**/node_modules/**', 'test/process/**', 'test/crash/**', 'test/cli/**', 'test/browser/**', 'test/interop/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
