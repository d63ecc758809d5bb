import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { openPostgresStorage, type PostgresStorageOptions } from '../../src/storage/postgres/postgres-storage.js';
import type { Storage } from '../../src/unit-of-work.js';
import { createTestDatabase, postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The engines the storage conformance suite runs every contract against: each opens a fresh,
 * empty, migrated database, and a second connection straight through the driver, for the checks
 * that must hold in the database itself (append-only tables) whatever the adapter does.
 */
export interface OpenedEngine {
  storage: Storage;
  /** A statement issued directly through the driver, outside the adapter; rejects as the driver does. */
  exec(sql: string): Promise<void>;
  /** A number read directly through the driver (e.g. `SELECT count(*) FROM …`). */
  scalar(sql: string): Promise<number>;
  close(): Promise<void>;
}

export interface Engine {
  name: 'sqlite' | 'postgres';
  open(): Promise<OpenedEngine>;
}

export async function openPostgresEngine(options: Partial<PostgresStorageOptions> = {}): Promise<OpenedEngine & { url: string }> {
  const db = await createTestDatabase(postgresAdminUrl(), 'conformance');
  const storage = await openPostgresStorage({ url: db.url, ...options });
  const raw = new pg.Client({ connectionString: db.url });
  raw.on('error', () => {});
  await raw.connect();
  return {
    url: db.url,
    storage,
    async exec(sql) {
      await raw.query(sql);
    },
    async scalar(sql) {
      const r = await raw.query({ text: sql, rowMode: 'array' });
      return Number((r.rows[0] as unknown[] | undefined)?.[0]);
    },
    async close() {
      await raw.end().catch(() => {});
      await storage.close();
      await db.drop();
    },
  };
}

export const postgresEngine: Engine = { name: 'postgres', open: () => openPostgresEngine() };

export async function openSqliteEngine(): Promise<OpenedEngine & { path: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-conformance-'));
  const file = path.join(dir, 'switchyard.db');
  const storage = openSqliteStorage({ path: file });
  const raw = new BetterSqlite3(file);
  raw.pragma('busy_timeout = 5000');
  return {
    path: file,
    storage,
    async exec(sql) {
      raw.exec(sql);
    },
    async scalar(sql) {
      return Number(raw.prepare(sql).pluck().get());
    },
    async close() {
      raw.close();
      await storage.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sqliteEngine: Engine = { name: 'sqlite', open: () => openSqliteEngine() };

export const ENGINES: Engine[] = [sqliteEngine, postgresEngine];
