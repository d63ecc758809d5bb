import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagStreamsOf } from '../../src/http/stream-router.js';
import { expectProblem } from '../fixtures/http.js';
import { openSse, type SseConnection } from '../fixtures/sse-client.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

const STREAM = (service: string) => `/v1/services/${service}/flags/stream`;

describe('GET /v1/services/{service}/flags/stream', () => {
  let s: TestServer;
  let owner: Api;
  let webToken: string;
  const open: SseConnection[] = [];

  const connect = async (service: string, headers: Record<string, string> = {}, token = webToken, query = '') => {
    const conn = await openSse(`${s.base}${STREAM(service)}${query}`, { authorization: `Bearer ${token}`, ...headers });
    open.push(conn);
    return conn;
  };
  /** The document GET serves now: what every event's data must be, byte for byte. */
  const current = async (service = 'web') => {
    const res = await owner.get(`/v1/services/${service}/flags`);
    return { version: res.body.version as number, json: res.text };
  };
  let n = 0;
  const change = async (services = ['web']) => {
    const key = `stream-${++n}-x`;
    const res = await owner.post('/v1/intents', simpleIntent(key, { services: services.map((service) => ({ service, flag: `${key}_flag` })) }));
    expect(res.body?.status, res.text).toBe('approved');
  };

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    webToken = (await s.token({ name: 'web-svc', role: 'service', service: 'web' })).secret;
    await change();
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await s.close();
  });

  it('sends the current document on connect, then one event per new version', async () => {
    const conn = await connect('web');
    expect(conn.status).toBe(200);
    expect(conn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(conn.headers.get('cache-control')).toMatch(/no-cache/);
    const now = await current();
    const first = await conn.nextEvent();
    expect(first).toMatchObject({ id: String(now.version), data: now.json });
    expect(first.event).toBeUndefined();

    await change();
    const next = await current();
    expect(next.version).toBe(now.version + 1);
    expect(await conn.nextEvent()).toMatchObject({ id: String(next.version), data: next.json });
  });

  it('streams only its own service', async () => {
    const conn = await connect('web');
    await conn.nextEvent();
    await change(['search']);
    await change(['web']);
    const web = await current('web');
    // The search change produced nothing here: the next event is the web one.
    expect(await conn.nextEvent()).toMatchObject({ id: String(web.version), data: web.json });
  });

  it('resumes with Last-Event-ID: a client behind gets the current document at once', async () => {
    const now = await current();
    const behind = await connect('web', { 'last-event-id': String(now.version - 1) });
    expect(await behind.nextEvent()).toMatchObject({ id: String(now.version), data: now.json });
    const fromQuery = await connect('web', {}, webToken, `?last_event_id=${now.version - 2}`);
    expect(await fromQuery.nextEvent()).toMatchObject({ id: String(now.version), data: now.json });
    const garbage = await connect('web', { 'last-event-id': 'not-a-version' });
    expect(await garbage.nextEvent()).toMatchObject({ id: String(now.version) });
  });

  it('resumes with Last-Event-ID: a client that is current gets nothing until the next change', async () => {
    const now = await current();
    const upToDate = await connect('web', { 'last-event-id': String(now.version) });
    const fromQuery = await connect('web', {}, webToken, `?last_event_id=${now.version}`);
    await change();
    const next = await current();
    // The first event either stream sees is the new version: the current one was not resent.
    expect(await upToDate.nextEvent()).toMatchObject({ id: String(next.version), data: next.json });
    expect(await fromQuery.nextEvent()).toMatchObject({ id: String(next.version), data: next.json });
    expect(upToDate.events).toHaveLength(1);
  });

  it('refuses before streaming: 404 for an unknown service, 403 for another service, 401 without a token', async () => {
    const unknown = await connect('nope', {}, (await s.token({ name: 'op', role: 'operator' })).secret);
    expectProblem({ status: unknown.status, headers: unknown.headers, body: JSON.parse(unknown.text), text: unknown.text }, 404, 'service_not_found');
    const other = await connect('search');
    expectProblem({ status: other.status, headers: other.headers, body: JSON.parse(other.text), text: other.text }, 403, 'forbidden_service');
    const anonymous = await openSse(`${s.base}${STREAM('web')}`);
    expect(anonymous.status).toBe(401);
    // Any human role may watch any service.
    const human = await connect('search', {}, (await s.token({ name: 'ann', role: 'approver', approval_roles: ['sre'] })).secret);
    expect(human.status).toBe(200);
    expect((await human.nextEvent()).id).toBe(String((await current('search')).version));
  });

  it('forgets a client that disconnects', async () => {
    const hubSize = () => s.container.metrics.sseClients.get().then((m) => m.values[0]?.value ?? 0);
    const before = await hubSize();
    const conn = await connect('web');
    await conn.nextEvent();
    expect(await hubSize()).toBe(before + 1);
    conn.close();
    await vi.waitFor(async () => expect(await hubSize()).toBe(before), { timeout: 2000, interval: 10 });
  });
});

describe('flag streams: heartbeat and shutdown', () => {
  let s: TestServer;
  let server: Server;
  let base: string;
  let token: string;
  let app: ReturnType<typeof buildApp>;

  beforeAll(async () => {
    s = await startServer();
    token = (await s.token({ name: 'web-svc', role: 'service', service: 'web' })).secret;
    // A second app on the same container, with a heartbeat a test can wait for.
    app = buildApp(s.container, { streamHeartbeatMs: 25 });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await s.close();
  });

  it('sends ": ping" comments at the configured interval', async () => {
    const conn = await openSse(`${base}${STREAM('web')}`, { authorization: `Bearer ${token}` });
    await conn.nextEvent();
    expect(await conn.nextComment(1000)).toBe('ping');
    expect(await conn.nextComment(1000)).toBe('ping');
    conn.close();
  });

  it('ends every stream on shutdown and refuses new ones with 503', async () => {
    const hub = flagStreamsOf(app)!;
    const a = await openSse(`${base}${STREAM('web')}`, { authorization: `Bearer ${token}` });
    const b = await openSse(`${base}${STREAM('search')}`, { authorization: `Bearer ${(await s.token({ name: 'op', role: 'operator' })).secret}` });
    await a.nextEvent();
    await b.nextEvent();
    expect(hub.size).toBe(2);
    hub.closeAll();
    await Promise.all([a.ended, b.ended]);
    expect(hub.size).toBe(0);
    const late = await openSse(`${base}${STREAM('web')}`, { authorization: `Bearer ${token}` });
    expect(late.status).toBe(503);
    expect(JSON.parse(late.text).code).toBe('shutting_down');
    expect(late.headers.get('retry-after')).toBe('2');
  });
});
