import crypto from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/storage/sqlite/database.js';

export type DatabaseDump = Record<string, Record<string, unknown>[]>;

/**
 * Every row of every table (SQLite's own `sqlite_sequence` included, so a rolled-back insert that
 * still bumped an AUTOINCREMENT counter shows), each table's rows sorted by all of its columns, so
 * two dumps of the same content are deep-equal whatever order SQLite returns rows in. Blobs (policy
 * bundles) become their SHA-256, which keeps dumps small and comparisons fast.
 */
export function dumpDatabase(db: Database): DatabaseDump {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  const dump: DatabaseDump = {};
  for (const table of tables) {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    const columns = (db.prepare(`PRAGMA table_info(${quoted})`).all() as { name: string }[]).map((c) => `"${c.name.replace(/"/g, '""')}"`);
    const rows = db.prepare(`SELECT * FROM ${quoted} ORDER BY ${columns.join(', ')}`).all() as Record<string, unknown>[];
    dump[table] = rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `blob:sha256:${crypto.createHash('sha256').update(v).digest('hex')}` : v]),
      ),
    );
  }
  return dump;
}

/** The dump as one string: for searching it for a value that must not be stored anywhere (a token secret). */
export function dumpText(db: Database): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  const parts: string[] = [];
  for (const table of tables) {
    for (const row of db.prepare(`SELECT * FROM "${table.replace(/"/g, '""')}"`).all() as Record<string, unknown>[]) {
      for (const v of Object.values(row)) {
        // Blobs are searched as raw bytes (latin1 keeps every byte), not as their digest.
        parts.push(Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
      }
    }
  }
  return parts.join('\n');
}

/**
 * `dumpDatabase` for a PostgreSQL database: every row of every table of the public schema, each
 * table's rows sorted by all its columns, bytea as its SHA-256. bigint reads as a number, as
 * SQLite's integers do.
 */
export async function dumpPostgres(url: string, only?: string): Promise<DatabaseDump> {
  const c = new pg.Client({ connectionString: url, types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser } });
  await c.connect();
  try {
    const tables = (
      await c.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND ($1::text IS NULL OR table_name = $1) ORDER BY table_name",
        [only ?? null],
      )
    ).rows.map((r) => r.t);
    const dump: DatabaseDump = {};
    for (const table of tables) {
      const columns = (
        await c.query<{ c: string }>('SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', ['public', table])
      ).rows.map((r) => pg.escapeIdentifier(r.c));
      const rows = (await c.query<Record<string, unknown>>(`SELECT * FROM ${pg.escapeIdentifier(table)} ORDER BY ${columns.join(', ')}`)).rows;
      dump[table] = rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `blob:sha256:${crypto.createHash('sha256').update(v).digest('hex')}` : v]),
        ),
      );
    }
    return dump;
  } finally {
    await c.end();
  }
}
