import fs from 'node:fs';
import type { TestProject } from 'vitest/node';
import { BUNDLE_PATH } from './paths.js';
import { startPostgresCluster } from './postgres.js';

/**
 * The HTTP tests run the real compiled policy; without it they would test nothing real.
 * One PostgreSQL cluster serves the whole run (test/helpers/postgres.ts, ADR 0009): the storage
 * conformance suite and the HTTP files that also run on PostgreSQL each make their own database on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!fs.existsSync(BUNDLE_PATH)) {
    throw new Error(`${BUNDLE_PATH} is missing: run \`make policies\` (make test does it for you)`);
  }
  const cluster = await startPostgresCluster();
  console.log(`PostgreSQL ${cluster.version} for the tests ready in ${cluster.startupMs} ms (${cluster.source})`);
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}
