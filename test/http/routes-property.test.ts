import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { dumpDatabase } from '../helpers/db-dump.js';
import { ADMIN_TOKEN as ADMIN, simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';
import { openSse, type SseConnection } from '../fixtures/sse-client.js';

/**
 * Property tests for the routes text-rules.test.ts and fuzz.test.ts do not reach (issue "Tests that
 * bite", item 2): decision replay, the query strings of every list route, and `Last-Event-ID` on
 * both SSE streams. Strings range over all of UTF-16 (lone surrogates, controls, astral planes),
 * numbers come as JSON/query text (`1e400`, `-0`, `1.0000000001`), and after every 2xx write the
 * resource, the lists and `/v1/audit/verify` must answer correctly. The seed is fixed and printed.
 */

const SEED = 20_260_611;

/** Strings over all of UTF-16: lone surrogates, controls, astral planes, and plain ones. */
const text = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 10 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }),
  fc.constantFrom('\ud800', 'a\udfffb', '\u0000', '\u0085', '😀', '\ud83d\ude00\ud83d', 'growth', 'web'),
);
/** Numbers as the text a client writes. */
const numberText = fc.oneof(
  fc.constantFrom('1e400', '-0', '1.0000000001', '0', '1', '5', '100', '500', '501', '1000', '1001', '0x10', '+5', ' 5', '5 ', '5.0', '1e2', '-1', 'NaN', 'Infinity', '99999999999999999999', '007', ''),
  fc.nat().map(String),
  fc.double().map(String),
);

/**
 * Percent-encodes a string as UTF-8, except that a lone surrogate becomes its WTF-8 bytes (what a
 * careless client sends): the server must refuse it, not turn it into U+FFFD and carry on.
 */
function pct(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

function expectProblemOr2xx(r: ApiResponse, what: string): void {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    expect(r.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    expect(Object.keys(ERROR_CODES), `${what}: ${r.text.slice(0, 200)}`).toContain(r.body?.code);
    expect(ERROR_CODES[r.body.code as keyof typeof ERROR_CODES], `${what}: the code's status`).toBe(r.status);
  } else {
    expect(r.status, what).toBeGreaterThanOrEqual(200);
    expect(r.status, what).toBeLessThan(300);
  }
}

/** After a 2xx write: the resource reads back, the lists name it, the audit chain verifies. */
async function readsAfterWrite(api: Api, key: string, owner: string): Promise<void> {
  const one = await api.get(`/v1/intents/${encodeURIComponent(key)}`);
  expect(one.status, one.text.slice(0, 300)).toBe(200);
  expect(one.body.intent.key).toBe(key);
  expect(one.body.owner).toBe(owner);
  const decision = await api.get(`/v1/decisions/${one.body.decision.id}`);
  expect(decision.status).toBe(200);
  const listed = await api.get(`/v1/intents?owner=${encodeURIComponent(owner)}&limit=500`);
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((i: { key: string }) => i.key)).toContain(key);
  const trail = await api.get(`/v1/audit?experiment=${encodeURIComponent(key)}`);
  expect(trail.status).toBe(200);
  expect(trail.body.events.map((e: { type: string }) => e.type)).toContain('submitted');
  expect(trail.body.events.every((e: { experiment: string }) => e.experiment === key)).toBe(true);
  expect((await api.get('/v1/audit/verify')).body).toMatchObject({ ok: true });
}

describe('property: decision replay', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  // Intents that land in every outcome: allowed, owing approvals, denied (unknown service or data
  // class, exposure over a tier cap, a flag already driven by another running intent).
  const intent = fc.record({
    owner: fc.oneof(fc.constantFrom('growth', 'search'), text),
    description: text,
    services: fc.uniqueArray(
      fc.record({ service: fc.constantFrom('web', 'search', 'checkout-api', 'payments', 'nowhere'), flag: fc.constantFrom('shared_a', 'shared_b', 'own') }),
      { minLength: 1, maxLength: 3, selector: (x) => x.service },
    ),
    exposure: fc.constantFrom('1', '4.5', '5', '10', '60', '100', '1e400', '-0', '1.0000000001'),
    data_access: fc.subarray(['clickstream', 'purchase_history', 'query_logs', 'contact_info', 'made_up']),
  });

  it('every stored decision replays to itself under its revision, and replay changes nothing', async () => {
    console.log(`fast-check seed ${SEED}`);
    let i = 0;
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(intent, text, async (x, badId) => {
        i++;
        const key = `rp-${i}`;
        const services = x.services.map((sv) => ({ service: sv.service, flag: sv.flag === 'own' ? `own_${i}` : sv.flag }));
        const body = JSON.stringify(simpleIntent(key, { owner: x.owner, description: x.description, services, data_access: x.data_access, exposure: 7 })).replace(
          '"exposure":7',
          `"exposure":${x.exposure}`,
        );
        const before = (await s.api.get('/v1/audit/verify')).body.events as number;
        const w = await s.api.request('POST', '/v1/intents', body, { 'content-type': 'application/json' });
        expectProblemOr2xx(w, `POST /v1/intents ${body}`);
        if (w.status >= 400) {
          expect((await s.api.get('/v1/audit/verify')).body.events, 'a refused write changes nothing').toBe(before);
        } else {
          expect(w.status).toBe(201);
          outcomes.set(w.body.status, (outcomes.get(w.body.status) ?? 0) + 1);
          await readsAfterWrite(s.api, key, x.owner);
          const id = w.body.decision.id as string;
          const stored = await s.api.get(`/v1/decisions/${id}`);
          const dump = JSON.stringify(dumpDatabase(s.container.db));
          const r = await s.api.post(`/v1/decisions/${encodeURIComponent(id)}:replay`);
          expect(r.status, r.text.slice(0, 300)).toBe(200);
          // The replay is the stored decision, exactly, under the revision that made it.
          expect(r.body.decision_id).toBe(id);
          expect(r.body.policy_revision).toBe(w.body.decision.policy_revision);
          expect(r.body.matches).toBe(true);
          expect(r.body.replayed).toEqual(r.body.original);
          expect(stored.status).toBe(200);
          expect(r.body.original).toEqual(stored.body.result);
          const { id: _id, policy_revision: _rev, ...answered } = w.body.decision;
          expect(r.body.replayed).toMatchObject(answered);
          expect(JSON.stringify(dumpDatabase(s.container.db)), 'a replay writes nothing').toBe(dump);
        }
        // An id that names no decision, in any UTF-16: a 4xx problem, never a 5xx.
        const miss = await s.api.post(`/v1/decisions/${pct(`d_${badId}`)}:replay`);
        expectProblemOr2xx(miss, `replay of ${JSON.stringify(badId)}`);
        expect(miss.status).toBeGreaterThanOrEqual(400);
      }),
      { seed: SEED, numRuns: 60 },
    );
    console.log(`replay outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // The property means something only if it saw each outcome.
    for (const status of ['approved', 'pending_approval', 'denied']) expect(outcomes.get(status) ?? 0, status).toBeGreaterThan(0);
  }, 180_000);
});

describe('property: query strings of every list route', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
    await s.api.post('/v1/intents', simpleIntent('qs-seed'));
    await s.api.post('/v1/intents/qs-seed/actions', { action: 'pause', reason: 'seed' });
  });
  afterAll(async () => s?.close());

  const routes: Record<string, string[]> = {
    '/v1/intents': ['owner', 'state', 'cursor', 'limit'],
    '/v1/audit': ['experiment', 'service', 'actor', 'type', 'from', 'to', 'cursor', 'limit'],
    '/v1/events': ['after', 'service', 'limit'],
    '/v1/tokens': [],
    '/v1/services': [],
    '/v1/audit/verify': [],
  };
  const numericParams: Record<string, string[]> = { '/v1/intents': ['limit'], '/v1/audit': ['cursor', 'limit'], '/v1/events': ['after', 'limit'] };
  // Names mostly of the route's own parameters (so values reach its parser), some of other routes,
  // some arbitrary; values as number text, any UTF-16, or plausible words.
  const param = (own: string[]) =>
    fc.tuple(
      fc.oneof(
        { weight: own.length > 0 ? 6 : 0, arbitrary: fc.constantFrom(...(own.length > 0 ? own : ['limit'])) },
        { weight: 2, arbitrary: fc.constantFrom(...new Set(Object.values(routes).flat())) },
        { weight: 1, arbitrary: text },
        { weight: 1, arbitrary: fc.constantFrom('limit[]', 'limit[a]', '__proto__', 'constructor', 'owner.x', '') },
      ),
      fc.oneof(numberText, text, fc.constantFrom('running', 'paused', 'archived', 'growth', 'qs-seed', 'web', '2026-01-01T00:00:00Z', 'submitted')),
    );
  const query = fc.constantFrom(...Object.keys(routes)).chain((route) =>
    fc.record({
      route: fc.constant(route),
      params: fc.array(param(routes[route]!), { maxLength: 3 }),
      repeat: fc.boolean(),
      raw: fc.constantFrom('', '', '', '&', '&&', '%', '%zz', '=', '&=x', '%ED%A0%80=1'),
    }),
  );

  it('each answers 200 or a 4xx problem+json, changes nothing, and honours the filters it accepts', async () => {
    console.log(`fast-check seed ${SEED}`);
    let ok = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(query, async ({ route, params, repeat, raw }) => {
        const pairs = repeat && params.length > 0 ? [...params, params[0]!] : params;
        const qs = [...pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`), raw].filter((p) => p !== '').join('&');
        const url = `${route}?${qs}`;
        const dump = JSON.stringify(dumpDatabase(s.container.db));
        const r = await s.api.get(url);
        expectProblemOr2xx(r, `GET ${url}`);
        expect(JSON.stringify(dumpDatabase(s.container.db)), `GET ${url} changes nothing`).toBe(dump);
        // Numbers in a query string are decimal digits only: `1e2`, `0x10`, ` 5`, `-0` are refused.
        const numeric = (numericParams[route] ?? []).filter((name) => pairs.some(([k, v]) => k === name && !/^[0-9]{1,16}$/.test(v)));
        if (numeric.length > 0) expect(r.status, `GET ${url}: ${numeric.join(', ')} not decimal digits`).toBe(400);
        if (r.status >= 400) {
          refused++;
          return;
        }
        ok++;
        // What the server accepted, it honoured (a single, well-formed value of a known filter).
        const one = (name: string) => {
          const vs = pairs.filter(([k]) => k === name).map(([, v]) => v);
          return vs.length === 1 ? vs[0] : undefined;
        };
        const limit = one('limit');
        const found = r.body.items ?? r.body.events;
        const list = Array.isArray(found) ? (found as Record<string, unknown>[]) : undefined;
        if (limit !== undefined && list) expect(list.length).toBeLessThanOrEqual(Number(limit));
        if (route === '/v1/intents' && one('owner') !== undefined) expect(list!.every((i) => i['owner'] === one('owner'))).toBe(true);
        if (route === '/v1/intents' && one('state') !== undefined) expect(list!.every((i) => i['state'] === one('state'))).toBe(true);
        if (route === '/v1/audit' && one('experiment') !== undefined) expect(list!.every((e) => e['experiment'] === one('experiment'))).toBe(true);
        if (route === '/v1/audit' && one('type') !== undefined) expect(list!.every((e) => e['type'] === one('type'))).toBe(true);
        if (route === '/v1/events' && one('service') !== undefined) expect(list!.every((e) => e['service'] === one('service'))).toBe(true);
        if (route === '/v1/events' && one('after') !== undefined) expect(list!.every((e) => (e['id'] as number) > Number(one('after')))).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
    console.log(`query strings: ${ok} answered 200, ${refused} refused with a 4xx problem`);
    expect(ok).toBeGreaterThan(30);
    expect(refused).toBeGreaterThan(30);
  }, 180_000);

  it('a value written in any UTF-16 is found again by the filter that names it, or refused at both ends', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(text, async (owner) => {
        const key = `qw-${++i}`;
        const w = await s.api.post('/v1/intents', simpleIntent(key, { owner }));
        const q = await s.api.get(`/v1/intents?owner=${pct(owner)}`);
        const a = await s.api.get(`/v1/audit?actor=${pct(owner)}&experiment=${key}`);
        expectProblemOr2xx(q, `owner=${JSON.stringify(owner)}`);
        expectProblemOr2xx(a, `actor=${JSON.stringify(owner)}`);
        if (!owner.isWellFormed()) {
          expect(w.status, 'a lone surrogate is refused in the body').toBe(400);
          // In a query string its WTF-8 bytes are not UTF-8: the parser reads U+FFFD (SPEC §2's
          // text rules name bodies and paths), so it matches nothing that was written.
          if (q.status === 200) expect(q.body.items.map((x: { key: string }) => x.key)).not.toContain(key);
          return;
        }
        expect(q.status).toBe(200);
        if (w.status !== 201) {
          expectProblemOr2xx(w, `owner ${JSON.stringify(owner)}`);
          return;
        }
        await readsAfterWrite(s.api, key, owner);
        expect(q.body.items.map((x: { key: string }) => x.key)).toContain(key);
        expect(q.body.items.every((x: { owner: string }) => x.owner === owner)).toBe(true);
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 120_000);
});

/** One GET over a raw socket, so a header can carry bytes `fetch` would refuse to send. */
function rawStreamStatus(base: string, path: string, token: string, lastEventId: Buffer): Promise<{ status: number; head: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let got = '';
    sock.on('data', (c) => {
      got += c.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0) {
        sock.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), head: got.slice(0, end) });
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), head: got }));
    sock.write(
      Buffer.concat([
        Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\nLast-Event-ID: `, 'latin1'),
        lastEventId,
        Buffer.from('\r\nConnection: close\r\n\r\n', 'latin1'),
      ]),
    );
  });
}

describe('property: Last-Event-ID on the flags stream and the change feed', () => {
  let s: TestServer;
  let n = 0;
  const open: SseConnection[] = [];
  beforeAll(async () => {
    s = await startServer();
    for (let i = 0; i < 3; i++) expect((await s.api.post('/v1/intents', simpleIntent(`le-seed-${i}`))).status).toBe(201);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await s?.close();
  });

  /** A 2xx write that changes web's flags, and the reads that must follow it. */
  async function write(): Promise<void> {
    const key = `le-${++n}`;
    const w = await s.api.post('/v1/intents', simpleIntent(key, { exposure: 1 }));
    expect(w.status, w.text).toBe(201);
    await readsAfterWrite(s.api, key, 'growth');
  }

  /** Header values: valid ids (current, older, newer), numbers as text, any UTF-16. */
  const headerValue = (current: () => number) =>
    fc.oneof(
      fc.constantFrom('current', 'older', 'newer', 'zero').map((k) => ({ k, v: () => String(k === 'current' ? current() : k === 'older' ? current() - 1 : k === 'newer' ? current() + 1000 : 0) })),
      numberText.map((t) => ({ k: 'text', v: () => t })),
      text.map((t) => ({ k: 'text', v: () => t })),
    );

  /** The id the server takes from a header value (SPEC: decimal digits; anything else is no id). */
  const parsed = (v: string): number | undefined => (/^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : undefined);

  it('flags stream: resumes for valid ids, sends the current document otherwise, never stalls', async () => {
    console.log(`fast-check seed ${SEED}`);
    const version = async () => (await s.api.get('/v1/services/web/flags')).body.version as number;
    let current = await version();
    await fc.assert(
      fc.asyncProperty(headerValue(() => current), async (h) => {
        current = await version();
        const value = h.v();
        const sendable = /^[\x20-\x7e\t]*$/.test(value);
        if (!sendable) {
          // fetch cannot send it; a raw client can: a 4xx, or the stream (its bytes are no id).
          const raw = await rawStreamStatus(s.base, '/v1/services/web/flags/stream', ADMIN, Buffer.from(value, 'utf8'));
          expect(raw.status, `${JSON.stringify(value)}: ${raw.head.slice(0, 200)}`).toBeGreaterThanOrEqual(200);
          expect(raw.status).not.toBeGreaterThanOrEqual(500);
          if (raw.status !== 200) expect(raw.status).toBe(400);
          return;
        }
        const c = await openSse(`${s.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${ADMIN}`, 'last-event-id': value });
        open.push(c);
        expect(c.status, c.text).toBe(200);
        const doc = await s.api.get('/v1/services/web/flags');
        if (parsed(value) !== current) {
          // Behind, ahead, or no id at all: the current document at once.
          const first = await c.nextEvent().catch((e: Error) => {
            throw new Error(`Last-Event-ID ${JSON.stringify(value)} (version ${current}): ${e.message}`);
          });
          expect(first.id).toBe(String(current));
          expect(first.data).toBe(doc.text);
        }
        // Either way, the next change arrives next: the stream is live, not stuck or repeating.
        await write();
        const next = await c.nextEvent();
        expect(next.id).toBe(String(current + 1));
        expect(next.data).toBe((await s.api.get('/v1/services/web/flags')).text);
        c.close();
        current++;
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 180_000);

  it('change feed: resumes after a valid id with exactly what the list has, never stalls', async () => {
    const latest = async () => {
      const all = (await s.api.get('/v1/events?limit=1000')).body.events as { id: number }[];
      return all.length ? all[all.length - 1]!.id : 0;
    };
    let last = await latest();
    await fc.assert(
      fc.asyncProperty(headerValue(() => last), async (h) => {
        last = await latest();
        const value = h.v();
        if (!/^[\x20-\x7e\t]*$/.test(value)) {
          const raw = await rawStreamStatus(s.base, '/v1/events/stream', ADMIN, Buffer.from(value, 'utf8'));
          expect(raw.status, `${JSON.stringify(value)}: ${raw.head.slice(0, 200)}`).toBeLessThan(500);
          if (raw.status !== 200) expect(raw.status).toBe(400);
          return;
        }
        const c = await openSse(`${s.base}/v1/events/stream`, { authorization: `Bearer ${ADMIN}`, 'last-event-id': value });
        open.push(c);
        expect(c.status, c.text).toBe(200);
        // A valid id resumes after it; anything else is no id, so the feed starts from the beginning.
        const after = parsed(value) ?? 0;
        const missed = (await s.api.get(`/v1/events?after=${after}&limit=1000`)).body.events as { id: number }[];
        const why = (e: Error) => {
          throw new Error(`Last-Event-ID ${JSON.stringify(value)} (feed at ${last}): ${e.message}`);
        };
        for (const want of missed) {
          const got = await c.nextEvent().catch(why);
          expect(Number(got.id)).toBe(want.id);
          expect(JSON.parse(got.data)).toEqual(want);
        }
        // Then live: the next change arrives next, whatever id the client named.
        await write();
        const now = await latest();
        const next = await c.nextEvent().catch(why);
        expect(Number(next.id), `after Last-Event-ID ${JSON.stringify(value)} the feed delivers the next change`).toBe(now);
        c.close();
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 180_000);
});
