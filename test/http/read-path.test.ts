import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, buildServer, type BuiltServer } from '../../src/app.js';
import { simpleIntent, startServer, type TestServer } from '../helpers/harness.js';

/**
 * The read path (src/http/read-path.ts) answers the flags GET and OFREP without express. These
 * tests send the same raw request to two servers over one database: the shipped one (read path in
 * front of express) and the bare express app. Every answer must be the same: status, the headers a
 * client reads, and the body byte for byte (both get the same X-Request-Id, so problem documents
 * match too). They also check that the read path really took the plain requests, so a parity that
 * only held because everything fell through to express would fail.
 */

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

interface Raw {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const COMPARED = [
  'content-type',
  'content-length',
  'etag',
  'cache-control',
  'www-authenticate',
  'x-request-id',
  'vary',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'access-control-allow-credentials',
];
/** Both servers allow this browser origin (CORS), so the parity covers the CORS headers too. */
const ORIGIN = 'https://app.example';

function send(base: string, r: Raw): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + r.path, { method: r.method, headers: { 'x-request-id': 'parity-1', ...r.headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: Object.fromEntries(COMPARED.map((h) => [h, res.headers[h] as string | undefined])), body }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

const listen = async (server: Server): Promise<string> => {
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

describe('the read path answers exactly as the express app does', () => {
  let s: TestServer;
  let shipped: BuiltServer;
  let plain: Server;
  let fast = '';
  let slow = '';
  const tokens: Record<string, string> = {};
  let bulkEtag = '';
  let flagsEtag = '';

  beforeAll(async () => {
    s = await startServer();
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    for (const intent of [simpleIntent('rp-one', { exposure: 30 }), simpleIntent('rp-two', { audience: [{ attribute: 'country', op: 'in', values: ['US'] }], exposure: 20 })]) {
      expect((await owner.post('/v1/intents', intent)).status).toBe(201);
    }
    tokens['web'] = (await s.token({ name: 'web', role: 'service', service: 'web' })).secret;
    tokens['api'] = (await s.token({ name: 'api', role: 'service', service: 'checkout-api' })).secret;
    tokens['owner'] = owner.secret;
    const revoked = await s.token({ name: 'gone', role: 'service', service: 'web' });
    expect((await s.api.del(`/v1/tokens/${revoked.id}`)).status).toBeLessThan(300);
    tokens['revoked'] = revoked.secret;
    shipped = buildServer(s.container, { corsOrigins: [ORIGIN] });
    fast = await listen(shipped.server);
    plain = http.createServer(buildApp(s.container, { corsOrigins: [ORIGIN] }));
    slow = await listen(plain);
    const ctx = JSON.stringify({ context: { targetingKey: 'u-1', country: 'US' } });
    bulkEtag = (await send(fast, { method: 'POST', path: '/v1/services/web/ofrep/v1/evaluate/flags', headers: { authorization: `Bearer ${tokens['web']}`, 'content-type': 'application/json' }, body: ctx })).headers['etag']!;
    flagsEtag = (await send(fast, { method: 'GET', path: '/v1/services/web/flags', headers: { authorization: `Bearer ${tokens['web']}` } })).headers['etag']!;
    expect(bulkEtag).toMatch(/^"/);
    expect(flagsEtag).toMatch(/^"/);
  });

  afterAll(async () => {
    for (const server of [shipped.server, plain]) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await s.close();
  });

  const same = async (r: Raw): Promise<Answer> => {
    const a = await send(fast, r);
    const b = await send(slow, r);
    expect({ request: r, answer: a }).toEqual({ request: r, answer: b });
    return a;
  };

  const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const json = { 'content-type': 'application/json' };
  const BULK = '/v1/services/web/ofrep/v1/evaluate/flags';
  const ONE = `${BULK}/rp_one_flag`;

  it('takes the plain requests itself and gives the same answers', async () => {
    const before = { ...shipped.readPath };
    const plainCases: [Raw, number][] = [
      [{ method: 'GET', path: '/v1/services/web/flags', headers: auth('web') }, 200],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: { ...auth('web'), 'if-none-match': flagsEtag } }, 304],
      [{ method: 'GET', path: '/v1/services/web/flags?x=1', headers: { ...auth('owner'), 'if-none-match': `W/${flagsEtag}, "other"` } }, 304],
      [{ method: 'GET', path: '/v1/services/nowhere/flags', headers: auth('owner') }, 404],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: auth('api') }, 403],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: auth('revoked') }, 401],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: {} }, 401],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"u-7","country":"US"}}' }, 200],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json, 'if-none-match': bulkEtag }, body: '{ "context" : { "country":"US", "targetingKey":"u-1" } }' }, 304],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), 'content-type': 'application/json; charset=UTF-8' }, body: '{"context":{"targetingKey":"u-7"}}' }, 200],
      [{ method: 'POST', path: `${BULK}/no_such_flag`, headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"u-7"}}' }, 404],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '{"context":{}}' }, 400],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '{"context":[1]}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":null}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '[]' }, 400],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '{"context": ' }, 400],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '"just a string"' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '   ' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '' }, 200],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"context":{"targetingKey":"bom"}}')]) }, 200],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"__proto__":{"targetingKey":"x"}}}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: `{"context":{"a":${'['.repeat(80)}${']'.repeat(80)}}}` }, 400],
      // SPEC §2 text rules: duplicate member names (also spelt with an escape), lone surrogates, 1e400.
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"a","targetingKey":"b"}}' }, 400],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '{"context":{},"\\u0063ontext":{}}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"\\ud800"}}' }, 400],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json }, body: '{"context":{"\\udfff":1,"targetingKey":"u"}}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"n":1e400,"targetingKey":"u"}}' }, 400],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"u","a":[{"x":1},{"x":2}]}}' }, 200],
      [{ method: 'POST', path: ONE, headers: { ...auth('api'), ...json }, body: '{}' }, 403],
      [{ method: 'POST', path: '/v1/services/nowhere/ofrep/v1/evaluate/flags/x', headers: { ...auth('owner'), ...json }, body: '{}' }, 404],
      [{ method: 'POST', path: ONE, headers: { authorization: 'Basic abc', ...json }, body: '{}' }, 401],
      [{ method: 'POST', path: ONE, headers: { ...auth('revoked'), ...json }, body: '{}' }, 401],
      [{ method: 'POST', path: '/v1/services/w%65b/ofrep/v1/evaluate/flags/rp%5Fone%5Fflag', headers: { ...auth('web'), ...json }, body: '{"context":{"targetingKey":"u-9"}}' }, 200],
      // A browser's cross-origin calls: an allowed origin, another one, and a refusal that carries CORS headers.
      [{ method: 'GET', path: '/v1/services/web/flags', headers: { ...auth('web'), origin: ORIGIN } }, 200],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: { ...auth('web'), origin: 'https://evil.example', 'if-none-match': flagsEtag } }, 304],
      [{ method: 'GET', path: '/v1/services/web/flags', headers: { origin: ORIGIN } }, 401],
      [{ method: 'POST', path: BULK, headers: { ...auth('web'), ...json, origin: ORIGIN }, body: '{"context":{"targetingKey":"u-7"}}' }, 200],
      [{ method: 'POST', path: ONE, headers: { ...auth('api'), ...json, origin: ORIGIN }, body: '{}' }, 403],
      [{ method: 'POST', path: ONE, headers: { ...auth('web'), ...json, origin: 'null' }, body: '{"context":{"targetingKey":"u-7"}}' }, 200],
    ];
    for (const [r, status] of plainCases) expect((await same(r)).status, `${r.method} ${r.path} ${String(r.body)}`).toBe(status);
    expect(shipped.readPath.served - before.served).toBe(plainCases.length);
    expect(shipped.readPath.passed).toBe(before.passed);
  });

  it('passes every other form of these routes to express, which answers as before', async () => {
    const before = { ...shipped.readPath };
    const unusual: Raw[] = [
      { method: 'GET', path: '/v1/services/web/flags/', headers: auth('web') },
      { method: 'GET', path: '/V1/services/web/flags', headers: auth('web') },
      { method: 'HEAD', path: '/v1/services/web/flags', headers: auth('web') },
      { method: 'GET', path: '/v1/services/%E0%A4%A/flags', headers: auth('owner') },
      { method: 'POST', path: `${BULK}/`, headers: { ...auth('web'), ...json }, body: '{}' },
      { method: 'POST', path: BULK, headers: { ...auth('web'), 'content-type': 'text/plain' }, body: '{}' },
      { method: 'POST', path: BULK, headers: { ...auth('web'), 'content-type': 'application/json; charset=latin1' }, body: '{}' },
      { method: 'POST', path: BULK, headers: { ...auth('web'), 'content-type': 'application/ofrep+json' }, body: '{"context":{"targetingKey":"z"}}' },
      { method: 'POST', path: BULK, headers: auth('web'), body: '{"context":{"targetingKey":"z"}}' },
      { method: 'POST', path: BULK, headers: { ...auth('web'), ...json, 'content-encoding': 'gzip' }, body: 'not gzip' },
      { method: 'POST', path: BULK, headers: { ...auth('web'), ...json }, body: `{"context":{"pad":"${'x'.repeat(300 * 1024)}"}}` },
      { method: 'POST', path: `${BULK}/%E0%A4%A`, headers: { ...auth('web'), ...json }, body: '{}' },
    ];
    for (const r of unusual) await same(r);
    // A retry of a request with an Idempotency-Key is a replay, so this one is sent to one server.
    const keyed = await send(fast, { method: 'POST', path: BULK, headers: { ...auth('web'), ...json, 'idempotency-key': 'parity-key-1' }, body: '{"context":{"targetingKey":"i"}}' });
    expect(keyed.status).toBe(200);
    expect(shipped.readPath.served).toBe(before.served);
    expect(shipped.readPath.passed - before.passed).toBe(unusual.length + 1);
  });

  it('a token revoked through the API is refused on the read path at once, though its last use was cached', async () => {
    const t = await s.token({ name: 'short-lived', role: 'service', service: 'web' });
    const ask = () => send(fast, { method: 'POST', path: BULK, headers: { authorization: `Bearer ${t.secret}`, ...json }, body: '{"context":{"targetingKey":"r"}}' });
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(200);
    expect((await s.api.del(`/v1/tokens/${t.id}`)).status).toBeLessThan(300);
    expect((await ask()).status).toBe(401);
  });

  it('gives the same answer for any mix of service, key, token, media type, body and validator', async () => {
    const service = fc.constantFrom('web', 'checkout-api', 'nowhere', 'w%65b', 'WEB', '%E0%A4%A');
    const key = fc.constantFrom(undefined, 'rp_one_flag', 'rp_two_flag', 'missing', 'rp%5Fone%5Fflag', '%zz');
    const who = fc.constantFrom('web', 'api', 'owner', 'revoked', 'none', 'basic');
    const type = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset="utf-8"', 'text/plain', undefined);
    const context = fc.dictionary(fc.constantFrom('targetingKey', 'country', 'user_id', 'locale', '__proto__'), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.constant(['US'])));
    const body = fc.oneof(
      context.map((c) => JSON.stringify({ context: c })),
      fc.constantFrom('', ' ', '{', '[]', 'null', '{"context":null}', '{"context":"x"}', '{"extra":1}'),
      fc.string({ maxLength: 40 }),
    );
    const validator = fc.constantFrom(undefined, '*', bulkEtag, flagsEtag, '"nope"');
    const origin = fc.constantFrom(undefined, ORIGIN, 'https://other.example', ORIGIN.toUpperCase());
    await fc.assert(
      fc.asyncProperty(fc.boolean(), service, key, who, type, body, validator, fc.constantFrom('', '?a=1'), origin, async (get, svc, k, w, t, b, inm, q, o) => {
        const headers: Record<string, string> = {};
        if (o) headers['origin'] = o;
        if (w === 'basic') headers['authorization'] = 'Basic eDp5';
        else if (w !== 'none') headers['authorization'] = `Bearer ${tokens[w]}`;
        if (inm) headers['if-none-match'] = inm;
        if (get) {
          await same({ method: 'GET', path: `/v1/services/${svc}/flags${q}`, headers });
          return;
        }
        if (t) headers['content-type'] = t;
        const path = `/v1/services/${svc}/ofrep/v1/evaluate/flags${k === undefined ? '' : `/${k}`}${q}`;
        await same({ method: 'POST', path, headers, body: b });
      }),
      { numRuns: 300 },
    );
  });
});
