import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

/**
 * The HTTP files that run a second time on PostgreSQL (SWITCHYARD_TEST_ENGINE=postgres): the ones
 * that exercise storage most. docs/storage.md says which files run on which engine and why.
 */
export const POSTGRES_HTTP_FILES = [
  'test/http/lifecycle.test.ts',
  'test/http/approvals.test.ts',
  'test/http/idempotency.test.ts',
  'test/http/audit.test.ts',
  'test/http/flags.test.ts',
  'test/http/events.test.ts',
  'test/http/rollouts.test.ts',
  'test/http/rollback-slice.test.ts',
  'test/http/telemetry.test.ts',
  'test/http/governance.test.ts',
];

export default defineConfig({
  test: {
    // `make interop` runs these, with the clients it installs (vitest.interop.config.ts).
    exclude: ['**/node_modules/**', 'test/interop/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: on CI's 2 cores, one worker, so the files
    // ran one after another while much of their time is spent waiting on a child process (the CLI,
    // PostgreSQL, chromium, a killed server). Two workers; the slow files start first
    // (test/helpers/sequencer.ts). docs/testing.md has the profile behind both.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirstSequencer },
    // Each project starts its own PostgreSQL cluster in its global setup (test/helpers/postgres.ts,
    // ADR 0009); `--project sqlite` runs only the first.
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], globalSetup: ['test/helpers/global-setup.ts'] } },
      {
        extends: true,
        test: { name: 'postgres', include: POSTGRES_HTTP_FILES, env: { SWITCHYARD_TEST_ENGINE: 'postgres' }, globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
