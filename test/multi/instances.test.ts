/**
 * SPEC §11, issue #16: three Switchyard instances (three containers, three HTTP servers on
 * loopback, a ManualClock each) on ONE real PostgreSQL database behave as one service.
 * docs/deployment.md describes what these tests pin.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFlagSync } from '../../src/app.js';
import { streamTicketKey } from '../../src/access/stream-ticket.js';
import { ManualClock } from '../../src/clock.js';
import { syncProtoPath } from '../../src/sync/flag-sync-service.js';
import { openSse } from '../fixtures/sse-client.js';
import { apiFor, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';
import { errorEvents, flagOf, guardedIntent, placer, sendTelemetry } from '../helpers/rollout-telemetry.js';

const START = '2026-11-25T12:00:00Z';

/** Polls `probe` every 10 ms until it returns true; fails after `boundMs` (never a sleep as synchronisation). */
async function until(what: string, probe: () => Promise<boolean>, boundMs = 2000): Promise<void> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    if (await probe()) return;
    if (performance.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const known = (s: TestServer, secret: string) => until(`${s.base} knows the token`, async () => (await apiFor(() => s.base, secret).get('/v1/whoami')).status === 200);
/** What every instance is configured with (SWITCHYARD_STREAM_TICKET_SECRET in production). */
const TICKET_SECRET = 'the-same-secret-on-every-instance-0123456789';

describe('three instances on one PostgreSQL behave as one', () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  let all: TestServer[];
  /** An owner's token, usable on every instance (same database, token snapshots reloaded by NOTIFY). */
  let owner: { secret: string; id: string };
  const as = (s: TestServer, secret: string): Api => apiFor(() => s.base, secret);

  beforeAll(async () => {
    db = await createTestDatabase(postgresAdminUrl(), 'multi');
    const start = () =>
      startServer({ databaseUrl: db.url, clock: new ManualClock(START), app: { streamTicketKey: streamTicketKey(TICKET_SECRET) } });
    // One after the other: the first migrates; the others find the schema there.
    a = await start();
    b = await start();
    c = await start();
    all = [a, b, c];
    owner = await a.token({ name: 'alice', role: 'owner', team: 'growth' });
    // A token made on A is known on B and C once their snapshots reloaded (NOTIFY): bounded wait.
    for (const s of [b, c]) await known(s, owner.secret);
  });

  afterAll(async () => {
    for (const s of all ?? []) await s.close();
    await db?.drop();
  });

  it('a write on A is read on B and C, and reaches an SSE flags subscriber of C within 1 s', async () => {
    const web = await a.token({ name: 'web-reader', role: 'service', service: 'web' });
    await known(c, web.secret);
    const stream = await openSse(`${c.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${web.secret}` });
    // The change feed's stream on C too, from the feed's current end.
    const feed = (await c.api.get('/v1/events?after=0&limit=1000')).body.events as { id?: number; seq?: number }[];
    const after = feed.length ? (feed.at(-1)!.seq ?? feed.at(-1)!.id ?? 0) : 0;
    const changes = await openSse(`${c.base}/v1/events/stream?service=web&after=${after}`, { authorization: `Bearer ${web.secret}` });
    try {
      expect(changes.status, changes.text).toBe(200);
      expect(stream.status).toBe(200);
      const first = await stream.nextEvent(2000); // the current document
      const created = await as(a, owner.secret).post('/v1/intents', simpleIntent('multi-write'));
      expect(created.status).toBe(201);
      // Reads that go to the database: at once, with no wait.
      for (const s of [b, c]) {
        const read = await as(s, owner.secret).get('/v1/intents/multi-write');
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ key: 'multi-write', state: created.body.state });
      }
      // The subscriber on C: the next event is the new document, within one second (SPEC §11).
      const next = await stream.nextEvent(1000);
      expect(next.id).not.toBe(first.id);
      expect(JSON.parse(next.data).flags).toHaveProperty('multi_write_flag');
      const change = JSON.parse((await changes.nextEvent(1000)).data);
      expect(change).toMatchObject({ service: 'web', experiment: 'multi-write' });
      // The flags snapshots of B and C hold it now too (their documents equal A's, ETag included).
      const onA = await as(a, web.secret).get('/v1/services/web/flags');
      for (const s of [b, c]) {
        const there = await as(s, web.secret).get('/v1/services/web/flags');
        expect(there.headers.get('etag')).toBe(onA.headers.get('etag'));
        expect(there.body).toEqual(onA.body);
      }
    } finally {
      stream.close();
      changes.close();
    }
  });

  it('the same new key sent to A and B at once is created once; the other answers intent_exists', async () => {
    for (let i = 0; i < 5; i++) {
      const key = `race-${i}`;
      const answers = await Promise.all([a, b].map((s) => as(s, owner.secret).post('/v1/intents', simpleIntent(key))));
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(answers.find((r) => r.status === 409)!.body).toMatchObject({ code: 'intent_exists' });
      // One submission recorded, one version.
      const audit = (await c.api.get(`/v1/audit?experiment=${key}&type=submitted`)).body;
      expect(audit.events ?? audit.items).toHaveLength(1);
    }
  });

  it('a token revoked on A ends its flag streams on B and C, and is refused there', async () => {
    const svc = await a.token({ name: 'web-revoked', role: 'service', service: 'web' });
    for (const s of [b, c]) await known(s, svc.secret);
    const streams = await Promise.all([b, c].map((s) => openSse(`${s.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${svc.secret}` })));
    try {
      for (const st of streams) expect(st.status).toBe(200);
      expect((await a.api.del(`/v1/tokens/${svc.id}`)).status).toBe(204);
      const bound = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('a stream on another instance outlived its revoked token by 1 s')), 1000).unref());
      await Promise.race([Promise.all(streams.map((st) => st.ended)), bound]);
      for (const s of [b, c]) expect((await as(s, svc.secret).get('/v1/services/web/flags')).status).toBe(401);
    } finally {
      for (const st of streams) st.close();
    }
  });

  it('an OFREP event-stream ticket issued by A is taken by B (a shared ticket key)', async () => {
    const web = await a.token({ name: 'web-ofrep', role: 'service', service: 'web' });
    await known(b, web.secret);
    const bulk = await as(a, web.secret).post('/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u1' } });
    expect(bulk.status).toBe(200);
    const uri = bulk.body.eventStreams[0].endpoint.requestUri as string;
    const stream = await openSse(`${b.base}${uri}`);
    try {
      expect(stream.status, stream.text).toBe(200);
    } finally {
      stream.close();
    }
  });

  it('a schedule due while all three run fires once', async () => {
    const created = await as(b, owner.secret).post('/v1/intents', simpleIntent('multi-scheduled', { schedule: { start: '2026-12-01T00:00:00Z' } }));
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('scheduled');
    for (const s of all) s.clock.set('2026-12-01T00:00:01Z');
    try {
      // Each instance's scheduler ticks at the same moment, twice over.
      const ticks = await Promise.all([...all, ...all].map((s) => s.container.lifecycle.tick()));
      expect(ticks.flatMap((t) => t.started).filter((k) => k === 'multi-scheduled')).toEqual(['multi-scheduled']);
      const audit = (await a.api.get('/v1/audit?experiment=multi-scheduled&type=started')).body;
      expect(audit.events ?? audit.items).toHaveLength(1);
      expect((await as(c, owner.secret).get('/v1/intents/multi-scheduled')).body.state).toBe('running');
    } finally {
      for (const s of all) s.clock.set(START);
    }
  });

  it('a guardrail trip is acted on once while the three loops tick together', async () => {
    const key = 'multi-guarded';
    const svc = await a.token({ name: 'recs', role: 'service', service: 'recommendations' });
    const created = await as(a, owner.secret).post('/v1/intents', guardedIntent(key, { stages: [{ exposure: 100 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] }));
    expect(created.status).toBe(201);
    const svcA = as(a, svc.secret);
    const flag = flagOf(key);
    await sendTelemetry(svcA, 'recommendations', errorEvents({ units: 6000, place: await placer(svcA, 'recommendations', flag), flag, base: 0.05, ratio: 3 }));
    for (const s of all) s.clock.advance(10_000);
    try {
      const ticks = await Promise.all([...all, ...all].map((s) => s.container.guardrails.tick()));
      expect(ticks.flatMap((t) => t.tripped)).toEqual([key]);
      for (const type of ['guardrail_tripped', 'paused']) {
        const audit = (await c.api.get(`/v1/audit?experiment=${key}&type=${type}`)).body;
        expect(audit.events ?? audit.items, type).toHaveLength(1);
      }
      expect((await as(b, owner.secret).get(`/v1/intents/${key}`)).body.state).toBe('paused');
    } finally {
      for (const s of all) s.clock.set(START);
    }
  });

  it('an auto-advance due while all three run happens once', async () => {
    const key = 'multi-auto';
    const rollout = { stages: [{ exposure: 1, hold: 'PT30M' }, { exposure: 6 }], auto_advance: true };
    const created = await as(a, owner.secret).post('/v1/intents', simpleIntent(key, { rollout, exposure: 6 }));
    expect(created.status, created.text).toBe(201);
    expect(created.body.state).toBe('running');
    for (const s of all) s.clock.advance(30 * 60_000);
    try {
      const ticks = await Promise.all([...all, ...all].map((s) => s.container.lifecycle.tick()));
      expect(ticks.flatMap((t) => t.advanced).filter((k) => k === key)).toEqual([key]);
      const audit = (await a.api.get(`/v1/audit?experiment=${key}&type=advanced`)).body;
      expect(audit.events ?? audit.items).toHaveLength(1);
      expect((await as(c, owner.secret).get(`/v1/intents/${key}`)).body.rollout).toMatchObject({ stage: 1, status: 'complete' });
    } finally {
      for (const s of all) s.clock.set(START);
    }
  });

  it('a gRPC sync stream and an OFREP event stream on C see a write made on A within 1 s', async () => {
    const web = await a.token({ name: 'web-streams', role: 'service', service: 'web' });
    const sync = buildFlagSync(c.container, c.built.app);
    const def = protoLoader.loadSync(syncProtoPath(), { keepCase: true, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const client = new pkg.flagd.sync.v1.FlagSyncService(`127.0.0.1:${await sync.listen('127.0.0.1', 0)}`, grpc.credentials.createInsecure()) as grpc.Client & {
      SyncFlags(req: object, md: grpc.Metadata): grpc.ClientReadableStream<{ flag_configuration: string }>;
    };
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${web.secret}`);
    const call = client.SyncFlags({ selector: 'web' }, md);
    const messages: string[] = [];
    let heard: (() => void) | undefined;
    call.on('data', (r: { flag_configuration: string }) => {
      messages.push(r.flag_configuration);
      heard?.();
    });
    call.on('error', () => undefined);
    /** Resolves when the stream has sent `n` messages; rejects after `ms` (an event awaited, not a sleep). */
    const messageCount = (n: number, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the gRPC sync stream on C sent ${messages.length} messages, not ${n}, within ${ms} ms`)), ms);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve();
          }
        };
        heard = check;
        check();
      });
    const bulk = await as(c, web.secret).post('/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u1' } });
    expect(bulk.status).toBe(200);
    const events = await openSse(`${c.base}${bulk.body.eventStreams[0].endpoint.requestUri as string}`);
    try {
      expect(events.status, events.text).toBe(200);
      await messageCount(1, 2000); // the state as of now
      const first = await events.nextEvent(2000); // the current version
      expect((await as(a, owner.secret).post('/v1/intents', simpleIntent('multi-streams'))).status).toBe(201);
      // Within one second of A's acknowledgement (SPEC §11): both streams of C.
      const [next] = await Promise.all([events.nextEvent(1000), messageCount(2, 1000)]);
      expect(Number(next.id)).toBeGreaterThan(Number(first.id));
      expect(JSON.parse(next.data)).toMatchObject({ type: 'refetchEvaluation', etag: (await as(a, web.secret).get('/v1/services/web/flags')).headers.get('etag') });
      expect(JSON.parse(messages.at(-1)!).flags).toHaveProperty('multi_streams_flag');
    } finally {
      events.close();
      call.cancel();
      client.close();
      await sync.close();
    }
  });

  it('1,000 concurrent writes spread over the three leave one audit chain that verifies, the same on each', async () => {
    const before = (await a.api.get('/v1/audit/verify')).body.events as number;
    const N = 1000;
    let next = 0;
    const statuses: number[] = [];
    // 48 clients at a time, round-robin over the instances: token creations, each an audited unit.
    await Promise.all(
      Array.from({ length: 48 }, async () => {
        for (let i = next++; i < N; i = next++) {
          const s = all[i % 3]!;
          statuses.push((await s.api.post('/v1/tokens', { name: `burst-${i}`, role: 'operator' })).status);
        }
      }),
    );
    expect(statuses.filter((x) => x !== 201)).toEqual([]);
    const verified = await Promise.all(all.map(async (s) => (await s.api.get('/v1/audit/verify')).body));
    for (const v of verified) expect(v).toMatchObject({ ok: true, events: before + N, head: verified[0].head });
    // 13 s alone on this 2-core machine; the bound leaves room for a loaded CI runner (a budget, not an assertion).
  }, 120_000);
});
