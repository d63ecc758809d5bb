import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, testEngine, type Api, type TestServer } from '../helpers/harness.js';

/** These two reach into SQLite's file; on PostgreSQL the same refusal is in test/storage/conformance.test.ts. */
const sqliteOnly = it.skipIf(testEngine() === 'postgres');

describe('the audit trail', () => {
  let s: TestServer;
  let owner: Api;

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    for (const key of ['audit-one', 'audit-two', 'audit-three']) {
      s.clock.advance(60_000);
      expect((await owner.post('/v1/intents', simpleIntent(key))).status).toBe(201);
    }
    await s.api.post('/v1/intents/audit-two/actions', { action: 'pause', reason: 'checking the trail' });
  });
  afterAll(async () => s.close());

  it('filters by experiment, actor, type, service and time, and pages with a cursor', async () => {
    const two = (await s.api.get('/v1/audit?experiment=audit-two')).body.events;
    expect(two.map((e: any) => e.type)).toEqual(['submitted', 'decided', 'started', 'paused']);
    expect(two.every((e: any) => e.experiment === 'audit-two')).toBe(true);
    const paused = (await s.api.get('/v1/audit?type=paused')).body.events;
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ actor: 'bootstrap-admin', data: { reason: 'checking the trail', from_state: 'running', to_state: 'paused' } });
    const byAlice = (await s.api.get('/v1/audit?actor=alice')).body.events;
    expect(byAlice.length).toBe(9);
    const web = (await s.api.get('/v1/audit?service=web&type=started')).body.events;
    expect(web.map((e: any) => e.experiment)).toEqual(['audit-one', 'audit-two', 'audit-three']);
    expect((await s.api.get('/v1/audit?service=payments')).body.events).toEqual([]);
    const window = (await s.api.get('/v1/audit?type=submitted&from=2026-11-25T12:01:30Z&to=2026-11-25T12:02:30Z')).body.events;
    expect(window.map((e: any) => e.experiment)).toEqual(['audit-two']);

    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: any = (await s.api.get(`/v1/audit?limit=4${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.events.length).toBeLessThanOrEqual(4);
      seen.push(...page.events.map((e: any) => e.id));
      cursor = page.next_cursor;
    }
    const all = (await s.api.get('/v1/audit?limit=1000')).body.events.map((e: any) => e.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('is chained: every event carries the hash of the one before, and the chain verifies', async () => {
    const items = (await s.api.get('/v1/audit?limit=1000')).body.events;
    for (let i = 1; i < items.length; i++) expect(items[i].prev_hash).toBe(items[i - 1].hash);
    const verify = await s.api.get('/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, events: items.length, head: items.at(-1).hash });
    expect(verify.body.witness).toBeUndefined();
  });

  it('?head= checks that a head recorded earlier is still on the chain; a malformed head or another parameter is 400 and nothing else', async () => {
    const items = (await s.api.get('/v1/audit?limit=1000')).body.events;
    const first = items[0];
    const ok = await s.api.get(`/v1/audit/verify?head=${first.hash}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, events: items.length, witness: { head: first.hash, found: true, seq: first.seq } });
    const unknown = await s.api.get(`/v1/audit/verify?head=${'a'.repeat(64)}`);
    expect(unknown.body).toMatchObject({ ok: false, events: items.length, witness: { found: false, seq: null } });
    for (const query of ['head=ABC', `head=${first.hash.toUpperCase()}`, `head=${first.hash}&head=${first.hash}`, 'heads=1']) {
      const bad = await s.api.get(`/v1/audit/verify?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.code, query).toBe('validation_failed');
    }
  });

  sqliteOnly('refuses UPDATE and DELETE in the database itself', () => {
    expect(() => s.container.db.prepare("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => s.container.db.prepare('DELETE FROM audit_events WHERE seq = 1').run()).toThrow(/append-only/);
  });

  sqliteOnly('catches a row changed behind the API (triggers dropped by an attacker with file access)', async () => {
    const db = s.container.db;
    const victim = db.prepare("SELECT seq FROM audit_events WHERE type = 'paused'").pluck().get() as number;
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare("UPDATE audit_events SET data = json_set(data, '$.reason', 'nothing to see') WHERE seq = ?").run(victim);
    const verify = await s.api.get('/v1/audit/verify');
    expect(verify.body.ok).toBe(false);
    expect(verify.body.broken_at).toMatchObject({ seq: victim, reason: 'hash does not match the event content' });
  });
});
