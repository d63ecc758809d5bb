import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

describe('Idempotency-Key', () => {
  let s: TestServer;
  let owner: Api;
  const count = (table: string) => s.count(table);

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => s.close());

  it('a retried submission returns the first answer and stores nothing more', async () => {
    const first = await owner.post('/v1/intents', simpleIntent('retry-me'), { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    const before = { versions: await count('intent_versions'), decisions: await count('decisions'), audit: await count('audit_events'), flags: await count('flag_documents') };
    const retry = await owner.post('/v1/intents', simpleIntent('retry-me'), { 'idempotency-key': 'k-1' });
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect({ versions: await count('intent_versions'), decisions: await count('decisions'), audit: await count('audit_events'), flags: await count('flag_documents') }).toEqual(before);
    // without the key the same body is a conflict, proving the replay did not just re-run it
    expect((await owner.post('/v1/intents', simpleIntent('retry-me'))).body.code).toBe('intent_exists');
  });

  // Each test makes the first use of its own keys and its own intents: none depends on another
  // having run first (they pass shuffled, and one by one with -t).
  it('the same key with a different body is refused with 422', async () => {
    expect((await owner.post('/v1/intents', simpleIntent('first-body'), { 'idempotency-key': 'k-2' })).status).toBe(201);
    const res = await owner.post('/v1/intents', simpleIntent('other-body'), { 'idempotency-key': 'k-2' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    expect((await s.api.get('/v1/intents/other-body')).status).toBe(404);
  });

  it('keys belong to one token: another token may use the same key', async () => {
    expect((await owner.post('/v1/intents', simpleIntent('alices-test'), { 'idempotency-key': 'k-3' })).status).toBe(201);
    const other = await s.token({ name: 'bob', role: 'owner', team: 'growth' });
    const res = await other.post('/v1/intents', simpleIntent('bobs-test'), { 'idempotency-key': 'k-3' });
    expect(res.status).toBe(201);
  });

  it('replays actions and approvals too, and a 4xx answer as well', async () => {
    expect((await owner.post('/v1/intents', simpleIntent('pause-me'))).body.state).toBe('running');
    const action = { action: 'pause', reason: 'once' };
    const a = await owner.post('/v1/intents/pause-me/actions', action, { 'idempotency-key': 'pause-1' });
    expect(a.status).toBe(200);
    const version = (await s.api.get('/v1/services/web/flags')).body.version;
    const b = await owner.post('/v1/intents/pause-me/actions', action, { 'idempotency-key': 'pause-1' });
    expect(b.status).toBe(200);
    expect(b.text).toBe(a.text);
    expect((await s.api.get('/v1/services/web/flags')).body.version).toBe(version);
    const bad = await owner.post('/v1/intents/nope/actions', action, { 'idempotency-key': 'bad-1' });
    const badAgain = await owner.post('/v1/intents/nope/actions', action, { 'idempotency-key': 'bad-1' });
    expect(bad.status).toBe(404);
    expect(badAgain.text).toBe(bad.text);
  });

  it('the answer of a keyed write shows the write: the handler reads through its unit, before the commit', async () => {
    expect((await owner.post('/v1/intents', simpleIntent('pause-and-see'))).body.state).toBe('running');
    const a = await owner.post('/v1/intents/pause-and-see/actions', { action: 'pause', reason: 'see it' }, { 'idempotency-key': 'see-1' });
    expect(a.status).toBe(200);
    expect(a.body.state).toBe('paused');
    expect((await owner.get('/v1/intents/pause-and-see')).body.state).toBe('paused');
  });

  it('a malformed key is a 400', async () => {
    const res = await owner.post('/v1/intents', simpleIntent('bad-key'), { 'idempotency-key': 'x'.repeat(300) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});
