import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openSse } from '../fixtures/sse-client.js';
import { apiFor, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

const ALLOWED = 'https://app.example';
const OTHER = 'https://evil.example';
const BULK = '/v1/services/web/ofrep/v1/evaluate/flags';

/** The CORS headers of an answer, lower-cased names, absent ones left out. */
function corsOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => {
    if (k.startsWith('access-control-')) out[k] = v;
  });
  return out;
}

describe('CORS on the flag-read routes', () => {
  let s: TestServer;
  let web: Api & { secret: string };
  let owner: Api;

  beforeAll(async () => {
    s = await startServer({ app: { corsOrigins: [ALLOWED, 'http://localhost:3000'] } });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    web = await s.token({ name: 'web', role: 'service', service: 'web' });
    expect((await owner.post('/v1/intents', simpleIntent('cors-one'))).status).toBe(201);
  });
  afterAll(async () => s.close());

  const reads: [string, (origin: string) => Promise<{ status: number; headers: Headers }>][] = [
    ['flags GET', (origin) => web.get('/v1/services/web/flags', { origin })],
    ['flagd.json', (origin) => web.get('/v1/services/web/flagd.json', { origin })],
    ['OFREP bulk', (origin) => web.post(BULK, { context: { targetingKey: 'u-1' } }, { origin })],
    ['OFREP single', (origin) => web.post(`${BULK}/cors_one_flag`, { context: { targetingKey: 'u-1' } }, { origin })],
    ['flags stream', async (origin) => {
      const c = await openSse(`${s.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${web.secret}`, origin });
      c.close();
      return c;
    }],
  ];

  for (const [name, read] of reads) {
    it(`${name}: an allowed origin gets Access-Control-Allow-Origin and the exposed ETag; another origin does not`, async () => {
      const allowed = await read(ALLOWED);
      expect(allowed.status).toBe(200);
      expect(corsOf(allowed.headers)).toEqual({ 'access-control-allow-origin': ALLOWED, 'access-control-expose-headers': 'ETag,Retry-After' });
      expect(allowed.headers.get('vary')).toMatch(/\bOrigin\b/);
      const other = await read(OTHER);
      expect(other.status).toBe(200);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(other.headers.get('vary')).toMatch(/\bOrigin\b/);
    });
  }

  it('a refusal (401, 403) carries the headers too, so the browser lets the page read why', async () => {
    const anonymous = await apiFor(() => s.base, null).get('/v1/services/web/flags', { origin: ALLOWED });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const forbidden = await web.get('/v1/services/search/flags', { origin: ALLOWED });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('answers a preflight without a token: 204, the methods and request headers a client sends', async () => {
    const anonymous = apiFor(() => s.base, null);
    for (const path of [BULK, `${BULK}/cors_one_flag`, '/v1/services/web/flags', '/v1/services/web/flags/stream', '/v1/services/web/flagd.json']) {
      const res = await anonymous.request('OPTIONS', path, undefined, {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,if-none-match',
      });
      expect(res.status, path).toBe(204);
      const h = corsOf(res.headers);
      expect(h['access-control-allow-origin']).toBe('http://localhost:3000');
      expect(h['access-control-allow-methods']?.split(',')).toEqual(expect.arrayContaining(['GET', 'POST']));
      expect(h['access-control-allow-headers']?.toLowerCase().split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'if-none-match']));
      expect(h['access-control-max-age']).toBe('600');
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
    // Only the listed request headers, whatever the preflight asks for.
    const extra = await anonymous.request('OPTIONS', BULK, undefined, { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-anything' });
    expect(extra.headers.get('access-control-allow-headers')?.toLowerCase()).not.toMatch(/x-anything/);
    const other = await anonymous.request('OPTIONS', BULK, undefined, { origin: OTHER, 'access-control-request-method': 'POST' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('every other /v1 route gets no CORS header, and its OPTIONS is not a preflight answer', async () => {
    for (const res of [
      await owner.get('/v1/intents', { origin: ALLOWED }),
      await owner.get('/v1/events', { origin: ALLOWED }),
      await s.api.post('/v1/tokens', { name: 'x', role: 'operator' }, { origin: ALLOWED }),
      await apiFor(() => s.base, null).request('OPTIONS', '/v1/intents', undefined, { origin: ALLOWED, 'access-control-request-method': 'POST' }),
      await apiFor(() => s.base, null).request('OPTIONS', '/v1/services/web/telemetry', undefined, { origin: ALLOWED, 'access-control-request-method': 'POST' }),
    ]) {
      expect(corsOf(res.headers)).toEqual({});
      expect(res.status).not.toBe(204);
    }
  });
});

describe('CORS off (the default)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s.close());

  it('sends no CORS header, and a preflight gets 401 like any tokenless request', async () => {
    const read = await s.api.get('/v1/services/web/flags', { origin: ALLOWED });
    expect(read.status).toBe(200);
    expect(corsOf(read.headers)).toEqual({});
    expect(read.headers.get('vary')).toBeNull();
    const preflight = await apiFor(() => s.base, null).request('OPTIONS', BULK, undefined, { origin: ALLOWED, 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(401);
    expect(corsOf(preflight.headers)).toEqual({});
  });
});

describe('SWITCHYARD_CORS_ORIGINS and the limits in the configuration', () => {
  it('parses a comma-separated list of origins, trimmed, and refuses anything that is not an origin', () => {
    expect(loadConfig({ SWITCHYARD_CORS_ORIGINS: ' https://app.example, http://localhost:3000 ,,' }).corsOrigins).toEqual(['https://app.example', 'http://localhost:3000']);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ SWITCHYARD_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    for (const bad of ['https://app.example/', 'https://app.example/path', 'app.example', 'ftp://files.example']) {
      expect(() => loadConfig({ SWITCHYARD_CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
    }
  });

  it('defaults the caps and timeouts, and refuses caps that would let streams take every connection', () => {
    expect(loadConfig({}).limits).toEqual({ maxConnections: 4096, maxStreams: 2048, maxStreamsPerToken: 100, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 });
    expect(loadConfig({ SWITCHYARD_MAX_STREAMS_PER_TOKEN: '3' }).limits.maxStreamsPerToken).toBe(3);
    expect(() => loadConfig({ SWITCHYARD_MAX_CONNECTIONS: '100', SWITCHYARD_MAX_STREAMS: '100' })).toThrow(/SWITCHYARD_MAX_STREAMS/);
    expect(() => loadConfig({ SWITCHYARD_HEADERS_TIMEOUT_MS: '5000', SWITCHYARD_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/SWITCHYARD_HEADERS_TIMEOUT_MS/);
  });
});
