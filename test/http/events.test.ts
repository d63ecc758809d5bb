import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../fixtures/http.js';
import { openSse } from '../fixtures/sse-client.js';
import { ADMIN_TOKEN, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

describe('the change feed', () => {
  let s: TestServer;
  let owner: Api;

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    await owner.post('/v1/intents', simpleIntent('feed-one'));
    await owner.post('/v1/intents', simpleIntent('feed-two', { services: [{ service: 'web', flag: 'two' }, { service: 'search', flag: 'two' }] }));
    await owner.post('/v1/intents/feed-one/actions', { action: 'pause', reason: 'feed test' });
  });
  afterAll(async () => s.close());

  it('lists every flags change with its provenance, in order', async () => {
    const { events, next_cursor } = (await owner.get('/v1/events')).body;
    expect(events.map((e: any) => [e.service, e.version, e.type, e.experiment])).toEqual([
      ['web', 1, 'started', 'feed-one'],
      ['search', 1, 'started', 'feed-two'],
      ['web', 2, 'started', 'feed-two'],
      ['web', 3, 'paused', 'feed-one'],
    ]);
    const paused = events[3];
    expect(paused).toMatchObject({ experiment_version: 1, actor: 'alice' });
    expect(paused.decision_id).toMatch(/^d_/);
    expect(paused.policy_revision).toMatch(/^sha256:/);
    expect(paused.etag).toBe((await owner.get('/v1/services/web/flags')).headers.get('etag'));
    expect(next_cursor).toBe(String(paused.id));
  });

  it('resumes after a cursor and gives each event once', async () => {
    const all = (await owner.get('/v1/events')).body.events;
    const seen = [];
    let cursor = '0';
    for (;;) {
      const page = (await owner.get(`/v1/events?after=${cursor}&limit=1`)).body;
      if (page.events.length === 0) break;
      seen.push(...page.events);
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(all);
    expect((await owner.get(`/v1/events?after=${all.at(-1).id}`)).body.events).toEqual([]);
  });

  it('a service token sees only its own service, and asking for another is 403 forbidden_service', async () => {
    const search = await s.token({ name: 'search-svc', role: 'service', service: 'search' });
    for (const url of ['/v1/events', '/v1/events?service=search']) {
      const own = await search.get(url);
      expect(own.status).toBe(200);
      expect(own.body.events.map((e: any) => e.service)).toEqual(['search']);
    }
    expectProblem(await search.get('/v1/events?service=web'), 403, 'forbidden_service');
    const stream = await openSse(`${s.base}/v1/events/stream?service=web`, { authorization: `Bearer ${search.secret}` });
    expectProblem({ status: stream.status, headers: stream.headers, body: JSON.parse(stream.text), text: stream.text }, 403, 'forbidden_service');
    const own = await openSse(`${s.base}/v1/events/stream?service=search`, { authorization: `Bearer ${search.secret}` });
    try {
      expect(own.status).toBe(200);
      expect(JSON.parse((await own.nextEvent()).data)).toMatchObject({ service: 'search' });
    } finally {
      own.close();
    }
  });

  it('the SSE form sends the backlog after Last-Event-ID, then live changes, each once', async () => {
    const all = (await owner.get('/v1/events')).body.events;
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const sse = await openSse(`${s.base}/v1/events/stream`, { ...auth, 'last-event-id': String(all[1].id) });
    try {
      expect(sse.status).toBe(200);
      const backlog = [await sse.nextEvent(), await sse.nextEvent()];
      expect(backlog.map((e) => Number(e.id))).toEqual([all[2].id, all[3].id]);
      expect(JSON.parse(backlog[1]!.data)).toEqual(all[3]);
      await owner.post('/v1/intents/feed-one/actions', { action: 'resume', reason: 'live' });
      const live = JSON.parse((await sse.nextEvent()).data);
      expect(live).toMatchObject({ service: 'web', version: 4, type: 'resumed', experiment: 'feed-one', actor: 'alice' });
      expect(live.id).toBe(all[3].id + 1);
      expect(sse.events).toHaveLength(3);
    } finally {
      sse.close();
    }
    const filtered = await openSse(`${s.base}/v1/events/stream?service=search`, auth);
    try {
      const first = JSON.parse((await filtered.nextEvent()).data);
      expect(first).toMatchObject({ service: 'search', experiment: 'feed-two' });
    } finally {
      filtered.close();
    }
  });
});
