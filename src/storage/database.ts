import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { migrations } from './migrations.js';

export type Database = BetterSqlite3.Database;

export interface OpenOptions {
  /** Path of the SQLite file; its folder is created. ':memory:' is accepted for unit tests. */
  path: string;
}

/**
 * Opens the database with the settings the durability story depends on:
 * WAL so readers never block the writer, synchronous=FULL so an acknowledged write survives
 * power loss (WAL + NORMAL may lose the last transactions on power failure), foreign keys on,
 * and a busy timeout for the rare second process (CLI, backup).
 */
export function openDatabase(options: OpenOptions): Database {
  if (options.path !== ':memory:') {
    fs.mkdirSync(path.dirname(options.path), { recursive: true });
  }
  const db = new BetterSqlite3(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** Applies every migration not yet applied, each in its own transaction, in order. */
export function migrate(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
  }
}
