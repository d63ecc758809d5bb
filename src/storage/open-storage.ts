import type { Storage } from '../unit-of-work.js';
import { openPostgresStorage } from './postgres/postgres-storage.js';
import { openSqliteStorage } from './sqlite/sqlite-storage.js';

export interface StorageSettings {
  /** The SQLite file (SWITCHYARD_DB), used when no database URL is given. */
  dbPath: string;
  /** PostgreSQL (SWITCHYARD_DATABASE_URL, SPEC §11): when set, the SQLite file is not opened. */
  databaseUrl?: string | undefined;
  databasePoolSize?: number;
  /** PostgreSQL: the periodic catch-up of change listeners (postgres-storage.ts DEFAULT_CATCH_UP_MS); 0 turns it off (tests). */
  catchUpMs?: number;
  /** PostgreSQL: the read barrier's bound (SWITCHYARD_READ_BARRIER_MS, ADR 0012); 0 turns it off. */
  readBarrierMs?: number;
  /** PostgreSQL: the read barrier's lease and commit wait (SWITCHYARD_READ_LEASE_MS, ADR 0012). */
  readLeaseMs?: number;
  /** PostgreSQL: false to not LISTEN at all (tests of the read barrier alone). */
  listen?: boolean;
  /** Told of an afterCommit callback or change listener that threw, and of a lost LISTEN connection. */
  onCallbackError?: (err: unknown, what?: string) => void;
}

/** The one place that picks the engine: PostgreSQL when a database URL is configured, else the SQLite file. */
export async function openStorage(s: StorageSettings): Promise<Storage> {
  const onCallbackError = s.onCallbackError ? { onCallbackError: s.onCallbackError } : {};
  if (s.databaseUrl) {
    return openPostgresStorage({
      url: s.databaseUrl,
      ...(s.databasePoolSize ? { poolSize: s.databasePoolSize } : {}),
      ...(s.catchUpMs !== undefined ? { catchUpMs: s.catchUpMs } : {}),
      ...(s.readBarrierMs !== undefined ? { readBarrierMs: s.readBarrierMs } : {}),
      ...(s.readLeaseMs !== undefined ? { readLeaseMs: s.readLeaseMs } : {}),
      ...(s.listen !== undefined ? { listen: s.listen } : {}),
      ...onCallbackError,
    });
  }
  return openSqliteStorage({ path: s.dbPath, ...onCallbackError });
}
