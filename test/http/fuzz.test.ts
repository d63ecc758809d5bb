import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import zlib from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/app.js';
import { ERROR_CODES } from '../../src/errors.js';
import { MAX_JSON_DEPTH } from '../../src/http/body.js';
import { BUNDLE_LIMIT } from '../../src/http/policy-router.js';
import { LIMITS } from '../../src/intents/intent-schema.js';
import { dumpDatabase, type DatabaseDump } from '../helpers/db-dump.js';
import { ADMIN_TOKEN, exampleIntent, simpleIntent, startServer, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

/**
 * Bad input never hurts (issue "Reliability and security, proven"). Property tests (fast-check)
 * throw random, malformed, oversized, deeply nested, wrong-typed and unicode bodies, odd content
 * types and encodings, huge headers and strange Idempotency-Keys at every write endpoint and at
 * OFREP. Whatever arrives:
 *
 * - the answer is never a 5xx, and the server keeps answering;
 * - every 4xx is problem+json whose `code` is in ERROR_CODES with that status (OFREP may instead
 *   answer with the protocol's own evaluation failure, `{key, errorCode, errorDetails}`);
 * - a 4xx changes nothing: the full database dump (audit trail and idempotency records included)
 *   is the same before and after. The one documented exception: with a valid Idempotency-Key, the
 *   4xx answer itself is recorded so that a retry replays it (docs/design.md, Idempotency); that one row is
 *   checked to be exactly this answer and then set aside.
 *
 * FUZZ_RUNS scales every property's run count (default 1); fast-check prints the seed and the
 * shrunk request of any failure.
 */

const SCALE = Number(process.env['FUZZ_RUNS'] ?? 1) || 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

const OFREP_ERROR_CODES = ['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'FLAG_NOT_FOUND', 'GENERAL'];
const KIB = 1024;
const JSON_LIMIT_BYTES = BODY_LIMIT_BYTES;
const BUNDLE_LIMIT_BYTES = parseInt(BUNDLE_LIMIT, 10) * KIB * KIB;

interface Caller {
  id: string;
  secret: string;
}

interface Req {
  method: 'POST' | 'PUT' | 'DELETE';
  path: string;
  caller: Caller;
  body?: Buffer;
  headers: Record<string, string>;
}

interface Got {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

// ---------------------------------------------------------------------------------------------
// Bodies

type Path = (string | number)[];

/** Every path into a JSON value: the places a mutation can hit. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const MARK = '\u0000fuzz-mark\u0000';
const MARK_JSON = JSON.stringify(MARK);
const MARK_KEY_JSON = JSON.stringify(`${MARK}key`);

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` containers deep. */
function deepText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'retype'; at: number; value: unknown }
  | { op: 'duplicate'; at: number; value: unknown }
  | { op: 'deep'; at: number; depth: number; kind: 'array' | 'object' };

/** Applies one mutation to a valid body and returns the JSON text (duplicate keys and deep values need text). */
function mutate(valid: unknown, m: Mutation): string {
  const doc = clone(valid) as Record<string, unknown>;
  const paths = pathsOf(doc).filter((p) => p.length > 0);
  const path = paths[m.at % paths.length]!;
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], doc);
  const last = path[path.length - 1]!;
  switch (m.op) {
    case 'drop':
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
      return JSON.stringify(doc);
    case 'retype':
      parent[last] = m.value;
      return JSON.stringify(doc) ?? '';
    case 'duplicate':
      // The same member twice in one object (JSON.parse keeps the last), or an array item twice.
      if (Array.isArray(parent)) {
        parent.splice(Number(last), 0, clone(parent[Number(last)]));
        return JSON.stringify(doc);
      }
      parent[`${MARK}key`] = m.value ?? null;
      return JSON.stringify(doc).replace(MARK_KEY_JSON, JSON.stringify(String(last)));
    case 'deep':
      parent[last] = MARK;
      return JSON.stringify(doc).replace(MARK_JSON, deepText(m.depth, m.kind));
  }
}

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constantFrom(1e308, -1, 0, 2 ** 53 + 1, '', ' ', '\u0000', '🙂🙂🙂', '\u202e', 'null', '__proto__', 'constructor', '%00'),
  // Own members that JavaScript treats specially (JSON.parse makes them plain data).
  fc.constantFrom(
    JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
    JSON.parse('{"constructor":{"prototype":{"polluted":true}}}') as unknown,
    JSON.parse('{"toString":1,"hasOwnProperty":"x","valueOf":[]}') as unknown,
  ),
);

type BodyPlan =
  | { kind: 'json'; text: string }
  | { kind: 'anything'; value: unknown }
  | { kind: 'mutation'; m: Mutation }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'text'; text: string }
  | { kind: 'deep'; depth: number; shape: 'array' | 'object' }
  | { kind: 'oversized'; extra: number; shape: 'field' | 'whitespace' }
  | { kind: 'empty' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: oddValue }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), value: oddValue }),
  fc.record({
    op: fc.constant('deep' as const),
    at: fc.nat(),
    depth: fc.constantFrom(MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1_000, 10_000),
    kind: fc.constantFrom('array' as const, 'object' as const),
  }),
);

const bodyPlan: fc.Arbitrary<BodyPlan> = fc.oneof(
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map((text) => ({ kind: 'json' as const, text })) },
  // fast-check 4's unicode JSON (fc.unicodeJsonValue in v3): strings over every code point.
  { weight: 2, arbitrary: fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }).map((value) => ({ kind: 'anything' as const, value })) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((value) => ({ kind: 'anything' as const, value })) },
  { weight: 6, arbitrary: mutation.map((m) => ({ kind: 'mutation' as const, m })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth: fc.constantFrom(1_000, 10_000, 100_000),
      shape: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('oversized' as const),
      extra: fc.integer({ min: 1, max: 64 * KIB }),
      shape: fc.constantFrom('field' as const, 'whitespace' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
);

function materialize(plan: BodyPlan, valid: unknown): Buffer {
  switch (plan.kind) {
    case 'json':
    case 'text':
      return Buffer.from(plan.text);
    case 'anything':
      return Buffer.from(JSON.stringify(plan.value) ?? '');
    case 'mutation':
      return Buffer.from(mutate(valid, plan.m));
    case 'bytes':
      return Buffer.from(plan.bytes);
    case 'deep':
      return Buffer.from(deepText(plan.depth, plan.shape));
    case 'oversized': {
      const size = JSON_LIMIT_BYTES + plan.extra;
      if (plan.shape === 'whitespace') {
        const text = JSON.stringify(valid);
        return Buffer.from(text + ' '.repeat(Math.max(0, size - text.length)));
      }
      return Buffer.from(JSON.stringify({ ...(valid as object), padding: 'x'.repeat(size) }));
    }
    case 'empty':
      return Buffer.alloc(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Headers

interface HeaderPlan {
  contentType: string | null;
  encoding: { name: string; compress: boolean } | null;
  idempotencyKey: string | null;
  filler: number | null;
  scheme: string;
  requestId: string | null;
  accept: string | null;
  ifNoneMatch: string | null;
}

/** `arb` in one case out of `oneIn`, otherwise null (fc.option's `freq` is the other way round). */
const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const latin1Char = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));

const headerPlan: fc.Arbitrary<HeaderPlan> = fc.record({
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        null,
        'application/json; charset=utf-8',
        'Application/JSON; Charset="UTF-8"',
        'application/json; charset=utf-16',
        'application/json; charset=iso-8859-1',
        'application/json; charset=',
        'application/json;;;',
        'application/problem+json',
        'application/merge-patch+json',
        'application/json, text/plain',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=fuzz',
        'application/octet-stream',
        '*/*',
        'application/',
        ';',
        '',
      ),
    },
  ),
  encoding: sometimes(fc.record({ name: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-fuzz', 'gzip, gzip'), compress: fc.boolean() }), 8),
  idempotencyKey: sometimes(
    fc.oneof(
      { weight: 3, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', 'a b', 'ä', 'k'.repeat(255), 'k'.repeat(256), 'same-key') },
      { weight: 1, arbitrary: fc.string({ unit: latin1Char, maxLength: 40 }) },
      { weight: 1, arbitrary: fc.integer({ min: 256, max: 8_000 }).map((n) => 'k'.repeat(n)) },
    ),
    3,
  ),
  // With the longest key and path this stays under Node's 16 KiB header limit (above it Node itself answers 431).
  filler: sometimes(fc.integer({ min: 1, max: 4_000 }), 4),
  scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER'),
  requestId: sometimes(fc.oneof(fc.string({ unit: latin1Char, maxLength: 200 }), fc.constant('x'.repeat(129))), 4),
  accept: sometimes(fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/json;q=0', ''), 4),
  // OFREP bulk answers 304 to a matching one; the rest must ignore it.
  ifNoneMatch: sometimes(fc.constantFrom('*', '"x"', 'W/"x"', '', ',,,', '"'.repeat(100)), 6),
});

function compress(name: string, body: Buffer): Buffer {
  if (name === 'gzip') return zlib.gzipSync(body);
  if (name === 'deflate') return zlib.deflateSync(body);
  if (name === 'br') return zlib.brotliCompressSync(body);
  return body;
}

function buildRequest(method: Req['method'], path: string, caller: Caller, body: Buffer | undefined, h: HeaderPlan): Req {
  const headers: Record<string, string> = { authorization: `${h.scheme} ${caller.secret}` };
  if (h.contentType !== null) headers['content-type'] = h.contentType;
  if (h.encoding && body) {
    headers['content-encoding'] = h.encoding.name;
    if (h.encoding.compress) body = compress(h.encoding.name, body);
  }
  if (h.idempotencyKey !== null) headers['idempotency-key'] = h.idempotencyKey;
  if (h.filler !== null) headers['x-fuzz-filler'] = 'f'.repeat(h.filler);
  if (h.requestId !== null) headers['x-request-id'] = h.requestId;
  if (h.accept !== null) headers['accept'] = h.accept;
  if (h.ifNoneMatch !== null) headers['if-none-match'] = h.ifNoneMatch;
  return { method, path, caller, headers, ...(body ? { body } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Paths

const encodeSegment = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80'; // a lone surrogate, percent-encoded
  }
};

/** A path segment: mostly the real one, sometimes random, odd or badly percent-encoded. */
const segment = (real: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(real) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%C0%AF', '%2F', '..', '.', '%00', '%F0%9F%92%A9', 'x'.repeat(2_000)) },
  );

// ---------------------------------------------------------------------------------------------

describe('bad input never hurts (property tests)', () => {
  let s: TestServer;
  let admin: Caller;
  let alice: Caller; // owner, growth
  let sre: Caller;
  let governance: Caller;
  let operator: Caller;
  let web: Caller; // service web
  let runId = 0;

  const db = () => s.container.db;

  async function send(req: Req): Promise<Got> {
    const res = await fetch(s.base + req.path, {
      method: req.method,
      headers: req.headers,
      ...(req.body ? { body: new Uint8Array(req.body) } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
  }

  function expectErrorDocument(res: Got, what: string, ofrep: boolean): void {
    if (ofrep && /^application\/json\b/.test(res.contentType) && typeof res.json?.errorCode === 'string') {
      // OFREP's own failure shape for an evaluation that ran (FLAG_NOT_FOUND, TARGETING_KEY_MISSING, …).
      expect(OFREP_ERROR_CODES, what).toContain(res.json.errorCode);
      expect(typeof res.json.key, what).toBe('string');
      return;
    }
    expect(res.contentType, what).toMatch(/^application\/problem\+json\b/);
    expect(Object.keys(ERROR_CODES), what).toContain(res.json?.code);
    expect(ERROR_CODES[res.json.code as keyof typeof ERROR_CODES], what).toBe(res.status);
    expect(res.json.status, what).toBe(res.status);
    expect(typeof res.json.detail, what).toBe('string');
  }

  /** Sets aside the idempotency record of this very answer (the documented exception), if there is one. */
  function withoutRecordedAnswer(before: DatabaseDump, after: DatabaseDump, req: Req, res: Got, what: string): DatabaseDump {
    const added = after['idempotency_keys']!.filter((row) => !before['idempotency_keys']!.some((b) => isDeepStrictEqual(b, row)));
    if (added.length === 0) return after;
    expect(added, what).toHaveLength(1);
    expect(req.headers['idempotency-key'], `an idempotency record without an Idempotency-Key: ${what}`).toBeDefined();
    expect(added[0], what).toMatchObject({ token_id: req.caller.id, key: req.headers['idempotency-key']!.trim(), status: res.status, body: res.text });
    return { ...after, idempotency_keys: after['idempotency_keys']!.filter((row) => row !== added[0]) };
  }

  /** The property: no 5xx; a 4xx is a well-formed error and leaves the database as it was. */
  async function expectHarmless(req: Req, opts: { ofrep?: boolean } = {}): Promise<Got> {
    const before = dumpDatabase(db());
    const res = await send(req);
    const body = req.body ? req.body.subarray(0, 200).toString('utf8') : '';
    const what = `${req.method} ${req.path.slice(0, 200)} [${JSON.stringify(req.headers).slice(0, 300)}] ${body} → ${res.status} ${res.text.slice(0, 400)}`;
    expect(res.status, what).toBeLessThan(500);
    expect(res.status, what).toBeGreaterThanOrEqual(200);
    if (res.status >= 400) {
      expectErrorDocument(res, what, opts.ofrep ?? false);
      const after = withoutRecordedAnswer(before, dumpDatabase(db()), req, res, what);
      expect(after, `a ${res.status} changed the database: ${what}`).toEqual(before);
    }
    return res;
  }

  async function expectAlive(): Promise<void> {
    const res = await fetch(`${s.base}/healthz`);
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    s = await startServer();
    const adminId = db().prepare("SELECT id FROM tokens WHERE name = 'bootstrap-admin'").pluck().get() as string;
    admin = { id: adminId, secret: ADMIN_TOKEN };
    const mk = async (spec: Parameters<TestServer['token']>[0]) => {
      const t = await s.token(spec);
      return { id: t.id, secret: t.secret };
    };
    alice = await mk({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await mk({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    governance = await mk({ name: 'gina', role: 'governance' });
    operator = await mk({ name: 'otto', role: 'operator' });
    web = await mk({ name: 'web-prod', role: 'service', service: 'web' });
    // Something for PUT, actions and approvals to act on (admin submits for team growth).
    expect((await s.api.post('/v1/intents', simpleIntent('existing'))).body.state).toBe('running');
    const pending = await s.api.post(
      '/v1/intents',
      exampleIntent({ key: 'pending', layer: 'pending', services: [{ service: 'checkout-api', flag: 'pending_flag' }], schedule: undefined }),
    );
    expect(pending.body.status).toBe('pending_approval');
    // OFREP is part of the contract (SPEC §7): its absence is a failure, never a reason to skip.
    const probe = await s.api.post('/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u' } });
    expect(probe.status, `OFREP bulk evaluation must exist: ${probe.text.slice(0, 200)}`).toBe(200);
  });
  afterAll(async () => s.close());

  /** A valid body of each JSON endpoint: mutations start from it. */
  const fuzzIntent = () =>
    simpleIntent(`fuzz-${++runId}`, {
      description: 'fuzzed',
      unit: 'user_id',
      audience: [{ attribute: 'country', op: 'in', values: ['US', 'CA'] }],
      data_access: ['clickstream'],
      schedule: { start: '2027-01-01T00:00:00Z', end: '2027-02-01T00:00:00Z' },
    });

  interface JsonEndpoint {
    name: string;
    method: 'POST' | 'PUT';
    path: fc.Arbitrary<string>;
    caller: () => Caller;
    valid: () => unknown;
    ofrep?: boolean;
    numRuns: number;
  }

  const jsonEndpoints: JsonEndpoint[] = [
    { name: 'POST /v1/intents', method: 'POST', path: fc.constant('/v1/intents'), caller: () => alice, valid: fuzzIntent, numRuns: 150 },
    {
      name: 'PUT /v1/intents/{key}',
      method: 'PUT',
      path: segment('existing').map((k) => `/v1/intents/${k}`),
      caller: () => alice,
      valid: () => simpleIntent('existing', { exposure: 20, description: 'fuzzed' }),
      numRuns: 100,
    },
    { name: 'POST /v1/intents:evaluate', method: 'POST', path: fc.constant('/v1/intents:evaluate'), caller: () => governance, valid: fuzzIntent, numRuns: 100 },
    {
      name: 'POST /v1/intents/{key}/approvals',
      method: 'POST',
      path: segment('pending').map((k) => `/v1/intents/${k}/approvals`),
      caller: () => sre,
      valid: () => ({ comment: 'fuzzed approval' }),
      numRuns: 80,
    },
    {
      name: 'POST /v1/intents/{key}/actions',
      method: 'POST',
      path: segment('existing').map((k) => `/v1/intents/${k}/actions`),
      caller: () => operator,
      valid: () => ({ action: 'pause', reason: 'fuzzed action' }),
      numRuns: 80,
    },
    {
      name: 'POST /v1/tokens',
      method: 'POST',
      path: fc.constant('/v1/tokens'),
      caller: () => admin,
      valid: () => ({ name: 'fuzzed', role: 'approver', approval_roles: ['sre', 'privacy'] }),
      numRuns: 80,
    },
    {
      name: 'POST /v1/services/{service}/ofrep/v1/evaluate/flags/{key}',
      method: 'POST',
      path: fc.tuple(segment('web'), segment('existing_flag')).map(([svc, key]) => `/v1/services/${svc}/ofrep/v1/evaluate/flags/${key}`),
      caller: () => web,
      valid: () => ({ context: { targetingKey: 'user-1', country: 'US', plan: { tier: 'gold' } } }),
      ofrep: true,
      numRuns: 80,
    },
    {
      name: 'POST /v1/services/{service}/ofrep/v1/evaluate/flags',
      method: 'POST',
      path: segment('web').map((svc) => `/v1/services/${svc}/ofrep/v1/evaluate/flags`),
      caller: () => web,
      valid: () => ({ context: { targetingKey: 'user-1', country: 'US', plan: { tier: 'gold' } } }),
      ofrep: true,
      numRuns: 80,
    },
  ];

  for (const ep of jsonEndpoints) {
    it(`${ep.name}: no 5xx, well-formed 4xx that change nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(ep.path, bodyPlan, headerPlan, async (path, plan, headers) => {
          const req = buildRequest(ep.method, path, ep.caller(), materialize(plan, ep.valid()), headers);
          await expectHarmless(req, { ofrep: ep.ofrep ?? false });
        }),
        { numRuns: runs(ep.numRuns) },
      );
      await expectAlive();
    });
  }

  it('DELETE /v1/tokens/{id}: odd ids and bodies', async () => {
    const id = fc.oneof(
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(encodeSegment) },
      { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ZZ', '..', '%2F', 'tok_', `tok_${'x'.repeat(3_000)}`, "tok_' OR 1=1 --") },
      { weight: 1, arbitrary: fc.ulid().map((u) => `tok_${u}`) },
    );
    await fc.assert(
      fc.asyncProperty(id, fc.option(bodyPlan), headerPlan, async (tokenId, plan, headers) => {
        const body = plan ? materialize(plan, { reason: 'x' }) : undefined;
        await expectHarmless(buildRequest('DELETE', `/v1/tokens/${tokenId}`, admin, body, headers));
      }),
      { numRuns: runs(60) },
    );
    await expectAlive();
    // Every fuzzing token still works: a random id revoked nothing.
    for (const c of [alice, sre, governance, operator, web]) {
      expect((await send({ method: 'POST', path: '/v1/intents:evaluate', caller: c, headers: { authorization: `Bearer ${c.secret}` } })).status).not.toBe(401);
    }
  });

  describe('PUT /v1/policy', () => {
    let real: Map<string, Buffer>;

    async function untar(gz: Buffer): Promise<Map<string, Buffer>> {
      const files = new Map<string, Buffer>();
      const extract = tar.extract();
      const done = new Promise<void>((resolve, reject) => {
        extract.on('entry', (h, stream, next) => {
          const chunks: Buffer[] = [];
          stream.on('data', (c: unknown) => chunks.push(c as Buffer));
          stream.on('end', () => {
            files.set(h.name, Buffer.concat(chunks));
            next();
          });
        });
        extract.on('finish', resolve);
        extract.on('error', reject);
      });
      extract.end(zlib.gunzipSync(gz));
      await done;
      return files;
    }

    async function tarGz(files: [string, Buffer][]): Promise<Buffer> {
      const pack = tar.pack();
      for (const [name, data] of files) pack.entry({ name }, data);
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack) chunks.push(c as Buffer);
      return zlib.gzipSync(Buffer.concat(chunks));
    }

    beforeAll(async () => {
      real = await untar(fs.readFileSync(BUNDLE_PATH));
    });

    type BundlePlan =
      | { kind: 'bytes'; bytes: Uint8Array }
      | { kind: 'gzip'; bytes: Uint8Array }
      | { kind: 'flip'; at: number; xor: number }
      | { kind: 'truncate'; at: number }
      | { kind: 'repack'; drop: string | null; replace: { name: string; content: string | Uint8Array } | null; extra: string | null };

    const bundlePlan: fc.Arbitrary<BundlePlan> = fc.oneof(
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 2_000 }) }),
      fc.record({ kind: fc.constant('gzip' as const), bytes: fc.uint8Array({ maxLength: 2_000 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('repack' as const),
        drop: fc.option(fc.constantFrom('/policy.wasm', '/data.json', '/.manifest')),
        replace: fc.option(
          fc.record({
            name: fc.constantFrom('/policy.wasm', '/data.json', '/.manifest'),
            content: fc.oneof(fc.json({ maxDepth: 3 }), fc.uint8Array({ maxLength: 500 }), fc.constantFrom('null', '[]', '{"wasm":5}', '{"wasm":[{"entrypoint":7}]}', '{"switchyard":null}')),
          }),
        ),
        extra: fc.option(fc.constantFrom('/../escape.txt', '/policy.wasm', '/deep/a/b/c.json')),
      }),
    );

    async function materializeBundle(plan: BundlePlan): Promise<{ body: Buffer; safe: boolean }> {
      const raw = fs.readFileSync(BUNDLE_PATH);
      switch (plan.kind) {
        case 'bytes':
          return { body: Buffer.from(plan.bytes), safe: true };
        case 'gzip':
          return { body: zlib.gzipSync(Buffer.from(plan.bytes)), safe: true };
        case 'flip': {
          const b = Buffer.from(raw);
          const i = plan.at % b.length;
          b[i] = b[i]! ^ plan.xor;
          return { body: b, safe: false };
        }
        case 'truncate':
          return { body: raw.subarray(0, plan.at % raw.length), safe: true };
        case 'repack': {
          const files = new Map(real);
          if (plan.drop) files.delete(plan.drop);
          if (plan.replace) files.set(plan.replace.name, Buffer.from(plan.replace.content));
          const list = [...files.entries()];
          if (plan.extra) list.push([plan.extra, Buffer.from('{}')]);
          return { body: await tarGz(list), safe: false };
        }
      }
    }

    it('random, corrupted and re-packed bundles: no 5xx, a refused bundle changes nothing', async () => {
      const empty = await expectHarmless({ method: 'PUT', path: '/v1/policy', caller: admin, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(empty.json?.code).toBe('policy_invalid');
      const active = s.container.engine.revision();
      const query = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('?dry_run=true', '?dry_run=1') },
        { weight: 1, arbitrary: fc.constantFrom('?dry_run=yes', '?dry_run=true&dry_run=true', '?dry_run[x]=1', '?dry_run=true&extra=1', '?%E0%A4%A=1') },
      );
      // Bundles are bytes: mostly the types a publisher would send (a JSON type sends them to the JSON parser).
      const bundleType = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('application/gzip', 'application/octet-stream', 'application/x-tar', null) },
        { weight: 1, arbitrary: fc.constantFrom('application/json', 'text/plain', 'application/gzip; charset=utf-16', '') },
      );
      await fc.assert(
        fc.asyncProperty(bundlePlan, query, headerPlan, bundleType, fc.boolean(), async (plan, q, headers, contentType, asGovernance) => {
          const { body, safe } = await materializeBundle(plan);
          // Activation would change the policy under the other properties: only provably broken
          // bundles are sent without dry_run.
          const path = `/v1/policy${safe ? '' : q}`;
          await expectHarmless(buildRequest('PUT', path, asGovernance ? governance : admin, body, { ...headers, contentType }));
        }),
        { numRuns: runs(40) },
      );
      expect(s.container.engine.revision()).toBe(active);
      await expectAlive();
    });
  });

  describe('regressions (each was a 500 or a wrong code before its fix)', () => {
    const J = (c: Caller, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${c.secret}`, 'content-type': 'application/json', ...extra });
    const deep = (n: number) => deepText(n, 'array');

    it('a flag value nested 10,000 levels deep is 400 validation_failed at its path, not a 500 (zod recursion)', async () => {
      const body = JSON.stringify(simpleIntent('deep-value')).replace('"off"', deep(10_000));
      const res = await expectHarmless({ method: 'POST', path: '/v1/intents', caller: alice, headers: J(alice), body: Buffer.from(body) });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('validation_failed');
      expect(res.json.errors[0].path).toMatch(/^variants\.0\.value(\.0)+$/);
    });

    it('a deeply nested body with an Idempotency-Key is a 400, not a 500 (JSON.stringify in the idempotency hash)', async () => {
      const res = await expectHarmless({ method: 'POST', path: '/v1/intents', caller: alice, headers: J(alice, { 'idempotency-key': 'deep-1' }), body: Buffer.from(deep(10_000)) });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('validation_failed');
    });

    it('an OFREP bulk context nested 10,000 levels deep is a 400, not a 500 (canonical JSON for the ETag)', async () => {
      const body = `{"context":{"targetingKey":"u","a":${deep(10_000)}}}`;
      const res = await expectHarmless({ method: 'POST', path: '/v1/services/web/ofrep/v1/evaluate/flags', caller: web, headers: J(web), body: Buffer.from(body) }, { ofrep: true });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'validation_failed', errorCode: 'INVALID_CONTEXT' });
    });

    it('a "__proto__" member in a flag value or an override is refused at its path, not silently dropped', async () => {
      const intent = JSON.stringify(simpleIntent('proto-member'));
      const bodies = [
        [intent.replace('"value":"on"', '"value":{"__proto__":{"a":1},"b":2}'), 'variants.1.value.__proto__'],
        [intent.replace('"value":"on"', '"value":"on","overrides":{"__proto__":"x"}'), 'variants.1.overrides.__proto__'],
      ] as const;
      for (const [body, path] of bodies) {
        const res = await expectHarmless({ method: 'POST', path: '/v1/intents', caller: alice, headers: J(alice), body: Buffer.from(body) });
        expect(res.status, res.text).toBe(400);
        expect(res.json.errors).toEqual([{ path, message: expect.any(String) }]);
      }
    });

    it('a path segment that is not valid percent-encoding is 400 validation_failed, not malformed_body', async () => {
      for (const path of ['/v1/intents/%E0%A4%A/actions', '/v1/tokens/%E0%A4%A']) {
        const method = path.startsWith('/v1/tokens') ? 'DELETE' : 'POST';
        const res = await expectHarmless({ method, path, caller: admin, headers: J(admin), body: Buffer.from('{"action":"pause","reason":"x"}') });
        expect(res.status).toBe(400);
        expect(res.json.code).toBe('validation_failed');
        expect(res.json.errors).toEqual([{ path: '(path)', message: expect.any(String) }]);
      }
    });

    it('the server logged no unhandled error during any of the properties', () => {
      const errors = s.logs.filter((l) => JSON.parse(l).level >= 50);
      expect(errors).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------
  // The documented limits (docs/errors.md, "Limits"): one over-the-limit case each, with the field path;
  // the at-the-limit case is accepted, so the boundary is where the table says.

  describe('limits', () => {
    const at = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
    const services = (n: number) => at(n, (i) => ({ service: `svc-${i}`, flag: `flag_${i}` }));
    const variants = (n: number) => at(n, (i) => ({ key: `v${i}`, weight: 1, value: i }));
    const audience = (n: number) => at(n, (i) => ({ attribute: `a${i}`, op: 'eq', value: 'x' }));
    const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

    // [what, field path, at-the-limit overrides, over-the-limit overrides]
    const intentLimits: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      [`services: ${LIMITS.services}`, 'services', { services: services(LIMITS.services) }, { services: services(LIMITS.services + 1) }],
      [`variants: ${LIMITS.variants}`, 'variants', { variants: variants(LIMITS.variants) }, { variants: variants(LIMITS.variants + 1) }],
      [`audience conditions: ${LIMITS.audience}`, 'audience', { audience: audience(LIMITS.audience) }, { audience: audience(LIMITS.audience + 1) }],
      [
        `values of one audience condition: ${LIMITS.audienceValues}`,
        'audience.0.values',
        { audience: [{ attribute: 'a', op: 'in', values: at(LIMITS.audienceValues, String) }] },
        { audience: [{ attribute: 'a', op: 'in', values: at(LIMITS.audienceValues + 1, String) }] },
      ],
      [
        `audience value: ${LIMITS.shortString * 4} characters`,
        'audience.0.value',
        { audience: [{ attribute: 'a', op: 'eq', value: 'v'.repeat(LIMITS.shortString * 4) }] },
        { audience: [{ attribute: 'a', op: 'eq', value: 'v'.repeat(LIMITS.shortString * 4 + 1) }] },
      ],
      [`data_access: ${LIMITS.dataAccess}`, 'data_access', { data_access: at(LIMITS.dataAccess, (i) => `c${i}`) }, { data_access: at(LIMITS.dataAccess + 1, (i) => `c${i}`) }],
      [`key (and every short string): ${LIMITS.shortString} characters`, 'key', { key: 'k'.repeat(LIMITS.shortString) }, { key: 'k'.repeat(LIMITS.shortString + 1) }],
      [`owner: ${LIMITS.shortString} characters`, 'owner', { owner: 'o'.repeat(LIMITS.shortString) }, { owner: 'o'.repeat(LIMITS.shortString + 1) }],
      [
        `service name: ${LIMITS.shortString} characters`,
        'services.0.service',
        { services: [{ service: 's'.repeat(LIMITS.shortString), flag: 'f' }] },
        { services: [{ service: 's'.repeat(LIMITS.shortString + 1), flag: 'f' }] },
      ],
      [`description: ${LIMITS.description} characters`, 'description', { description: 'd'.repeat(LIMITS.description) }, { description: 'd'.repeat(LIMITS.description + 1) }],
      [
        `variant value: ${LIMITS.valueBytes} bytes of JSON`,
        'variants.0.value',
        { variants: [{ key: 'a', weight: 1, value: 'v'.repeat(LIMITS.valueBytes - 2) }, { key: 'b', weight: 1, value: 1 }] },
        { variants: [{ key: 'a', weight: 1, value: 'v'.repeat(LIMITS.valueBytes - 1) }, { key: 'b', weight: 1, value: 1 }] },
      ],
      [
        'variant weight: 1,000,000',
        'variants.0.weight',
        { variants: [{ key: 'a', weight: 1_000_000, value: 1 }, { key: 'b', weight: 1, value: 2 }] },
        { variants: [{ key: 'a', weight: 1_000_001, value: 1 }, { key: 'b', weight: 1, value: 2 }] },
      ],
      [`layer: 63 characters`, 'layer', { layer: 'l'.repeat(63) }, { layer: 'l'.repeat(64) }],
      [
        `nesting: ${MAX_JSON_DEPTH} levels of arrays and objects in the body`,
        `variants.0.value${'.0'.repeat(MAX_JSON_DEPTH - 3)}`,
        { variants: [{ key: 'a', weight: 1, value: nested(MAX_JSON_DEPTH - 3) }, { key: 'b', weight: 1, value: 2 }] },
        { variants: [{ key: 'a', weight: 1, value: nested(MAX_JSON_DEPTH - 2) }, { key: 'b', weight: 1, value: 2 }] },
      ],
    ];

    it.each(intentLimits)('intent %s', async (_what, path, atLimit, overLimit) => {
      const ok = await expectHarmless({
        method: 'POST',
        path: '/v1/intents:evaluate',
        caller: alice,
        headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(simpleIntent('limit-ok', atLimit))),
      });
      expect(ok.status, ok.text).toBe(200);
      const over = await expectHarmless({
        method: 'POST',
        path: '/v1/intents',
        caller: alice,
        headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(simpleIntent('limit-over', overLimit))),
      });
      expect(over.status, over.text).toBe(400);
      expect(over.json.code).toBe('validation_failed');
      expect(over.json.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    });

    const otherLimits: [string, string, string, Caller | (() => Caller), unknown, string][] = [
      ['approval comment: 2000 characters', 'POST', '/v1/intents/pending/approvals', () => sre, { comment: 'c'.repeat(2_001) }, 'comment'],
      ['action reason: 2000 characters', 'POST', '/v1/intents/existing/actions', () => operator, { action: 'pause', reason: 'r'.repeat(2_001) }, 'reason'],
      ['token name: 128 characters', 'POST', '/v1/tokens', () => admin, { name: 'n'.repeat(129), role: 'governance' }, 'name'],
      ['token approval_roles: 20', 'POST', '/v1/tokens', () => admin, { name: 'n', role: 'approver', approval_roles: at(21, (i) => `r${i}`) }, 'approval_roles'],
    ];

    it.each(otherLimits)('%s', async (_what, method, path, caller, body, field) => {
      const c = typeof caller === 'function' ? caller() : caller;
      const res = await expectHarmless({
        method: method as Req['method'],
        path,
        caller: c,
        headers: { authorization: `Bearer ${c.secret}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
      });
      expect(res.status, res.text).toBe(400);
      expect(res.json.errors.map((e: { path: string }) => e.path)).toEqual([field]);
    });

    it.each([
      ['GET /v1/intents: 500', '/v1/intents?limit=', 500],
      ['GET /v1/audit: 1000', '/v1/audit?limit=', 1_000],
      ['GET /v1/events: 1000', '/v1/events?limit=', 1_000],
    ])('page size of %s', async (_what, url, max) => {
      expect((await s.api.get(`${url}${max}`)).status).toBe(200);
      const res = await s.api.get(`${url}${max + 1}`);
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['limit']);
    });

    it(`Idempotency-Key: 1 to 255 visible ASCII characters`, async () => {
      const send1 = (key: string) =>
        expectHarmless({
          method: 'POST',
          path: '/v1/intents:evaluate',
          caller: alice,
          headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: Buffer.from(JSON.stringify(simpleIntent('idem-limit'))),
        });
      expect((await send1(`limit-${'k'.repeat(249)}`)).status).toBe(200);
      const over = await send1('k'.repeat(256));
      expect(over.status).toBe(400);
      expect(over.json.errors.map((e: { path: string }) => e.path)).toEqual(['Idempotency-Key']);
    });

    it(`JSON body: ${JSON_LIMIT_BYTES / KIB} KiB (${JSON_LIMIT_BYTES} bytes), then 413`, async () => {
      const text = JSON.stringify(simpleIntent('size-limit'));
      const exact = Buffer.from(text + ' '.repeat(JSON_LIMIT_BYTES - text.length));
      const headers = { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' };
      expect((await expectHarmless({ method: 'POST', path: '/v1/intents:evaluate', caller: alice, headers, body: exact })).status).toBe(200);
      const res = await expectHarmless({ method: 'POST', path: '/v1/intents', caller: alice, headers, body: Buffer.concat([exact, Buffer.from(' ')]) });
      expect(res.status).toBe(413);
      expect(res.json.code).toBe('payload_too_large');
      // The limit applies to the decoded body: a small gzip that inflates past it is refused too.
      const zipped = zlib.gzipSync(Buffer.concat([exact, Buffer.from(' ')]));
      expect(zipped.length).toBeLessThan(JSON_LIMIT_BYTES / 10);
      const bomb = await expectHarmless({ method: 'POST', path: '/v1/intents', caller: alice, headers: { ...headers, 'content-encoding': 'gzip' }, body: zipped });
      expect(bomb.status).toBe(413);
    });

    it(`policy bundle: ${BUNDLE_LIMIT} (${BUNDLE_LIMIT_BYTES} bytes), then 413`, async () => {
      const res = await expectHarmless({
        method: 'PUT',
        path: '/v1/policy',
        caller: governance,
        headers: { authorization: `Bearer ${governance.secret}`, 'content-type': 'application/gzip' },
        body: Buffer.alloc(BUNDLE_LIMIT_BYTES + 1, 0x1f),
      });
      expect(res.status).toBe(413);
      expect(res.json.code).toBe('payload_too_large');
    });
  });
});
