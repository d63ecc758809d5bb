import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/storage/postgres/driver-errors.js';
import { pgMigrations } from '../../src/storage/postgres/migrations.js';
import { openPostgresStorage, PostgresStorage, UNIT_LOCK_KEY } from '../../src/storage/postgres/postgres-storage.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * What only the PostgreSQL adapter has: the advisory lock across processes, LISTEN/NOTIFY, the
 * connection-loss error, migrations run once by concurrent starts, and the refusal to store a
 * string PostgreSQL would change. The shared contracts are in conformance.test.ts.
 */
const T0 = '2026-11-25T12:00:00.000Z';

describe('PostgreSQL adapter', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const database = async (): Promise<TestDatabase> => {
    const db = await createTestDatabase(postgresAdminUrl(), 'adapter');
    cleanup.push(() => db.drop());
    return db;
  };
  const open = async (url: string, options: { lockTimeoutMs?: number } = {}): Promise<PostgresStorage> => {
    const s = await openPostgresStorage({ url, ...options });
    cleanup.push(() => s.close());
    return s;
  };
  const client = async (url: string): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    cleanup.push(() => c.end().catch(() => {}));
    return c;
  };

  it('a unit waits for the advisory lock another process holds, and fails with server_busy past the lock timeout', async () => {
    const db = await database();
    const s = await open(db.url, { lockTimeoutMs: 200 });
    const other = await client(db.url);
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1::bigint)', [UNIT_LOCK_KEY]);
    await expect(s.tx.run((u) => u.intents.createExperiment('a', 'growth', T0))).rejects.toMatchObject({ code: 'server_busy', status: 503 });
    expect(await s.read.intents.getExperiment('a')).toBeUndefined();
    // Once the other process commits, the lock is free again.
    await other.query('COMMIT');
    await s.tx.run((u) => u.intents.createExperiment('a', 'growth', T0));
    expect(await s.read.intents.getExperiment('a')).toBeDefined();
  });

  it('two storages on one database (two instances) serialise their units: the audit chain stays one chain', async () => {
    const db = await database();
    const [a, b] = await Promise.all([open(db.url), open(db.url)]);
    const append = (s: PostgresStorage, i: number) =>
      s.tx.run(async (u) => {
        const last = await u.audit.last();
        await new Promise<void>((r) => setImmediate(r));
        await u.audit.insert({ id: `e${i}`, type: 't', experiment: null, version: null, service: null, actor: 'x', at: T0, data: {}, prevHash: last?.hash ?? 'genesis', hash: `h${i}` });
      });
    await Promise.all(Array.from({ length: 30 }, (_, i) => append(i % 2 ? a : b, i)));
    const chain = await a.read.audit.query({ limit: 100 });
    expect(chain.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
  });

  it('another instance hears a commit through LISTEN/NOTIFY; its own commits are not reported to it', async () => {
    const db = await database();
    const [a, b] = await Promise.all([open(db.url), open(db.url)]);
    let heardByA = 0;
    a.onExternalChange(() => heardByA++);
    const heardByB = new Promise<void>((resolve) => b.onExternalChange(resolve));
    await a.tx.run((u) => u.intents.createExperiment('x', 'growth', T0));
    await heardByB;
    expect(await b.read.intents.getExperiment('x')).toBeDefined();
    // B's own commit reaches A; A's own never reached A.
    const heard = new Promise<void>((resolve) => a.onExternalChange(resolve));
    await b.tx.run((u) => u.intents.createExperiment('y', 'growth', T0));
    await heard;
    expect(heardByA).toBe(1);
  });

  it('concurrent starts on a new database migrate it once', async () => {
    const db = await database();
    const all = await Promise.all([open(db.url), open(db.url), open(db.url)]);
    const c = await client(db.url);
    const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(r.rows[0]!.n)).toBe(pgMigrations.length);
    await all[0]!.tx.run((u) => u.intents.createExperiment('a', 'growth', T0));
    // A restart on a migrated database changes nothing and sees the rows.
    const again = await open(db.url);
    expect(await again.read.intents.getExperiment('a')).toBeDefined();
  });

  it('an unreachable server is a StoreUnavailableError (never a raw pg error), from ping, reads and units', async () => {
    const db = await database();
    const s = await open(db.url);
    // The same database through a socket folder where no server listens.
    const u = new URL(db.url);
    u.searchParams.set('host', '/nonexistent-switchyard-socket-dir');
    const unreachable = new PostgresStorage({ url: u.toString() });
    cleanup.push(() => unreachable.close());
    await expect(unreachable.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(unreachable.read.tokens.count()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(unreachable.tx.run((x) => x.tokens.count())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(openPostgresStorage({ url: u.toString() })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(s.ping()).resolves.toBeUndefined();
  });

  it('a connection killed under a unit is a StoreUnavailableError, the unit is not committed, and the next unit works', async () => {
    const db = await database();
    const s = await open(db.url);
    const admin = await client(postgresAdminUrl());
    await expect(
      s.tx.run(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        // Every other backend on this database, the unit's own among them; waits until they have exited.
        await admin.query('SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
        await u.intents.createExperiment('b', 'growth', T0);
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await s.tx.run((u) => u.intents.createExperiment('c', 'growth', T0));
    expect(await s.read.intents.getExperiment('a')).toBeUndefined();
    expect(await s.read.intents.getExperiment('c')).toBeDefined();
  });

  it('a lost LISTEN connection and a broken idle pooled connection are reported as what they are, not as a failed after-commit listener', async () => {
    const db = await database();
    const reports: { code: unknown; what: string | undefined }[] = [];
    const s = await openPostgresStorage({ url: db.url, onCallbackError: (err, what) => reports.push({ code: (err as { code?: unknown }).code, what }) });
    cleanup.push(() => s.close());
    // One idle connection in the pool besides the LISTEN one.
    await s.read.tokens.count();
    const admin = await client(postgresAdminUrl());
    await admin.query('SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
    await expect.poll(() => reports.map((r) => r.what), { timeout: 10_000 }).toEqual(
      expect.arrayContaining([expect.stringMatching(/^the LISTEN connection was lost/), expect.stringMatching(/^an idle pooled PostgreSQL connection broke/)]),
    );
    expect(reports.every((r) => r.what !== undefined && r.code === 'store_unavailable')).toBe(true);
  });

  it('refuses, rather than changes, a string PostgreSQL cannot hold as given', async () => {
    const db = await database();
    const s = await open(db.url);
    await expect(s.tx.run((u) => u.intents.createExperiment('bad\ud800', 'growth', T0))).rejects.toThrow(/lone surrogate/);
    await expect(s.tx.run((u) => u.intents.createExperiment('nul\u0000', 'growth', T0))).rejects.toThrow(/U\+0000/);
    expect(await s.read.intents.listExperiments({ limit: 10 })).toEqual([]);
  });
});
