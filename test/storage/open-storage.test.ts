import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DATABASE_POOL_SIZE, loadConfig } from '../../src/config.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/unit-of-work.js';
import { createTestDatabase, postgresAdminUrl } from '../helpers/postgres.js';

/** SWITCHYARD_DATABASE_URL (SPEC §11) picks PostgreSQL; without it the SQLite file of SWITCHYARD_DB. */
describe('choosing the storage engine', () => {
  const opened: Storage[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('parses SWITCHYARD_DATABASE_URL and the pool size, and refuses what is not a postgres URL', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({}).databasePoolSize).toBe(DEFAULT_DATABASE_POOL_SIZE);
    const url = 'postgresql://sy:secret@db.internal:5432/switchyard?sslmode=require';
    expect(loadConfig({ SWITCHYARD_DATABASE_URL: url, SWITCHYARD_DATABASE_POOL_SIZE: '25' })).toMatchObject({ databaseUrl: url, databasePoolSize: 25 });
    expect(loadConfig({ SWITCHYARD_DATABASE_URL: 'postgres://u@localhost/db?host=/run/postgresql' }).databaseUrl).toBe('postgres://u@localhost/db?host=/run/postgresql');
    expect(() => loadConfig({ SWITCHYARD_DATABASE_URL: 'mysql://u@h/db' })).toThrow(ConfigError);
    expect(() => loadConfig({ SWITCHYARD_DATABASE_URL: 'mysql://u@h/db' })).toThrow(/SWITCHYARD_DATABASE_URL/);
    expect(() => loadConfig({ SWITCHYARD_DATABASE_POOL_SIZE: '0' })).toThrow(/SWITCHYARD_DATABASE_POOL_SIZE/);
  });

  it('opens PostgreSQL when a database URL is configured, else the SQLite file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-open-'));
    const db = await createTestDatabase(postgresAdminUrl(), 'open');
    try {
      const config = loadConfig({ SWITCHYARD_DB: path.join(dir, 'x.db'), SWITCHYARD_DATABASE_URL: db.url });
      const pg = await openStorage(config);
      opened.push(pg);
      expect(pg.engine).toBe('postgres');
      expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(false);
      const lite = await openStorage(loadConfig({ SWITCHYARD_DB: path.join(dir, 'x.db') }));
      opened.push(lite);
      expect(lite.engine).toBe('sqlite');
      expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(true);
    } finally {
      for (const s of opened.splice(0)) await s.close();
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
