import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { strongEtag } from '../../src/flags/flag-state-service.js';
import { migrations } from '../../src/storage/sqlite/migrations.js';
import { openSse } from '../fixtures/sse-client.js';
import { dumpText } from '../helpers/db-dump.js';
import { ADMIN_TOKEN, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The versions of the search service whose document body is still stored. */
const bodies = (server: TestServer) =>
  server.container.db
    .prepare(
      `SELECT d.version FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq
        WHERE d.service = 'search' AND coalesce(b.document, d.document) <> '' ORDER BY d.version`,
    )
    .pluck()
    .all();

describe('the cap on a service flags document (SWITCHYARD_MAX_DOCUMENT_BYTES)', () => {
  const CAP = 20_000;
  let s: TestServer;
  let owner: Api;
  let sre: Api;
  let operator: Api;

  beforeAll(async () => {
    s = await startServer({ storage: { maxDocumentBytes: CAP } });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'olga', role: 'operator' });
  });
  afterAll(async () => s.close());

  /** `pad` more bytes of flag values than with 0, spread over 4 variants (a value is at most 8192 bytes). */
  const padded = (key: string, pad: number, overrides: Record<string, unknown> = {}) =>
    simpleIntent(key, {
      variants: [
        { key: 'control', weight: 50, value: 'x' },
        ...[0, 1, 2, 3].map((i) => ({ key: `t${i}`, weight: 10, value: 'y' + 'a'.repeat(Math.floor(pad / 4) + (i < pad % 4 ? 1 : 0)) })),
      ],
      ...overrides,
    });

  it('a document of exactly the cap is stored and served; one byte more is refused at submission and nothing is stored', async () => {
    expect((await owner.post('/v1/intents', padded('pad-test', 0))).body.state).toBe('running');
    const start = bytes((await owner.get('/v1/services/web/flags')).text);

    // v2 differs from v1 only in the padding; every other field keeps its length.
    const fits = await owner.put('/v1/intents/pad-test', padded('pad-test', CAP - start));
    expect(fits.status).toBe(200);
    expect(fits.body.status).toBe('approved');
    const atCap = await owner.get('/v1/services/web/flags');
    expect(atCap.body.version).toBe(2);
    expect(bytes(atCap.text)).toBe(CAP);

    const before = dumpText(s.container.db);
    const over = await owner.put('/v1/intents/pad-test', padded('pad-test', CAP - start + 1));
    expect(over.status).toBe(409);
    expect(over.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(over.body).toMatchObject({ code: 'document_too_large', service: 'web', bytes: CAP + 1, current_bytes: CAP, limit: CAP });
    expect(over.body.detail).toContain('web');
    expect(dumpText(s.container.db)).toBe(before);
    expect((await owner.get('/v1/intents/pad-test')).body.version).toBe(2);
  });

  it('the kill switch works on a document at the cap (pause adds a byte per flag); resume shrinks it back', async () => {
    const paused = await operator.post('/v1/intents/pad-test/actions', { action: 'pause', reason: 'kill switch' });
    expect(paused.status).toBe(200);
    const doc = await owner.get('/v1/services/web/flags');
    expect(doc.body.flags.pad_test_flag.state).toBe('DISABLED');
    expect(bytes(doc.text)).toBe(CAP + 1);
    expect((await operator.post('/v1/intents/pad-test/actions', { action: 'resume', reason: 'fixed' })).status).toBe(200);
    expect(bytes((await owner.get('/v1/services/web/flags')).text)).toBe(CAP);
  });

  it('audit events of flag changes stay small: they name versions, never embed a document', async () => {
    const sizes = s.container.db
      .prepare("SELECT max(length(data)) FROM audit_events WHERE type IN ('started', 'paused', 'resumed')")
      .pluck()
      .get() as number;
    expect(sizes).toBeLessThan(1000);
  });

  it('an intent still owed approvals is refused at submission when its own flags would not fit', async () => {
    const res = await owner.post('/v1/intents', padded('huge-pending', CAP, { services: [{ service: 'checkout-api', flag: 'huge' }], exposure: 1 }));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'document_too_large', service: 'checkout-api', limit: CAP });
    expect((await owner.get('/v1/intents/huge-pending')).status).toBe(404);
  });

  it('an approval that would make a version live past the cap is refused, and the approval is not stored', async () => {
    const third = Math.floor(CAP * 0.6);
    const a = await owner.post('/v1/intents', padded('fill-a', third, { services: [{ service: 'checkout-api', flag: 'fill_a' }], exposure: 1 }));
    const b = await owner.post('/v1/intents', padded('fill-b', third, { services: [{ service: 'checkout-api', flag: 'fill_b' }], exposure: 1 }));
    expect([a.body.status, b.body.status]).toEqual(['pending_approval', 'pending_approval']);
    expect((await sre.post('/v1/intents/fill-b/approvals', {})).body.state).toBe('running');

    const refused = await sre.post('/v1/intents/fill-a/approvals', {});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'document_too_large', service: 'checkout-api', limit: CAP });
    const got = (await owner.get('/v1/intents/fill-a')).body;
    expect(got).toMatchObject({ status: 'pending_approval', state: 'draft', approvals: [] });
    const flags = (await owner.get('/v1/services/checkout-api/flags')).body;
    expect(Object.keys(flags.flags)).toEqual(['fill_b']);
  });

  it('a scheduled start that no longer fits stays scheduled, and starts at a later tick once there is room', async () => {
    const big = Math.floor(CAP * 0.6);
    const later = await owner.post('/v1/intents', padded('sched-a', big, { services: [{ service: 'search', flag: 'sched_a' }], schedule: { start: '2026-12-01T00:00:00Z' } }));
    expect(later.body.state).toBe('scheduled');
    expect((await owner.post('/v1/intents', padded('fill-c', big, { services: [{ service: 'search', flag: 'fill_c' }] }))).body.state).toBe('running');
    s.clock.set('2026-12-01T00:00:00Z');
    const first = await s.container.lifecycle.tick();
    expect(first).toMatchObject({ started: [], blocked: ['sched-a'] });
    expect((await owner.get('/v1/intents/sched-a')).body.state).toBe('scheduled');
    expect(Object.keys((await owner.get('/v1/services/search/flags')).body.flags)).toEqual(['fill_c']);

    // Room is made (the other experiment completes): the next tick starts it.
    expect((await operator.post('/v1/intents/fill-c/actions', { action: 'complete', reason: 'done' })).status).toBe(200);
    expect(await s.container.lifecycle.tick()).toMatchObject({ started: ['sched-a'], blocked: [] });
    expect(Object.keys((await owner.get('/v1/services/search/flags')).body.flags)).toEqual(['sched_a']);
  });
});

describe('flags-document history retention (SWITCHYARD_FLAG_HISTORY_VERSIONS)', () => {
  let s: TestServer;
  let operator: Api;
  const rows = () => s.container.db.prepare("SELECT count(*) FROM flag_documents WHERE service = 'search'").pluck().get();

  beforeAll(async () => {
    // An own folder, so that the restart below (another retention) finds the same file.
    s = await startServer({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-retention-')), storage: { historyVersions: 3 } });
    operator = await s.token({ name: 'olga', role: 'operator' });
    await s.api.post('/v1/intents', simpleIntent('churn', { services: [{ service: 'search', flag: 'churn' }] }));
    for (let i = 0; i < 10; i++) {
      expect((await operator.post('/v1/intents/churn/actions', { action: 'pause', reason: `p${i}` })).status).toBe(200);
      expect((await operator.post('/v1/intents/churn/actions', { action: 'resume', reason: `r${i}` })).status).toBe(200);
    }
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) await s.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  it('keeps the latest body and the 3 before it; every version keeps its change-feed entry', async () => {
    expect((await s.api.get('/v1/services/search/flags')).body.version).toBe(21);
    expect(bodies(s)).toEqual([18, 19, 20, 21]);
    expect(rows()).toBe(21);
    const feed = (await s.api.get('/v1/events?after=0&service=search')).body.events as { version: number }[];
    expect(feed.map((e) => e.version)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('a stream resuming from a pruned version gets the current document at once (SPEC §7)', async () => {
    const current = await s.api.get('/v1/services/search/flags');
    const stream = await openSse(`${s.base}/v1/services/search/flags/stream`, { authorization: `Bearer ${ADMIN_TOKEN}`, 'last-event-id': '2' });
    try {
      const first = await stream.nextEvent();
      expect(first.id).toBe('21');
      expect(first.data).toBe(current.text);
    } finally {
      stream.close();
    }
  });

  it('the table refuses any other change: rows cannot be deleted, and nothing but an old body may be emptied', () => {
    const db = s.container.db;
    expect(() => db.prepare("DELETE FROM flag_documents WHERE service = 'search' AND version = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE flag_documents SET etag = 'x' WHERE service = 'search' AND version = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE flag_documents SET document = '{}' WHERE service = 'search' AND version = 1").run()).toThrow(/append-only/);
  });

  it('a lower retention at the next start prunes the history already there', async () => {
    await s.close();
    closed = true;
    const again = await startServer({ dir: s.dir, storage: { historyVersions: 1 } });
    try {
      expect(bodies(again)).toEqual([20, 21]);
      expect((await again.api.get('/v1/services/search/flags')).body.version).toBe(21);
    } finally {
      await again.close();
    }
  });
});

describe('history written by a release without retention', () => {
  it('is pruned in place at the first start; the latest document is served unchanged', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-legacy-'));
    const old = new BetterSqlite3(path.join(dir, 'switchyard.db'));
    old.exec(migrations[0]!.sql);
    old.exec(migrations[1]!.sql);
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
      INSERT INTO schema_migrations VALUES (1, 'core', '2026-01-01T00:00:00Z'), (2, 'idempotency', '2026-01-01T00:00:00Z')`);
    const insert = old.prepare('INSERT INTO flag_documents (service, version, document, etag, created_at, cause) VALUES (?, ?, ?, ?, ?, ?)');
    let last = '';
    for (let v = 1; v <= 10; v++) {
      last = JSON.stringify({ service: 'search', version: v, flags: {} });
      insert.run('search', v, last, strongEtag(last), '2026-01-01T00:00:00.000Z', '{"type":"started"}');
    }
    old.close();
    const s = await startServer({ dir, storage: { historyVersions: 3 } });
    try {
      expect(bodies(s)).toEqual([7, 8, 9, 10]);
      const served = await s.api.get('/v1/services/search/flags');
      expect(served.text).toBe(last);
      expect(served.headers.get('etag')).toBe(strongEtag(last));
      expect((await s.api.get('/v1/events?after=0&service=search')).body.events).toHaveLength(10);
    } finally {
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Idempotency-Key records expire after 24 h', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s.close());

  it('replays within a day; after it the key is free again and the expired record is deleted', async () => {
    const key = { 'idempotency-key': 'daily' };
    expect((await s.api.post('/v1/intents:evaluate', simpleIntent('idem-a'), key)).status).toBe(200);
    s.clock.advance(24 * 3600_000 - 1);
    expect((await s.api.post('/v1/intents:evaluate', simpleIntent('idem-b'), key)).body.code).toBe('idempotency_key_reused');
    s.clock.advance(1);
    const fresh = await s.api.post('/v1/intents:evaluate', simpleIntent('idem-b'), key);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(fresh.body.intent.key).toBe('idem-b');
    const stored = s.container.db.prepare('SELECT created_at FROM idempotency_keys').pluck().all();
    expect(stored).toEqual([s.clock.now().toISOString()]);
  });
});
