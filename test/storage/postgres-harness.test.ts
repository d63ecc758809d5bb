import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/** The test cluster itself: a real server, one fresh database per caller, isolated from the others. */
describe('test PostgreSQL cluster', () => {
  const made: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of made) await d.drop();
  });

  it('hands out fresh, separate, UTF-8 databases whose default collation is not byte order', async () => {
    const a = await createTestDatabase(postgresAdminUrl(), 'harness');
    const b = await createTestDatabase(postgresAdminUrl(), 'harness');
    made.push(a, b);
    expect(a.name).not.toBe(b.name);
    const ca = new pg.Client({ connectionString: a.url });
    const cb = new pg.Client({ connectionString: b.url });
    await ca.connect();
    await cb.connect();
    try {
      await ca.query('CREATE TABLE t (x text)');
      await ca.query("INSERT INTO t VALUES ('only in a')");
      await expect(cb.query('SELECT * FROM t')).rejects.toMatchObject({ code: '42P01' });
      const r = await ca.query<{ db: string; enc: string; provider: string; sorted: string[] }>(
        `SELECT current_database() AS db, pg_encoding_to_char(encoding) AS enc, datlocprovider AS provider,
                (SELECT array_agg(x ORDER BY x) FROM unnest(ARRAY['b', 'B', 'a']) x) AS sorted
           FROM pg_database WHERE datname = current_database()`,
      );
      // Not C: the default collation sorts like a dictionary, so the schema's COLLATE "C" is what the tests check.
      expect(r.rows[0]).toEqual({ db: a.name, enc: 'UTF8', provider: 'i', sorted: ['a', 'b', 'B'] });
    } finally {
      await ca.end();
      await cb.end();
    }
  });

  it('drops a database with its connections', async () => {
    const d = await createTestDatabase(postgresAdminUrl(), 'harness');
    const c = new pg.Client({ connectionString: d.url });
    c.on('error', () => {});
    await c.connect();
    await d.drop();
    const admin = new pg.Client({ connectionString: postgresAdminUrl() });
    await admin.connect();
    try {
      const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [d.name]);
      expect(r.rowCount).toBe(0);
    } finally {
      await admin.end();
      await c.end().catch(() => {});
    }
  });
});
