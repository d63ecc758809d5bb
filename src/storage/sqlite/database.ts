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
  try {
    db.pragma('journal_mode = WAL');
    checkIntegrity(db, options.path);
  } catch (err) {
    db.close();
    if (err instanceof DatabaseCorruptError) throw err;
    // A file that is not a database at all (SQLITE_NOTADB) fails at its first statement.
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new DatabaseCorruptError(options.path, [(err as Error).message]);
    throw err;
  }
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** The database file failed its integrity check at open: the process must not serve from it. */
export class DatabaseCorruptError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(
      `the database ${path} is corrupt (PRAGMA quick_check: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}). ` +
        'Switchyard will not start on it: restore the file from a backup (docs/storage.md)',
    );
    this.name = 'DatabaseCorruptError';
  }
}

/**
 * `PRAGMA quick_check` at open: every page's b-tree structure, record format and NOT NULL
 * constraints, without integrity_check's index-to-table cross-check; it reads the whole file,
 * about 0.6 s per 100 MB on this machine with the file in the page cache (docs/storage.md).
 * Corruption found now refuses the start, rather than a server that says ready and answers 500
 * on the first query that touches the bad page.
 */
function checkIntegrity(db: Database, file: string): void {
  const rows = db.prepare<[], string>('PRAGMA quick_check(20)').pluck().all();
  if (rows.length === 1 && rows[0] === 'ok') return;
  throw new DatabaseCorruptError(file, rows);
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
