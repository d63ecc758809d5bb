/**
 * flagd's gRPC sync protocol served by Switchyard (SPEC §11): `flagd.sync.v1.FlagSyncService` on a
 * real gRPC server on loopback, called with a grpc-js client generated from the same vendored proto
 * flagd's own client is generated from. The flagd daemon itself: flagd-daemon-sync.test.ts.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFlagSync, streamLeasesOf } from '../../src/app.js';
import { FlagSyncServer, syncProtoPath } from '../../src/sync/flag-sync-service.js';
import { openSse } from '../fixtures/sse-client.js';
import { ADMIN_TOKEN, simpleIntent, startServer, type TestServer } from '../helpers/harness.js';

interface SyncResponse {
  flag_configuration: string;
}
type Client = grpc.Client & {
  FetchAllFlags(req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: SyncResponse) => void): void;
  SyncFlags(req: object, md: grpc.Metadata): grpc.ClientReadableStream<SyncResponse>;
};

function client(port: number): Client {
  const def = protoLoader.loadSync(syncProtoPath(), { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  return new pkg.flagd.sync.v1.FlagSyncService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client;
}

function md(token: string | null, extra: Record<string, string> = {}): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token !== null) m.set('authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

const fetchAll = (c: Client, req: object, m: grpc.Metadata) =>
  new Promise<{ err: grpc.ServiceError | null; res?: SyncResponse }>((resolve) => c.FetchAllFlags(req, m, (err, res) => resolve({ err, ...(res ? { res } : {}) })));

/** A SyncFlags stream that records its messages and lets a test await the next one or its end. */
function sync(c: Client, req: object, m: grpc.Metadata) {
  const call = c.SyncFlags(req, m);
  const messages: string[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let status: grpc.StatusObject | undefined;
  let error: grpc.ServiceError | undefined;
  call.on('data', (r: SyncResponse) => {
    messages.push(r.flag_configuration);
    wake?.();
  });
  call.on('error', (e: grpc.ServiceError) => {
    error = e;
    wake?.();
  });
  call.on('status', (s: grpc.StatusObject) => {
    status = s;
    wake?.();
  });
  const until = async <T>(get: () => T | undefined, what: string, timeoutMs = 3000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  return {
    call,
    messages,
    next: () => until(() => (taken < messages.length ? messages[taken++] : undefined), 'a message'),
    ended: () => until(() => status, 'the end of the stream'),
    get error() {
      return error;
    },
  };
}

describe('flagd gRPC sync (flagd.sync.v1.FlagSyncService)', () => {
  let s: TestServer;
  let syncServer: FlagSyncServer;
  let c: Client;
  let web: { secret: string; id: string };
  let search: { secret: string };

  beforeAll(async () => {
    s = await startServer();
    syncServer = buildFlagSync(s.container, s.built.app);
    c = client(await syncServer.listen('127.0.0.1', 0));
    web = await s.token({ name: 'web-svc', role: 'service', service: 'web' });
    search = await s.token({ name: 'search-svc', role: 'service', service: 'search' });
    expect((await s.api.post('/v1/intents', simpleIntent('sync-one'))).status).toBe(201);
    // Another service, a few versions ahead of web, so its changes cannot pass for web's.
    expect((await s.api.post('/v1/intents', simpleIntent('sync-other', { services: [{ service: 'search', flag: 'other_flag' }] }))).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      await s.api.post('/v1/intents/sync-other/actions', { action: 'pause', reason: 'ahead' });
      await s.api.post('/v1/intents/sync-other/actions', { action: 'resume', reason: 'ahead' });
    }
  });
  afterAll(async () => {
    c?.close();
    await syncServer?.close();
    await s?.close();
  });

  const flagdJson = async () => (await s.api.get('/v1/services/web/flagd.json')).text;

  it('FetchAllFlags answers exactly what GET flagd.json serves, for each selector form', async () => {
    const http = await flagdJson();
    expect(JSON.parse(http).flags.sync_one_flag).toBeDefined();
    for (const [req, extra] of [[{ selector: 'web' }, {}], [{ selector: 'flagSetId=web' }, {}], [{}, { 'flagd-selector': 'flagSetId=web' }]] as const) {
      const { err, res } = await fetchAll(c, req, md(web.secret, extra));
      expect(err).toBeNull();
      expect(res!.flag_configuration).toBe(http);
    }
  });

  it('refuses with the right status and leaks nothing: bad token, other service, unknown service, bad selector', async () => {
    const cases: [object, grpc.Metadata, grpc.status, string][] = [
      [{ selector: 'web' }, md(null), grpc.status.UNAUTHENTICATED, 'unauthorized'],
      [{ selector: 'web' }, md('sy_not_a_real_token_0123456789'), grpc.status.UNAUTHENTICATED, 'unauthorized'],
      [{ selector: 'web' }, md(search.secret), grpc.status.PERMISSION_DENIED, 'forbidden_service'],
      // A service token asking for a service that does not exist learns only that it may not.
      [{ selector: 'no-such-service' }, md(web.secret), grpc.status.PERMISSION_DENIED, 'forbidden_service'],
      [{ selector: 'no-such-service' }, md(ADMIN_TOKEN), grpc.status.NOT_FOUND, 'service_not_found'],
      [{ selector: '' }, md(ADMIN_TOKEN), grpc.status.INVALID_ARGUMENT, 'validation_failed'],
      [{ selector: 'source=web' }, md(ADMIN_TOKEN), grpc.status.INVALID_ARGUMENT, 'validation_failed'],
      [{ selector: 'we\u0001b' }, md(ADMIN_TOKEN), grpc.status.INVALID_ARGUMENT, 'validation_failed'],
    ];
    for (const [req, m, code, switchyardCode] of cases) {
      const { err, res } = await fetchAll(c, req, m);
      expect(res, JSON.stringify(req)).toBeUndefined();
      expect(err?.code, `${JSON.stringify(req)}: ${err?.details}`).toBe(code);
      expect(err?.metadata.get('switchyard-code')).toEqual([switchyardCode]);
    }
    // The stream refuses the same way, before sending anything.
    const refused = sync(c, { selector: 'web' }, md(search.secret));
    expect((await refused.ended()).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused.messages).toEqual([]);
  });

  it('SyncFlags sends the current definition, then one message per new version of that service only', async () => {
    const stream = sync(c, { selector: 'web', provider_id: 'test' }, md(web.secret));
    expect(await stream.next()).toBe(await flagdJson());
    // A change to another service is not pushed to this one.
    expect((await s.api.post('/v1/intents/sync-other/actions', { action: 'pause', reason: 'test' })).status).toBe(200);
    // A pause is.
    expect((await s.api.post('/v1/intents/sync-one/actions', { action: 'pause', reason: 'test' })).status).toBe(200);
    const paused = await stream.next();
    expect(paused).toBe(await flagdJson());
    expect(JSON.parse(paused).flags.sync_one_flag.metadata.switchyard_state).toBe('DISABLED');
    expect((await s.api.post('/v1/intents/sync-one/actions', { action: 'resume', reason: 'test' })).status).toBe(200);
    expect(JSON.parse(await stream.next()).flags.sync_one_flag.metadata.switchyard_state).toBe('ENABLED');
    expect(stream.messages).toHaveLength(3);
    stream.call.cancel();
  });

  it('ends a token\'s streams with UNAUTHENTICATED when it is revoked', async () => {
    const t = await s.token({ name: 'web-revoked', role: 'service', service: 'web' });
    const stream = sync(c, { selector: 'web' }, md(t.secret));
    await stream.next();
    expect(syncServer.size).toBeGreaterThan(0);
    const before = syncServer.size;
    expect((await s.api.del(`/v1/tokens/${t.id}`)).status).toBe(204);
    const end = await stream.ended();
    expect(end.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(syncServer.size).toBe(before - 1);
    expect((await fetchAll(c, { selector: 'web' }, md(t.secret))).err?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('flagd gRPC sync: stream caps and shutdown', () => {
  let s: TestServer;
  let syncServer: FlagSyncServer;
  let c: Client;

  beforeAll(async () => {
    s = await startServer({ app: { limits: { maxStreamsPerToken: 2, maxStreams: 3 } } });
    syncServer = buildFlagSync(s.container, s.built.app);
    c = client(await syncServer.listen('127.0.0.1', 0));
  });
  afterAll(async () => {
    c?.close();
    await syncServer?.close();
    await s?.close();
  });

  it('counts against the same caps as SSE streams: per token, then over all', async () => {
    const a = await s.token({ name: 'a', role: 'service', service: 'web' });
    const b = await s.token({ name: 'b', role: 'service', service: 'web' });
    const sse = await openSse(`${s.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${a.secret}` });
    expect(sse.status).toBe(200);
    const one = sync(c, { selector: 'web' }, md(a.secret));
    await one.next();
    // Token a holds one SSE and one gRPC stream: its cap of two.
    const over = sync(c, { selector: 'web' }, md(a.secret));
    const refused = await over.ended();
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.metadata.get('switchyard-code')).toEqual(['too_many_streams']);
    // Three streams in all: the server's cap.
    const two = sync(c, { selector: 'web' }, md(b.secret));
    await two.next();
    const busy = await sync(c, { selector: 'web' }, md(b.secret)).ended();
    expect(busy.code).toBe(grpc.status.UNAVAILABLE);
    expect(busy.metadata.get('switchyard-code')).toEqual(['server_busy']);
    // A closed stream gives its place back.
    one.call.cancel();
    const deadline = Date.now() + 2000;
    while (syncServer.size !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const again = sync(c, { selector: 'web' }, md(a.secret));
    expect(await again.next()).toContain('"flags"');
    for (const x of [two, again]) x.call.cancel();
    sse.close();
  });

  it('close() ends every stream with OK and gives their places back', async () => {
    // The previous test's streams give their places back once the server has seen them close.
    const leases = streamLeasesOf(s.built.app);
    const deadline = Date.now() + 3000;
    while (leases.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const open = [sync(c, { selector: 'web' }, md(ADMIN_TOKEN)), sync(c, { selector: 'web' }, md(ADMIN_TOKEN))];
    for (const o of open) await o.next();
    await syncServer.close();
    for (const o of open) expect((await o.ended()).code).toBe(grpc.status.OK);
    expect(syncServer.size).toBe(0);
    expect(leases.size).toBe(0);
  });
});
