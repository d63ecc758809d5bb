import type { Database } from './database.js';

/** Runs a function in one SQLite transaction; domain code uses this instead of touching the driver. */
export interface Transactor {
  run<T>(fn: () => T): T;
}

export function sqliteTransactor(db: Database): Transactor {
  return {
    run<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
  };
}
