import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { buildApp } from '../../src/app.js';
import { flagStreamsOf } from '../../src/http/stream-router.js';
import { openDatabase } from '../../src/storage/sqlite/database.js';
import { migrations } from '../../src/storage/sqlite/migrations.js';
import { ADMIN_TOKEN, apiFor, exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { dumpText } from '../helpers/db-dump.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

/**
 * SPEC §8 as one table: every route of the app × every kind of caller → the exact status (and, for
 * a refusal, the exact code). Routes that change something get fresh fixtures per cell, so an
 * allowed call always has something it may act on and one caller's success never shapes
 * another's answer. A mismatch names the route and the caller.
 */

const CALLERS = [
  'none',
  'unknown',
  'revoked',
  'owner',
  'owner_other_team',
  'approver',
  'governance',
  'operator',
  'service',
  'service_other',
  'admin',
] as const;
type Caller = (typeof CALLERS)[number];

/** An expected answer: a status, or a 403 with a more specific code than `forbidden`. */
type Expected = 200 | 201 | 202 | 204 | 401 | 403 | 404 | '403 forbidden_team' | '403 forbidden_service';

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** SSE: only the status of the response head counts; the stream is dropped after it. */
  stream?: boolean;
}

interface Row {
  route: string;
  call: (caller: Caller) => Promise<Call> | Call;
  expect: Record<Caller, Expected>;
}

const UNAUTHENTICATED = { none: 401, unknown: 401, revoked: 401 } as const;
const HUMANS = ['owner', 'owner_other_team', 'approver', 'governance', 'operator', 'admin'] as const;

/** 401 without a valid token, `allowed` for the callers named, 403 for every other known token. */
function only(allowed: Partial<Record<Caller, Expected>>, refused: Partial<Record<Caller, Expected>> = {}): Record<Caller, Expected> {
  const table = Object.fromEntries(CALLERS.map((c) => [c, 403])) as Record<Caller, Expected>;
  return { ...table, ...UNAUTHENTICATED, ...allowed, ...refused };
}
const everyone = (status: Expected) => Object.fromEntries(CALLERS.map((c) => [c, status])) as Record<Caller, Expected>;
const humans = (status: Expected) => Object.fromEntries(HUMANS.map((c) => [c, status])) as Partial<Record<Caller, Expected>>;
/** Flag reads: every human role, and the service's own token; another service's token is refused. */
const flagReaders = (status: Expected = 200) => only({ ...humans(status), service: status }, { service_other: '403 forbidden_service' });

describe('authorization matrix (SPEC §8)', () => {
  let s: TestServer;
  const clients = {} as Record<Caller, Api>;
  const secrets = {} as Partial<Record<Caller, string>>;
  let alice: Api; // the owner: team growth
  let decisionId: string;
  let n = 0;
  const bundle = fs.readFileSync(BUNDLE_PATH);

  beforeAll(async () => {
    s = await startServer();
    const mk = async (c: Caller, spec: Parameters<TestServer['token']>[0]) => {
      const t = await s.token(spec);
      clients[c] = t;
      secrets[c] = t.secret;
    };
    await mk('owner', { name: 'alice', role: 'owner', team: 'growth' });
    await mk('owner_other_team', { name: 'bob', role: 'owner', team: 'search' });
    await mk('approver', { name: 'sam', role: 'approver', approval_roles: ['sre', 'privacy'] });
    await mk('governance', { name: 'gina', role: 'governance' });
    await mk('operator', { name: 'otto', role: 'operator' });
    await mk('service', { name: 'web-prod', role: 'service', service: 'web' });
    await mk('service_other', { name: 'checkout-prod', role: 'service', service: 'checkout-api' });
    const revoked = await s.token({ name: 'old', role: 'admin' });
    expect((await s.api.del(`/v1/tokens/${revoked.id}`)).status).toBe(204);
    clients.revoked = revoked;
    secrets.revoked = revoked.secret;
    clients.none = apiFor(() => s.base, null);
    secrets.unknown = `sy_${crypto.randomBytes(32).toString('base64url')}`;
    clients.unknown = apiFor(() => s.base, secrets.unknown);
    clients.admin = s.api;
    secrets.admin = ADMIN_TOKEN;
    alice = clients.owner;
    const base = await alice.post('/v1/intents', simpleIntent('matrix-base'));
    expect(base.body.state).toBe('running');
    decisionId = base.body.decision.id;
  });
  afterAll(async () => s.close());

  /** A running intent of team growth, on web, that nobody else touches. */
  async function freshRunning(): Promise<string> {
    const key = `running-${++n}`;
    const res = await alice.post('/v1/intents', simpleIntent(key));
    if (res.body?.state !== 'running') throw new Error(`fixture ${key}: ${res.text}`);
    return key;
  }

  /** An intent of team growth, submitted by alice, that owes one sre approval. */
  async function freshPending(): Promise<string> {
    const key = `pending-${++n}`;
    const res = await alice.post(
      '/v1/intents',
      exampleIntent({ key, layer: undefined, schedule: undefined, services: [{ service: 'checkout-api', flag: `pending_${n}` }] }),
    );
    if (res.body?.status !== 'pending_approval') throw new Error(`fixture ${key}: ${res.text}`);
    return key;
  }

  async function freshToken(): Promise<string> {
    return (await s.token({ name: `victim-${++n}`, role: 'governance' })).id;
  }

  const ofrepBody = { context: { targetingKey: 'user-1' } };

  const rows: Row[] = [
    { route: 'GET /healthz', call: () => ({ method: 'GET', path: '/healthz' }), expect: everyone(200) },
    { route: 'GET /readyz', call: () => ({ method: 'GET', path: '/readyz' }), expect: everyone(200) },
    { route: 'GET /metrics', call: () => ({ method: 'GET', path: '/metrics' }), expect: everyone(200) },
    { route: 'GET /openapi.json', call: () => ({ method: 'GET', path: '/openapi.json' }), expect: everyone(200) },
    // The web console page is public; everything it shows comes from /v1 with the user's token.
    { route: 'GET /', call: () => ({ method: 'GET', path: '/' }), expect: everyone(200) },
    { route: 'GET /v1/whoami', call: () => ({ method: 'GET', path: '/v1/whoami' }), expect: { ...everyone(200), ...UNAUTHENTICATED } },
    { route: 'GET /v1/intents', call: () => ({ method: 'GET', path: '/v1/intents' }), expect: only(humans(200)) },
    { route: 'GET /v1/intents/{key}', call: () => ({ method: 'GET', path: '/v1/intents/matrix-base' }), expect: only(humans(200)) },
    {
      route: 'POST /v1/intents',
      call: () => ({ method: 'POST', path: '/v1/intents', body: simpleIntent(`submitted-${++n}`) }),
      expect: only({ owner: 201, admin: 201 }, { owner_other_team: '403 forbidden_team' }),
    },
    {
      route: 'PUT /v1/intents/{key}',
      call: async () => {
        const key = await freshRunning();
        return { method: 'PUT', path: `/v1/intents/${key}`, body: simpleIntent(key, { exposure: 20 }) };
      },
      expect: only({ owner: 200, admin: 200 }, { owner_other_team: '403 forbidden_team' }),
    },
    {
      route: 'POST /v1/intents:evaluate',
      call: () => ({ method: 'POST', path: '/v1/intents:evaluate', body: simpleIntent('matrix-evaluated') }),
      expect: only(humans(200)),
    },
    {
      route: 'POST /v1/intents/{key}/approvals',
      call: async () => ({ method: 'POST', path: `/v1/intents/${await freshPending()}/approvals`, body: { comment: 'ok' } }),
      expect: only({ approver: 201, admin: 201 }),
    },
    {
      route: 'POST /v1/intents/{key}/actions',
      call: async () => ({ method: 'POST', path: `/v1/intents/${await freshRunning()}/actions`, body: { action: 'pause', reason: 'matrix' } }),
      expect: only({ owner: 200, operator: 200, admin: 200 }, { owner_other_team: '403 forbidden_team' }),
    },
    {
      route: 'DELETE /v1/intents/{key}',
      call: async () => ({ method: 'DELETE', path: `/v1/intents/${await freshPending()}` }),
      expect: only({ owner: 200, admin: 200 }, { owner_other_team: '403 forbidden_team' }),
    },
    { route: 'GET /v1/services/{service}/flags', call: () => ({ method: 'GET', path: '/v1/services/web/flags' }), expect: flagReaders() },
    {
      route: 'GET /v1/services/{service}/flags/stream',
      call: () => ({ method: 'GET', path: '/v1/services/web/flags/stream', stream: true }),
      expect: flagReaders(),
    },
    {
      route: 'POST /v1/services/{service}/ofrep/v1/evaluate/flags/{key}',
      call: () => ({ method: 'POST', path: '/v1/services/web/ofrep/v1/evaluate/flags/matrix_base_flag', body: ofrepBody }),
      expect: flagReaders(),
    },
    {
      route: 'POST /v1/services/{service}/ofrep/v1/evaluate/flags',
      call: () => ({ method: 'POST', path: '/v1/services/web/ofrep/v1/evaluate/flags', body: ofrepBody }),
      expect: flagReaders(),
    },
    { route: 'GET /v1/services/{service}/flagd.json', call: () => ({ method: 'GET', path: '/v1/services/web/flagd.json' }), expect: flagReaders() },
    {
      route: 'POST /v1/services/{service}/telemetry',
      call: () => ({ method: 'POST', path: '/v1/services/web/telemetry', body: { events: [] } }),
      expect: only({ service: 202, admin: 202 }, { service_other: '403 forbidden_service' }),
    },
    { route: 'GET /v1/intents/{key}/analysis', call: () => ({ method: 'GET', path: '/v1/intents/matrix-base/analysis' }), expect: only(humans(200)) },
    {
      route: 'GET /v1/intents/{key}/analysis?history=true',
      call: () => ({ method: 'GET', path: '/v1/intents/matrix-base/analysis?history=true' }),
      expect: only(humans(200)),
    },
    { route: 'GET /v1/decisions/{id}', call: () => ({ method: 'GET', path: `/v1/decisions/${decisionId}` }), expect: only(humans(200)) },
    { route: 'POST /v1/decisions/{id}:replay', call: () => ({ method: 'POST', path: `/v1/decisions/${decisionId}:replay` }), expect: only(humans(200)) },
    { route: 'GET /v1/policy', call: () => ({ method: 'GET', path: '/v1/policy' }), expect: only(humans(200)) },
    {
      route: 'PUT /v1/policy?dry_run=true',
      call: () => ({ method: 'PUT', path: '/v1/policy?dry_run=true', body: bundle, headers: { 'content-type': 'application/gzip' } }),
      expect: only({ governance: 200, admin: 200 }),
    },
    { route: 'GET /v1/audit', call: () => ({ method: 'GET', path: '/v1/audit' }), expect: only(humans(200)) },
    { route: 'GET /v1/audit/verify', call: () => ({ method: 'GET', path: '/v1/audit/verify' }), expect: only(humans(200)) },
    // A service token reads the feed of its own service only (the query cannot widen it).
    { route: 'GET /v1/events', call: () => ({ method: 'GET', path: '/v1/events' }), expect: only({ ...humans(200), service: 200, service_other: 200 }) },
    {
      route: 'GET /v1/events/stream',
      call: () => ({ method: 'GET', path: '/v1/events/stream', stream: true }),
      expect: only({ ...humans(200), service: 200, service_other: 200 }),
    },
    {
      route: 'POST /v1/tokens',
      call: () => ({ method: 'POST', path: '/v1/tokens', body: { name: `minted-${++n}`, role: 'operator' } }),
      expect: only({ admin: 201 }),
    },
    { route: 'GET /v1/tokens', call: () => ({ method: 'GET', path: '/v1/tokens' }), expect: only({ admin: 200 }) },
    { route: 'GET /v1/services', call: () => ({ method: 'GET', path: '/v1/services' }), expect: { ...everyone(200), ...UNAUTHENTICATED } },
    { route: 'DELETE /v1/tokens/{id}', call: async () => ({ method: 'DELETE', path: `/v1/tokens/${await freshToken()}` }), expect: only({ admin: 204 }) },
    // Anything else under /v1 still wants a token first, then is a plain 404.
    {
      route: 'GET /v1/no-such-route',
      call: () => ({ method: 'GET', path: '/v1/no-such-route' }),
      expect: { ...everyone(404), ...UNAUTHENTICATED },
    },
  ];

  async function perform(caller: Caller, call: Call): Promise<{ status: number; code: string | undefined; text: string }> {
    if (call.stream) {
      const ac = new AbortController();
      const secret = secrets[caller];
      const res = await fetch(s.base + call.path, { headers: secret ? { authorization: `Bearer ${secret}` } : {}, signal: ac.signal });
      const text = res.status === 200 ? '' : await res.text();
      ac.abort();
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { code?: string }).code;
      } catch {
        code = undefined;
      }
      return { status: res.status, code, text };
    }
    const res = await clients[caller].request(call.method, call.path, call.body, call.headers);
    return { status: res.status, code: res.body?.code, text: res.text };
  }

  it('every route × every caller answers exactly as SPEC §8 says', async () => {
    const mismatches: string[] = [];
    for (const row of rows) {
      for (const caller of CALLERS) {
        const expected = row.expect[caller];
        const [status, specific] = typeof expected === 'string' ? [Number(expected.slice(0, 3)), expected.slice(4)] : [expected, undefined];
        const code = specific ?? ({ 401: 'unauthorized', 403: 'forbidden' } as Record<number, string>)[status];
        let got: { status: number; code: string | undefined; text: string };
        try {
          got = await perform(caller, await row.call(caller));
        } catch (err) {
          mismatches.push(`${row.route} as ${caller}: ${String(err)}`);
          continue;
        }
        if (got.status !== status || (code !== undefined && got.code !== code)) {
          mismatches.push(`${row.route} as ${caller}: expected ${status}${code ? ` ${code}` : ''}, got ${got.status} ${got.code ?? ''} ${got.text.slice(0, 200)}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('has a row for every route the app mounts', () => {
    // Read from the express router stack of a freshly built app, so a new route without a row fails here.
    const app = buildApp(s.container);
    flagStreamsOf(app)?.closeAll();
    const covered = new Set(rows.map((r) => r.route.replace(/\?.*$/, '')));
    const missing = mountedRoutes(app).filter((r) => !covered.has(r));
    expect(missing).toEqual([]);
  });
});

/**
 * SPEC §8 tokens: 256 random bits, stored only as a SHA-256 hash, found by that hash and compared
 * in constant time (src/access/token-service.ts: `authenticate` hashes the presented token, finds
 * the row by `tokens.hash` (a unique index), then `crypto.timingSafeEqual`s the hashes), and never
 * written to the database or the logs in the clear.
 */
describe('tokens', () => {
  let s: TestServer;
  const TOKEN_FORM = /^sy_[A-Za-z0-9_-]{43}$/;

  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s.close());

  /** Every place a secret could rest: every row of every table, and the database and WAL files themselves. */
  function storedAnywhere(secret: string): string[] {
    const places: string[] = [];
    if (dumpText(s.container.db).includes(secret)) places.push('a database row');
    for (const file of [s.dbPath, `${s.dbPath}-wal`]) {
      if (fs.existsSync(file) && fs.readFileSync(file).includes(Buffer.from(secret))) places.push(file);
    }
    return places;
  }

  it('carry 256 random bits: sy_ and 43 base64url characters that decode to 32 bytes, never repeated', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await s.api.post('/v1/tokens', { name: `t${i}`, role: 'operator' });
      expect(res.status).toBe(201);
      const token = res.body.token as string;
      expect(token).toMatch(TOKEN_FORM);
      const bytes = Buffer.from(token.slice(3), 'base64url');
      expect(bytes).toHaveLength(32);
      expect(bytes.toString('base64url')).toBe(token.slice(3)); // canonical: all 256 bits are data
      expect(seen.has(token)).toBe(false);
      seen.add(token);
    }
  });

  it('are stored only as a SHA-256 hash: the secret is nowhere in the database', async () => {
    const created = await s.api.post('/v1/tokens', { name: 'stored', role: 'owner', team: 'growth' });
    const secret = created.body.token as string;
    const row = s.container.db.prepare('SELECT * FROM tokens WHERE id = ?').get(created.body.id) as Record<string, unknown>;
    expect(row['hash']).toBe(crypto.createHash('sha256').update(secret).digest('hex'));
    // The token works, so the database holds all it needs: the hash.
    expect((await apiFor(() => s.base, secret).get('/v1/intents')).status).toBe(200);
    expect(storedAnywhere(secret)).toEqual([]);
    expect(storedAnywhere(secret.slice(3))).toEqual([]);
    expect(storedAnywhere(ADMIN_TOKEN)).toEqual([]);
  });

  it('are not stored in the clear by an Idempotency-Key either; a retry gets the same id, not a second token, and not the secret again', async () => {
    const spec = { name: 'idem', role: 'governance' };
    const first = await s.api.post('/v1/tokens', spec, { 'idempotency-key': 'mint-1' });
    expect(first.status).toBe(201);
    const secret = first.body.token as string;
    expect(secret).toMatch(TOKEN_FORM);
    expect(storedAnywhere(secret)).toEqual([]);
    const retry = await s.api.post('/v1/tokens', spec, { 'idempotency-key': 'mint-1' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toMatchObject({ id: first.body.id, token: null, name: 'idem', role: 'governance' });
    const minted = s.container.db.prepare("SELECT count(*) FROM tokens WHERE name = 'idem'").pluck().get();
    expect(minted).toBe(1);
    expect((await apiFor(() => s.base, secret).get('/v1/policy')).status).toBe(200);
  });

  it('migration 2 scrubs the secrets that older idempotency records of POST /v1/tokens kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-migrate-'));
    const file = path.join(dir, 'old.db');
    const secret = `sy_${crypto.randomBytes(32).toString('base64url')}`;
    const old = new BetterSqlite3(file);
    old.exec(migrations[0]!.sql);
    old.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL); INSERT INTO schema_migrations VALUES (1, 'core', '2026-01-01T00:00:00Z')");
    const put = old.prepare('INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    put.run('tok_admin', 'k1', 'POST', '/v1/tokens', 'h1', 201, '{}', JSON.stringify({ id: 'tok_1', token: secret, name: 'n', role: 'owner' }), 'now');
    put.run('tok_admin', 'k2', 'POST', '/v1/tokens', 'h2', 400, '{}', '{"code":"validation_failed"}', 'now');
    put.run('tok_admin', 'k3', 'POST', '/v1/intents', 'h3', 400, '{}', 'not json', 'now');
    old.close();
    const db = openDatabase({ path: file });
    try {
      const bodies = db.prepare('SELECT key, body FROM idempotency_keys ORDER BY key').all();
      expect(bodies).toEqual([
        { key: 'k1', body: JSON.stringify({ id: 'tok_1', token: null, name: 'n', role: 'owner' }) },
        { key: 'k2', body: '{"code":"validation_failed"}' },
        { key: 'k3', body: 'not json' },
      ]);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never reach the logs: not from good requests, refused ones, wrong tokens, or bodies that carry them', async () => {
    const owner = await s.token({ name: 'logged', role: 'owner', team: 'growth' });
    const service = await s.token({ name: 'logged-svc', role: 'service', service: 'web' });
    const wrong = `sy_${crypto.randomBytes(32).toString('base64url')}`;
    const secrets: [string, string][] = [
      ['owner token', owner.secret],
      ['service token', service.secret],
      ['wrong token', wrong],
      ['admin token', ADMIN_TOKEN],
    ];
    const asWrong = apiFor(() => s.base, wrong);
    const calls = [
      owner.post('/v1/intents', simpleIntent('logged-one')),
      owner.get('/v1/intents/logged-one'),
      owner.post('/v1/tokens', { name: 'x', role: 'admin' }), // 403
      owner.del(`/v1/tokens/${service.id}`), // 403
      service.get('/v1/services/web/flags'),
      service.get('/v1/services/search/flags'), // 403 forbidden_service
      service.post('/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: owner.secret } }),
      asWrong.get('/v1/intents'), // 401
      asWrong.post('/v1/intents', simpleIntent('never')), // 401
      apiFor(() => s.base, null).get('/v1/intents', { authorization: `Basic ${Buffer.from(`alice:${wrong}`).toString('base64')}` }),
      apiFor(() => s.base, null).get('/v1/intents', { authorization: `Bearer ${wrong} extra` }),
      // The secret inside bodies, in fields that end up in error messages, details and decisions.
      owner.post('/v1/intents', simpleIntent('logged-two', { description: owner.secret, owner: owner.secret })), // 403 forbidden_team
      owner.post('/v1/intents', { ...simpleIntent('logged-three'), key: owner.secret }), // 201, a denied name
      owner.post('/v1/intents', { ...simpleIntent('logged-four'), [owner.secret]: 1 }), // 400 unknown field
      owner.post('/v1/intents', `{"key":"${owner.secret}",`), // 400 malformed
      owner.put('/v1/intents/logged-one', simpleIntent(wrong)), // 400 key mismatch
      owner.post('/v1/intents/logged-one/actions', { action: 'pause', reason: service.secret }),
      owner.post('/v1/intents:evaluate', simpleIntent('logged-five', { services: [{ service: owner.secret, flag: wrong }] })),
      s.api.post('/v1/tokens', { name: owner.secret, role: 'owner' }), // 400 team missing
      s.api.post('/v1/tokens', { name: 'ok', role: 'owner', team: 'growth' }, { 'idempotency-key': 'log-1' }),
      s.api.post('/v1/tokens', { name: 'other', role: 'owner', team: 'growth' }, { 'idempotency-key': 'log-1' }), // 422
      // The secret in the URL, where the request log line would carry it.
      owner.get(`/v1/intents/${owner.secret}`), // 404
      owner.get(`/v1/audit?actor=${wrong}`), // 200
    ];
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual([201, 200, 403, 403, 200, 403, 200, 401, 401, 401, 401, 403, 201, 400, 400, 400, 200, 200, 400, 201, 422, 404, 200]);
    secrets.push(['minted token', answers[19]!.body.token as string]);
    // Each leak as "<which secret>: <the log line>", so a failure says where it escaped.
    const leaks = secrets.flatMap(([which, secret]) =>
      s.logs.filter((line) => line.includes(secret) || line.includes(secret.slice(3))).map((line) => `${which}: ${line.trim()}`),
    );
    expect(leaks).toEqual([]);
  });
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** `METHOD /path/{param}` of every route of the app and its routers, as the rows spell them. */
function mountedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = layer.route.path.replace(/\\:/g, ':').replace(/\/:(\w+)/g, '/{$1}');
        for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${path}`);
      } else if (layer.handle.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
