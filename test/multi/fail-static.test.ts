/**
 * SPEC §11, issue #16 "fail static": PostgreSQL stopped under two running instances, then
 * started again. The cluster is this file's own (test/helpers/postgres.ts `halt`/`resume`), so
 * stopping it touches no other test. docs/deployment.md describes what these tests pin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openPostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { apiFor, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { createTestDatabase, postgresAdminUrl, startPostgresCluster, type PostgresCluster, type TestDatabase } from '../helpers/postgres.js';

/** Polls `probe` every 20 ms until it returns true; fails after `boundMs` (no sleep as synchronisation). */
async function until(what: string, probe: () => Promise<boolean>, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('fail static: PostgreSQL stopped and started again under two instances', () => {
  let cluster: PostgresCluster;
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let owner: Api;
  let webA: Api;
  let webB: Api;

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    db = await createTestDatabase(cluster.adminUrl, 'failstatic');
    a = await startServer({ databaseUrl: db.url, clock: new ManualClock('2026-11-25T12:00:00Z') });
    // B without the periodic catch-up: what it learns after the outage, it learns from its re-made LISTEN.
    b = await startServer({ databaseUrl: db.url, catchUpMs: 0, clock: new ManualClock('2026-11-25T12:00:00Z') });
    const o = await a.token({ name: 'alice', role: 'owner', team: 'growth' });
    const w = await a.token({ name: 'web', role: 'service', service: 'web' });
    owner = apiFor(() => a.base, o.secret);
    webA = apiFor(() => a.base, w.secret);
    webB = apiFor(() => b.base, w.secret);
    expect((await owner.post('/v1/intents', simpleIntent('before-outage'))).status).toBe(201);
    await until('B serves the flags A wrote', async () => Boolean((await webB.get('/v1/services/web/flags')).body?.flags?.before_outage_flag), 2000);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  it('reads keep serving the last state, writes answer 503 store_unavailable, /readyz says so; all recover by themselves', async () => {
    const flagsBefore = (await webB.get('/v1/services/web/flags')).body;
    await cluster.halt();
    try {
      // Reads: the snapshot, on both instances, flags and OFREP alike.
      for (const web of [webA, webB]) {
        const flags = await web.get('/v1/services/web/flags');
        expect(flags.status).toBe(200);
        expect(flags.body).toEqual(flagsBefore);
        const ofrep = await web.post('/v1/services/web/ofrep/v1/evaluate/flags/before_outage_flag', { context: { targetingKey: 'u1' } });
        expect(ofrep.status).toBe(200);
      }
      // Writes: 503 store_unavailable, problem+json, nothing kept (checked after recovery).
      const refused = await owner.post('/v1/intents', simpleIntent('during-outage'));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ code: 'store_unavailable', status: 503 });
      // Readiness reports the database; the process is still there to answer it.
      for (const s of [a, b]) {
        const ready = await s.api.get('/readyz');
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({ status: 'not_ready', checks: { database: false, policy: true } });
      }
    } finally {
      await cluster.resume();
    }
    // Recovery, with nobody restarting anything: the pool reconnects...
    await until('A is ready again', async () => (await a.api.get('/readyz')).status === 200, 15_000);
    await until('a write on A succeeds again', async () => (await owner.post('/v1/intents', simpleIntent('after-outage'))).status === 201, 15_000);
    // ...nothing of the refused write was kept...
    expect((await owner.get('/v1/intents/during-outage')).status).toBe(404);
    // ...and B's LISTEN is back (B has no periodic catch-up): B serves A's new write.
    await until('B serves the write A made after the outage', async () => Boolean((await webB.get('/v1/services/web/flags')).body?.flags?.after_outage_flag), 3000);
    expect((await b.api.get('/readyz')).status).toBe(200);
  });
});

describe('the periodic catch-up', () => {
  it('tells the external-change listeners every catchUpMs, with no notification at all', async () => {
    const db = await createTestDatabase(postgresAdminUrl(), 'catchup');
    const storage = await openPostgresStorage({ url: db.url, catchUpMs: 50 });
    try {
      let calls = 0;
      storage.onExternalChange(() => calls++);
      await until('three catch-ups', async () => calls >= 3, 2000);
    } finally {
      await storage.close();
      await db.drop();
    }
  });
});
