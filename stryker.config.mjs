// @ts-check
/**
 * Mutation testing (`make mutation`, or `make mutation MODULES=audit,access` for some groups).
 * One Stryker run per module group: each mutates its files and runs only the test files that
 * exercise them (and, with perTest coverage, only the tests in those files that reach a mutant).
 * docs/mutation.md has the scores, the equivalent survivors and why.
 */

import path from 'node:path';

/** module group -> the files it mutates and the test files run against them. */
export const MODULES = {
  evaluation: {
    mutate: ['src/evaluation/**/*.ts', '!src/evaluation/types.ts', '!src/evaluation/index.ts'],
    // Unit tests only: 44 % of these mutants are static (murmur3's tables, module constants) and each
    // reloads every test file it runs; with the OFREP HTTP tests too, the group took ~2 h.
    testFiles: ['test/unit/evaluation/*.test.ts', 'test/unit/flags/canonical-context.test.ts'],
  },
  audit: {
    mutate: ['src/audit/**/*.ts'],
    testFiles: ['test/unit/audit/*.test.ts', 'test/http/audit.test.ts'],
  },
  layers: {
    mutate: ['src/flags/layer-allocator.ts'],
    // The property test holds LayerSpace to the plain definitions, and the storage test the spaces
    // the server keeps; the HTTP and policy-agreement tests add little here and a server start a mutant.
    testFiles: ['test/unit/flags/layer-space.test.ts', 'test/unit/storage/layer-spaces.test.ts'],
  },
  lifecycle: {
    mutate: ['src/intents/lifecycle.ts'],
    testFiles: ['test/unit/intents/*.test.ts', 'test/http/lifecycle.test.ts', 'test/http/rollback-slice.test.ts', 'test/http/approvals.test.ts'],
  },
  policy: {
    mutate: ['src/policy/policy-engine.ts'],
    // The engine's checks on the in-process runner (test/unit/policy), and the server's answer check.
    // Tests that start a server reach most of this file in beforeAll, which makes its mutants
    // "static" (each then reruns every test file): fail-closed and policy-publish cost ~30 s a mutant.
    testFiles: ['test/unit/policy/*.test.ts', 'test/http/policy-answer-check.test.ts'],
  },
  cache: {
    // The row cache, and the flags document cache in FlagStateService.current (the lines of that method).
    mutate: ['src/storage/read-cache.ts', 'src/flags/flag-state-service.ts:126-134'],
    testFiles: ['test/unit/storage/*.test.ts', 'test/http/read-path.test.ts', 'test/http/flags.test.ts'],
  },
  access: {
    mutate: ['src/access/**/*.ts'],
    // Unit tests on a real SQLite file: a server started in beforeAll would make every token-service
    // mutant static (bootstrap runs there), and each would rerun every HTTP test file.
    testFiles: ['test/unit/access/*.test.ts', 'test/unit/intents/approval-counting.test.ts'],
  },
};

const wanted = (process.env.STRYKER_MODULE ?? "").split(",").filter(Boolean);
if (wanted.length !== 1) {
  throw new Error(`stryker.config.mjs runs one module group at a time: set STRYKER_MODULE to one of ${Object.keys(MODULES).join(', ')} (make mutation loops over them)`);
}
const name = wanted[0];
const group = MODULES[/** @type {keyof typeof MODULES} */ (name)];
if (!group) throw new Error(`unknown module group ${name}: one of ${Object.keys(MODULES).join(', ')}`);

// The sandbox copy leaves out .tools (a link to a shared folder): the tests that build bundles find opa here.
process.env.SWITCHYARD_TEST_OPA ??= path.resolve('.tools/opa-v1.22.3/opa');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: group.mutate,
  testFiles: group.testFiles,
  coverageAnalysis: 'perTest',
  // The machine is shared; STRYKER_CONCURRENCY raises it on a quiet one.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // Each test opens a real server and SQLite file: allow for a loaded machine before calling a mutant a timeout.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  ignorePatterns: ['.tools', 'dist', 'data', 'coverage', 'bench/results', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  tempDirName: '.stryker-tmp',
  // A re-run tests again only the mutants whose code or covering tests changed since the last one.
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 90, low: 85, break: null },
};
