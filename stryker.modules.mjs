// The module groups `make mutation` runs, each with the files it mutates and the test files run
// against them. Read by stryker.config.mjs (what to mutate) and vitest.mutation.config.ts (which
// tests to run): the test selection is made in the vitest config, not with Stryker's `testFiles`,
// because with `testFiles` Stryker 9.6 activates static mutants after their module has loaded and
// reports them survived (stryker-js#6144).

/** module group -> the files it mutates and the test files run against them. */
export const MODULES = {
  evaluation: {
    mutate: ['src/evaluation/**/*.ts', '!src/evaluation/types.ts', '!src/evaluation/index.ts'],
    // Pure unit tests that import the module and run in milliseconds. None calls the module while its
    // file is collected, so only module-level constants are static mutants (a reload and every test
    // of the group each). Left out: statistics.test.ts (100,000 evaluations a test, seconds per mutant
    // when instrumented) and the OFREP HTTP tests (a server per static mutant: the group took ~2 h).
    testFiles: ['test/unit/evaluation/{audience,bucket,evaluate,murmur3,place}.test.ts'],
  },
  audit: {
    mutate: ['src/audit/**/*.ts'],
    testFiles: ['test/unit/audit/*.test.ts', 'test/http/audit.test.ts'],
  },
  layers: {
    mutate: ['src/flags/layer-allocator.ts'],
    // Concrete answers of the plain definitions and of LayerSpace side by side (layer-allocator.test.ts),
    // and the spaces the storage keeps. Left out: the property test layer-space.test.ts (3 s a run,
    // ~10 s a mutant instrumented: the group took ~1 h at c=1) and the HTTP and policy-agreement
    // tests (a server start a mutant). All of them stay in `make test`.
    testFiles: ['test/unit/flags/layer-allocator.test.ts', 'test/unit/storage/layer-spaces.test.ts'],
  },
  lifecycle: {
    // intent-actions.ts is the one rule for `allowed_actions` (the console's buttons and the server's
    // checks); its own tests (test/unit/intents/intent-actions.test.ts) are among the domain tests.
    mutate: ['src/intents/lifecycle.ts', 'src/intents/intent-actions.ts'],
    // Domain tests only (createContainer on a real SQLite file, no server): the lifecycle runs inside
    // each test, never in a beforeAll, so its mutants are not static. With the HTTP tests the run took > 40 min.
    testFiles: ['test/unit/intents/*.test.ts'],
  },
  policy: {
    // The engine, and the governance preview (policy-impact.ts, with approvals-owed.ts, the one count
    // of approvals it shares with approving, which no other group mutates): a wrong preview lets a
    // policy change through. In the server the preview runs in the check worker, unseen here.
    mutate: ['src/policy/policy-engine.ts', 'src/policy/policy-impact.ts', 'src/intents/approvals-owed.ts'],
    // The engine's checks and the preview on the in-process runner (test/unit/policy; policy-impact
    // makes its experiments inside each test, never in beforeAll), approvalsOwed's own tests, and the
    // server's answer check. Tests that start a server reach most of the engine in beforeAll, which
    // makes its mutants "static" (each then reruns every test file): fail-closed and policy-publish
    // cost ~30 s a mutant, and so would test/http/policy-preview.test.ts (it stays in `make test`).
    testFiles: ['test/unit/policy/*.test.ts', 'test/unit/intents/approvals-owed.test.ts', 'test/http/policy-answer-check.test.ts'],
  },
  cache: {
    // The SQLite adapter's unit of work and change feed, and the flags snapshot in FlagStateService.
    // Unit tests on a real SQLite file, each opening its storage in beforeEach (never beforeAll), so
    // only module-level constants are static mutants. Left out: test/http/read-path.test.ts and flags.test.ts (they stay in
    // `make test`): their servers start in beforeAll, which made 177 of 256 mutants static, each
    // rerunning every test file with its server.
    mutate: ['src/storage/sqlite/sqlite-storage.ts', 'src/flags/flag-state-service.ts'],
    testFiles: ['test/unit/storage/*.test.ts', 'test/unit/flags/document-cache.test.ts', 'test/unit/flags/flag-state-service.test.ts'],
  },
  access: {
    mutate: ['src/access/**/*.ts'],
    // Unit tests on a real SQLite file: a server started in beforeAll would make every token-service
    // mutant static (bootstrap runs there), and each would rerun every HTTP test file.
    testFiles: ['test/unit/access/*.test.ts', 'test/unit/intents/approval-counting.test.ts'],
  },
};

/** The group named by STRYKER_MODULE (exactly one). */
export function moduleGroup() {
  const name = process.env.STRYKER_MODULE ?? '';
  const group = MODULES[/** @type {keyof typeof MODULES} */ (name)];
  if (!group) {
    throw new Error(`set STRYKER_MODULE to one of ${Object.keys(MODULES).join(', ')} (make mutation MODULES=a,b loops over them)`);
  }
  return { name, ...group };
}
