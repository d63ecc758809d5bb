/**
 * OFREP change notifications (OFREP 0.3.0, ADR-0008): the bulk answer's `eventStreams`, the
 * notification stream it points at, the `flagConfigEtag` re-fetch metadata, and the stock
 * `@openfeature/ofrep-web-provider` following the stream instead of polling.
 */
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../fixtures/sse-client.js';
import { apiFor, simpleIntent, startServer, type TestServer } from '../helpers/harness.js';

const BULK = '/v1/services/web/ofrep/v1/evaluate/flags';

describe('OFREP eventStreams', () => {
  let s: TestServer;
  let web: Awaited<ReturnType<TestServer['token']>>;

  beforeAll(async () => {
    s = await startServer();
    web = await s.token({ name: 'web-svc', role: 'service', service: 'web' });
    expect((await s.api.post('/v1/intents', simpleIntent('ev-one'))).status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  const streamUrl = async (api = web) => {
    const res = await api.post(BULK, { context: { targetingKey: 'u-1' } });
    expect(res.status).toBe(200);
    expect(res.body.eventStreams).toHaveLength(1);
    const [stream] = res.body.eventStreams;
    expect(stream.type).toBe('sse');
    expect(stream.endpoint.requestUri).toMatch(/^\/v1\/services\/web\/ofrep\/events\?ticket=/);
    return `${s.base}${stream.endpoint.requestUri}`;
  };
  const flagsEtag = async () => (await s.api.get('/v1/services/web/flags')).headers.get('etag')!;

  it('the bulk answer advertises a stream that sends refetchEvaluation on each version of the service, nothing else', async () => {
    const sse = await openSse(await streamUrl());
    expect(sse.status).toBe(200);
    const first = await sse.nextEvent();
    const doc = (await s.api.get('/v1/services/web/flags')).body;
    expect(first.id).toBe(String(doc.version));
    expect(JSON.parse(first.data)).toEqual({ type: 'refetchEvaluation', etag: await flagsEtag(), lastModified: expect.any(Number) });
    // Another service's change is not announced here; this one's pause is.
    await s.api.post('/v1/intents', simpleIntent('ev-other', { services: [{ service: 'search', flag: 'ev_other' }] }));
    expect((await s.api.post('/v1/intents/ev-one/actions', { action: 'pause', reason: 't' })).status).toBe(200);
    const next = await sse.nextEvent();
    expect(next.id).toBe(String(doc.version + 1));
    const data = JSON.parse(next.data);
    expect(data.etag).toBe(await flagsEtag());
    expect(data.lastModified).toBe(Math.floor(s.clock.now().getTime() / 1000));
    expect(sse.events).toHaveLength(2);
    sse.close();
    await s.api.post('/v1/intents/ev-one/actions', { action: 'resume', reason: 't' });
  });

  it('takes the Authorization header too, and Last-Event-ID of the current version sends nothing at once', async () => {
    const version = (await s.api.get('/v1/services/web/flags')).body.version;
    const sse = await openSse(`${s.base}/v1/services/web/ofrep/events`, { authorization: `Bearer ${web.secret}`, 'last-event-id': String(version) });
    expect(sse.status).toBe(200);
    await s.api.post('/v1/intents/ev-one/actions', { action: 'pause', reason: 't' });
    expect((await sse.nextEvent()).id).toBe(String(version + 1));
    sse.close();
    await s.api.post('/v1/intents/ev-one/actions', { action: 'resume', reason: 't' });
  });

  it('a ticket is good for its own service and token only, and dies with the token', async () => {
    const url = await streamUrl();
    const ticket = new URL(url).searchParams.get('ticket')!;
    const other = await openSse(`${s.base}/v1/services/search/ofrep/events?ticket=${ticket}`);
    expect(other.status).toBe(401);
    const tampered = await openSse(url.slice(0, -2) + (url.endsWith('AA') ? 'AB' : 'AA'));
    expect(tampered.status).toBe(401);
    expect((await openSse(`${s.base}/v1/services/web/ofrep/events`)).status).toBe(401);
    // A search token's ticket for web would not be issued; its header is refused like the flags GET.
    const search = await s.token({ name: 'search-svc', role: 'service', service: 'search' });
    expect((await openSse(`${s.base}/v1/services/web/ofrep/events`, { authorization: `Bearer ${search.secret}` })).status).toBe(403);

    const doomed = await s.token({ name: 'web-doomed', role: 'service', service: 'web' });
    const doomedUrl = await streamUrl(doomed);
    const open = await openSse(doomedUrl);
    await open.nextEvent();
    expect((await s.api.del(`/v1/tokens/${doomed.id}`)).status).toBe(204);
    expect(await open.nextComment()).toBe('token revoked');
    await open.ended;
    expect((await openSse(doomedUrl)).status).toBe(401);
  });

  it('honours flagConfigEtag: the current or a newer document is served; one this server has not seen yet is 503 flag_config_stale', async () => {
    const etag = await flagsEtag();
    const now = Math.floor(s.clock.now().getTime() / 1000);
    const q = (e: string, lm: string | number) => `${BULK}?flagConfigEtag=${encodeURIComponent(e)}&flagConfigLastModified=${lm}`;
    // Both ways in: the read path, and express (an Idempotency-Key sends the request there).
    let n = 0;
    for (const viaExpress of [false, true]) {
      const post = (url: string) => web.post(url, {}, viaExpress ? { 'idempotency-key': `k-${n++}` } : {});
      expect((await post(q(etag, now))).status).toBe(200);
      // An older event's ETag: the current document is newer, serve it.
      expect((await post(q('"older"', now - 3600))).status).toBe(200);
      const stale = await post(q('"from-the-future"', now + 60));
      expect(stale.status).toBe(503);
      expect(stale.body.code).toBe('flag_config_stale');
      expect((await post(q(etag, 'yesterday'))).body.code).toBe('validation_failed');
      // The ISO 8601 form of the same time.
      expect((await post(q('"from-the-future"', new Date((now + 60) * 1000).toISOString()))).status).toBe(503);
    }
  });

  it('the stock @openfeature/ofrep-web-provider follows the stream (no polling) and serves a pause within 1 s', async () => {
    const g = globalThis as { EventSource?: unknown };
    const had = g.EventSource;
    g.EventSource = EventSource;
    const requests: string[] = [];
    const origFetch = globalThis.fetch;
    // Counts the provider's requests (it is given this fetch; the test's own go straight through).
    const counting: typeof fetch = (input, init) => {
      requests.push(String(input instanceof Request ? input.url : input));
      return origFetch(input, init);
    };
    const provider = new OFREPWebProvider({
      baseUrl: `${s.base}/v1/services/web`,
      headers: [['Authorization', `Bearer ${web.secret}`]],
      pollInterval: 0,
      cacheMode: 'disabled',
      fetchImplementation: counting,
    });
    const gauge = async () => Number((await s.api.get('/metrics')).text.match(/^switchyard_ofrep_event_streams (\d+)/m)?.[1] ?? 0);
    const baseline = await gauge();
    try {
      await OpenFeature.setProviderAndWait(provider, { targetingKey: 'u-any' });
      const client = OpenFeature.getClient();
      const flag = 'ev_one_flag';
      expect(client.getStringDetails(flag, 'code-default').reason).not.toBe('ERROR');
      expect(client.getStringDetails(flag, 'code-default').flagMetadata['switchyard_state']).toBeUndefined();
      // Connected: wait until the server holds its stream (bounded poll).
      const deadline = Date.now() + 3000;
      const holds = async () => (await gauge()) === baseline + 1;
      while (!(await holds()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(await holds()).toBe(true);
      // The change that serves the pause: a re-fetch the provider started when its stream opened may
      // also land after this point, with the old answer, and must not count.
      const changed = new Promise<number>((resolve) =>
        provider.events.addHandler(ProviderEvents.ConfigurationChanged, () => {
          if (client.getStringDetails(flag, 'code-default').value === 'off') resolve(performance.now());
        }),
      );
      const before = requests.length;
      const t0 = performance.now();
      expect((await s.api.post('/v1/intents/ev-one/actions', { action: 'pause', reason: 'kill switch' })).status).toBe(200);
      const within = await Promise.race([changed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
      expect(within, 'the provider did not re-fetch within 1 s of the pause').toBeDefined();
      console.log(`ofrep-web-provider saw the pause ${(within! - t0).toFixed(0)} ms after the action was sent`);
      expect(client.getStringDetails(flag, 'code-default').value).toBe('off');
      expect(client.getStringDetails(flag, 'code-default').flagMetadata['switchyard_state']).toBe('DISABLED');
      // The re-fetch carried the event's metadata.
      const refetch = requests.slice(before).find((u) => u.includes('/ofrep/v1/evaluate/flags'));
      expect(refetch).toContain(`flagConfigEtag=${encodeURIComponent(await flagsEtag())}`);
    } finally {
      await OpenFeature.clearProviders();
      g.EventSource = had;
    }
  });
});

describe('OFREP eventStreams: one server, two keys', () => {
  it('a ticket signed by another process is refused (it gets a fresh one with its next bulk answer)', async () => {
    const a = await startServer({ app: { streamTicketKey: Buffer.alloc(32, 1) } });
    const b = await startServer({ app: { streamTicketKey: Buffer.alloc(32, 2) } });
    try {
      const res = await apiFor(() => a.base, (await a.api.post('/v1/tokens', { name: 'w', role: 'service', service: 'web' })).body.token).post(BULK, {});
      const uri = res.body.eventStreams[0].endpoint.requestUri as string;
      expect((await openSse(`${a.base}${uri}`)).status).toBe(200);
      expect((await openSse(`${b.base}${uri}`)).status).toBe(401);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
