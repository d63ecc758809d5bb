// @ts-check
/**
 * Mutation testing (`make mutation`, or `make mutation MODULES=audit,access` for some groups).
 * One Stryker run per module group (STRYKER_MODULE, see stryker.modules.mjs): each mutates its
 * files and runs only its test files (and, with perTest coverage, only the tests in them that reach
 * a mutant). docs/mutation.md has the scores, the equivalent survivors and why.
 */
import path from 'node:path';
import { moduleGroup } from './stryker.modules.mjs';

const group = moduleGroup();

// The sandbox copy leaves out .tools (a link to a shared folder): the tests that build bundles find opa here.
process.env.SWITCHYARD_TEST_OPA ??= path.resolve('.tools/opa-v1.22.3/opa');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  // Static mutants (module-level code, or code a test file runs outside its tests) need the test
  // environment reloaded and every test of the group run: with server tests ~30 s each. No group
  // needs this now (evaluation runs its 14 static mutants in its 18 min).
  // STRYKER_IGNORE_STATIC=1 reports them as Ignored instead (docs/mutation.md says where it was used).
  ignoreStatic: process.env.STRYKER_IGNORE_STATIC === '1',
  // The machine is shared; STRYKER_CONCURRENCY raises it on a quiet one.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // Each test opens a real SQLite file (some a server): allow for a loaded machine before calling a mutant a timeout.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  ignorePatterns: ['.tools', 'dist', 'data', 'coverage', 'bench/results', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${group.name}.json` },
  htmlReporter: { fileName: `reports/mutation/${group.name}.html` },
  tempDirName: '.stryker-tmp',
  // A re-run tests again only the mutants whose code or covering tests changed since the last one.
  incremental: true,
  incrementalFile: `reports/mutation/${group.name}.incremental.json`,
  thresholds: { high: 90, low: 85, break: null },
};
