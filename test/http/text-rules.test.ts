import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/access/actor.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * SPEC §2 text rules (issue "Hardening", items 1 and 7): every string in every request must be
 * well-formed Unicode, identifiers carry no control characters, a JSON body names each member once;
 * what is accepted comes back byte for byte from every read, and no stored value, however old, makes
 * a read fail or the audit chain report tampering that never happened.
 */

const SEED = 7_120_301;
const ADMIN: Actor = { tokenId: 'tok_test', name: 'admin', role: 'admin', team: null, approvalRoles: [], service: null };

/** Does any string inside the parsed JSON `value` equal `s` exactly? */
function holds(value: unknown, s: string): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === s) return true;
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === s) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/** Every read endpoint; each must answer 2xx whatever is stored. */
async function reads(api: Api) {
  const urls = ['/v1/intents', '/v1/audit?limit=1000', '/v1/audit/verify', '/v1/events', '/v1/services/web/flags', '/v1/services/web/flagd.json', '/v1/whoami'];
  const out: Record<string, any> = {};
  for (const u of urls) {
    const r = await api.get(u);
    expect(r.status, `${u}: ${r.text.slice(0, 300)}`).toBeLessThan(300);
    out[u] = r.body;
  }
  const bulk = await api.post('/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u1' } });
  expect(bulk.status).toBe(200);
  for (const item of (out['/v1/intents'] as { items: { key: string }[] }).items) {
    if (!item.key.isWellFormed()) continue; // such a key cannot be written in a URL at all
    const r = await api.get(`/v1/intents/${encodeURIComponent(item.key)}`);
    expect(r.status, `GET /v1/intents/${JSON.stringify(item.key)}: ${r.text.slice(0, 300)}`).toBe(200);
  }
  expect(out['/v1/audit/verify'], 'the audit chain verifies').toMatchObject({ ok: true });
  return out;
}

const expect400 = (r: { status: number; body: any; text: string }, path?: string) => {
  expect(r.status, r.text).toBe(400);
  expect(r.body.code).toBe('validation_failed');
  if (path !== undefined) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
};

describe('poison rows written by an older version', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  it('every read answers 2xx, keys still find their rows, and verify reports no tampering', async () => {
    // A chain written by the current code first.
    expect((await s.api.post('/v1/intents', simpleIntent('plain-one'))).status).toBe(201);

    // What an older version stored, through the same code below the HTTP boundary: a key with a lone
    // surrogate (better-sqlite3 writes it as WTF-8 bytes), an audit event whose experiment, actor and
    // service carry NUL, escape sequences, C1 controls and lone surrogates, hashed over the strings
    // as written.
    const surrogateKey = 'poison-\ud800-key';
    await s.container.intents.submit(simpleIntent(surrogateKey, { services: [{ service: 'web', flag: 'poison_flag_\udfff' }] }), ADMIN);
    await s.container.lifecycle.transaction((u) =>
      s.container.audit.append(u, {
        type: 'submitted',
        actor: 'mallory\u0000\ud83d',
        experiment: 'x\u0000\u001b[31m\u0085\udc00',
        service: 'web\u007f',
        data: { reason: 'a\u0000b\ud800', [`k\udbff`]: '\u0001' },
      }),
    );
    // And straight in SQL: an intent key with NUL and control characters, copied from a real row.
    const db = new Database(s.dbPath);
    const nulKey = 'poison\u0000nul\u0007';
    const body = JSON.parse((db.prepare(`SELECT body FROM intent_versions WHERE key = 'plain-one'`).get() as { body: string }).body);
    db.transaction(() => {
      db.prepare(`INSERT INTO experiments (key, owner, current_version, active_version, state, due_at, created_at, updated_at) SELECT ?, owner, current_version, active_version, state, due_at, created_at, updated_at FROM experiments WHERE key = 'plain-one'`).run(nulKey);
      db.prepare(
        `INSERT INTO intent_versions (key, version, body, status, decision_id, layer, exposure, slice_start, slice_end, submitted_by, submitted_at, retired_at)
         SELECT ?, version, ?, status, decision_id, layer, exposure, slice_start, slice_end, submitted_by, submitted_at, retired_at FROM intent_versions WHERE key = 'plain-one'`,
      ).run(nulKey, JSON.stringify({ ...body, key: nulKey }));
    })();
    const stored = db.prepare(`SELECT hex(key) AS h FROM experiments WHERE key LIKE 'poison-%'`).get() as { h: string };
    expect(stored.h, 'the lone surrogate is stored as its WTF-8 bytes, as before the text rules').toContain('EDA080');
    db.close();

    await s.restart();
    const got = await reads(s.api);
    const keys = (got['/v1/intents'] as { items: { key: string }[] }).items.map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining(['plain-one', surrogateKey, nulKey]));
    expect(holds(got['/v1/audit?limit=1000'], 'mallory\u0000\ud83d')).toBe(true);
    expect(holds(got['/v1/audit?limit=1000'], 'x\u0000\u001b[31m\u0085\udc00')).toBe(true);
    const nul = await s.api.get(`/v1/intents/${encodeURIComponent(nulKey)}`);
    expect(nul.body.intent.key).toBe(nulKey);
    // The surrogate key's versions are found from the key as read (the list needs them).
    const item = (got['/v1/intents'] as { items: { key: string; services: { flag: string }[] }[] }).items.find((i) => i.key === surrogateKey)!;
    expect(item.services[0]!.flag).toBe('poison_flag_\udfff');
    // A chain that goes on after the poison rows still verifies.
    expect((await s.api.post('/v1/intents', simpleIntent('plain-two'))).status).toBe(201);
    expect((await s.api.get('/v1/audit/verify')).body).toMatchObject({ ok: true });
  });
});

describe('text rules at the boundary', () => {
  let s: TestServer;
  let n = 0;
  const fresh = () => `tr-${++n}`;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  /** POSTs raw JSON text (the harness would re-serialise an object and lose a duplicate member). */
  const raw = (api: Api, method: string, url: string, text: string) => api.request(method, url, text, { 'content-type': 'application/json' });

  it('refuses a lone surrogate anywhere in a body: value, member name, nested flag value, comment', async () => {
    const k = fresh();
    expect400(await raw(s.api, 'POST', '/v1/intents', JSON.stringify(simpleIntent(k, { description: 'a\ud800' }))), 'description');
    expect400(await raw(s.api, 'POST', '/v1/intents', JSON.stringify(simpleIntent(k, { variants: [{ key: 'c', weight: 1, value: { '\udc00': 1 } }, { key: 't', weight: 1, value: 2 }] }))), 'variants.0.value.\ufffd');
    expect400(await raw(s.api, 'POST', '/v1/intents:evaluate', JSON.stringify(simpleIntent(k, { owner: '\udbff' }))), 'owner');
    expect400(await s.api.post('/v1/tokens', { name: 'n\ud800', role: 'admin' }), 'name');
    expect400(await s.api.post(`/v1/services/web/ofrep/v1/evaluate/flags`, { context: { targetingKey: '\ud800' } }), 'context.targetingKey');
    expect((await s.api.get(`/v1/intents/${k}`)).status).toBe(404);
  });

  it('refuses control characters in every identifier, and keeps them in free text', async () => {
    const bad = '\u0000\u0007\u001f\u007f\u0085\u009f';
    const cases: [string, Record<string, unknown>][] = [
      ['key', { key: `tr-x${bad[0]}` }],
      ['owner', { owner: `growth${bad[1]}` }],
      ['services.0.service', { services: [{ service: `web${bad[2]}`, flag: 'f' }] }],
      ['services.0.flag', { services: [{ service: 'web', flag: `f${bad[3]}` }] }],
      ['variants.0.key', { variants: [{ key: `c${bad[4]}`, weight: 1, value: 1 }, { key: 't', weight: 1, value: 2 }] }],
      ['audience.0.attribute', { audience: [{ attribute: `a${bad[5]}`, op: 'eq', value: 'x' }] }],
      ['data_access.0', { data_access: ['click\u0000stream'] }],
      ['layer', { layer: 'l\u0000' }],
    ];
    for (const [path, override] of cases) expect400(await s.api.post('/v1/intents', simpleIntent(fresh(), override)), path);
    for (const field of ['name', 'team'] as const) expect400(await s.api.post('/v1/tokens', { name: 'n', role: 'owner', team: 't', [field]: 'x\u0085' }), field);
    expect400(await s.api.post('/v1/tokens', { name: 'n', role: 'approver', approval_roles: ['sre\u0000'] }), 'approval_roles.0');
    expect400(await s.api.post('/v1/tokens', { name: 'n', role: 'service', service: 'web\u001b' }), 'service');
    // Free text keeps what it was sent, controls included.
    const description = 'tab\there\nnewline \u0000 nul \u0085 and 😀';
    const k = fresh();
    expect((await s.api.post('/v1/intents', simpleIntent(k, { description }))).status).toBe(201);
    expect((await s.api.get(`/v1/intents/${k}`)).body.intent.description).toBe(description);
  });

  it('refuses a duplicate member name, on express and on the read path alike', async () => {
    const k = fresh();
    const text = JSON.stringify(simpleIntent(k)).replace('"exposure":10', '"exposure":10,"layer":"a","layer":"b"');
    expect400(await raw(s.api, 'POST', '/v1/intents', text), 'layer');
    expect400(await raw(s.api, 'POST', '/v1/tokens', '{"name":"a","role":"admin","\\u006eame":"b"}'), 'name');
    expect400(await raw(s.api, 'POST', `/v1/intents/${k}/actions`, '{"action":"pause","reason":"a","reason":"b"}'), 'reason');
    // OFREP: the plain request takes the read path; with an Idempotency-Key it goes through express.
    for (const headers of [{}, { 'idempotency-key': 'dup-1' }] as Record<string, string>[]) {
      const r = await s.api.request('POST', '/v1/services/web/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"u1","targetingKey":"u2"}}', { 'content-type': 'application/json', ...headers });
      expect400(r, 'context.targetingKey');
      expect(r.body.errorCode).toBe('INVALID_CONTEXT');
    }
    expect((await s.api.get(`/v1/intents/${k}`)).status).toBe(404);
  });

  it('refuses flag and variant keys that cannot be served, and serves the other Object.prototype names', async () => {
    expect400(await s.api.post('/v1/intents', simpleIntent(fresh(), { services: [{ service: 'web', flag: '__proto__' }] })), 'services.0.flag');
    expect400(await s.api.post('/v1/intents', simpleIntent(fresh(), { variants: [{ key: '__proto__', weight: 1, value: 1 }, { key: 't', weight: 1, value: 2 }] })), 'variants.0.key');
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const k = fresh();
      const r = await s.api.post('/v1/intents', simpleIntent(k, { services: [{ service: 'web', flag: name }], variants: [{ key: name, weight: 1, value: 'a' }, { key: 'prototype', weight: 1, value: 'b' }], exposure: 1 }));
      expect(r.body.status).toBe('approved');
      const doc = (await s.api.get('/v1/services/web/flags')).body;
      expect(Object.hasOwn(doc.flags, name) && doc.flags[name].variants).toEqual({ [name]: 'a', prototype: 'b' });
      const one = await s.api.post(`/v1/services/web/ofrep/v1/evaluate/flags/${name}`, { context: { targetingKey: 'u1' } });
      expect(one.body).toMatchObject({ key: name, value: 'a', variant: name });
      expect(Object.hasOwn((await s.api.get('/v1/services/web/flagd.json')).body.flags, name)).toBe(true);
      await s.api.post(`/v1/intents/${k}/actions`, { action: 'complete', reason: 'done' });
    }
  });

  it('refuses a semver_* value that is not a version, keeps accepting real ones', async () => {
    for (const value of ['latest', '1.2', '01.2.3', ' 1.2.3', '1.2.3 ', 'v3.0.0', '=1.2.3', 42]) {
      expect400(await s.api.post('/v1/intents', simpleIntent(fresh(), { audience: [{ attribute: 'app_version', op: 'semver_gte', value }] })), 'audience.0.value');
    }
    for (const value of ['1.2.3', '1.2.3-beta.1+build.5', '10.20.30-rc.1']) {
      expect((await s.api.post('/v1/intents:evaluate', simpleIntent(fresh(), { audience: [{ attribute: 'app_version', op: 'semver_lt', value }] }))).status).toBe(200);
    }
  });

  it('judges numbers as JSON text: more than two decimals, 1e400 and -0', async () => {
    const send = (exposureText: string) => raw(s.api, 'POST', '/v1/intents:evaluate', JSON.stringify(simpleIntent(fresh(), { exposure: 7 })).replace('"exposure":7', `"exposure":${exposureText}`));
    for (const x of ['1.0000000001', '4.501', '1e400', '-0', '0.001']) expect400(await send(x), 'exposure');
    for (const x of ['4.5', '0.07', '99.99', '1e1', '100']) expect((await send(x)).status, x).toBe(200);
    // 1e400 is Infinity to JSON.parse and null to JSON.stringify: refused wherever a number goes.
    const flagValue = JSON.stringify(simpleIntent(fresh())).replace('"value":"off"', '"value":1e400');
    expect400(await raw(s.api, 'POST', '/v1/intents', flagValue), 'variants.0.value');
  });

  it('takes limit, cursor and after only as decimal digits', async () => {
    for (const url of ['/v1/intents', '/v1/audit', '/v1/events']) {
      for (const v of ['0x10', '1e2', ' 5', '+5', '5.0', '']) expect400(await s.api.get(`${url}?limit=${encodeURIComponent(v)}`), 'limit');
      expect((await s.api.get(`${url}?limit=5`)).status).toBe(200);
    }
    expect400(await s.api.get('/v1/audit?cursor=0x1'), 'cursor');
    expect400(await s.api.get('/v1/events?after=1e1'), 'after');
  });
});

describe('property: arbitrary UTF-16 in every string field of every write', () => {
  let s: TestServer;
  let approver: Api;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  /** Strings over all of UTF-16: lone surrogates, controls, astral planes, and plain ones. */
  const text = fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
    fc.constantFrom('\ud800', 'a\udfffb', '\u0000', '\u0085', '😀', '\ud83d\ude00\ud83d', 'x'),
  );

  type Write = { kind: string; run(v: string, i: number): Promise<{ status: number; body: any; text: string }>; reads(v: string, i: number): Promise<unknown[]> };
  let running = '';
  const writes: Write[] = [];
  const intentField = (field: string, make: (v: string, key: string) => Record<string, unknown>) =>
    writes.push({
      kind: `intent.${field}`,
      run: (v, i) => s.api.post('/v1/intents', simpleIntent(`p-${i}`, make(v, `p-${i}`))),
      reads: async (v, i) => {
        const key = (make(v, `p-${i}`)['key'] as string | undefined) ?? `p-${i}`;
        const one = await s.api.get(`/v1/intents/${encodeURIComponent(key)}`);
        expect(one.status).toBe(200);
        const decision = await s.api.get(`/v1/decisions/${one.body.decision.id}`);
        expect(decision.status).toBe(200);
        return [one.body.intent, decision.body.input];
      },
    });
  intentField('key', (v) => ({ key: `p-${v}` }));
  intentField('owner', (v) => ({ owner: v }));
  intentField('description', (v) => ({ description: v }));
  intentField('unit', (v) => ({ unit: v }));
  intentField('service', (v) => ({ services: [{ service: v, flag: 'f' }] }));
  intentField('flag', (v) => ({ services: [{ service: 'web', flag: v }] }));
  intentField('variant', (v) => ({ variants: [{ key: v, weight: 1, value: 1 }, { key: `${v}-2`, weight: 1, value: 2 }] }));
  intentField('value', (v) => ({ variants: [{ key: 'c', weight: 1, value: v }, { key: 't', weight: 1, value: { [v]: [v] } }] }));
  intentField('attribute', (v) => ({ audience: [{ attribute: v, op: 'in', values: [v] }] }));
  intentField('layer', (v) => ({ layer: v }));
  intentField('data_access', (v) => ({ data_access: [v] }));
  writes.push({
    kind: 'evaluate',
    run: (v, i) => s.api.post('/v1/intents:evaluate', simpleIntent(`e-${i}`, { description: v, owner: v })),
    reads: async () => [],
  });
  writes.push({
    kind: 'token',
    run: (v) => s.api.post('/v1/tokens', { name: v, role: 'approver', approval_roles: [v] }),
    reads: async (v) => [(await s.api.get('/v1/audit?type=token_created&limit=1000')).body],
  });
  writes.push({
    kind: 'action.reason',
    run: async (v) => {
      const r = await s.api.post(`/v1/intents/${running}/actions`, { action: 'pause', reason: v });
      await s.api.post(`/v1/intents/${running}/actions`, { action: 'resume', reason: 'back' });
      return r;
    },
    reads: async () => [(await s.api.get(`/v1/audit?experiment=${running}&limit=1000`)).body],
  });
  writes.push({
    kind: 'approval.comment',
    run: async (v, i) => {
      const submitted = await s.api.post('/v1/intents', { ...simpleIntent(`a-${i}`), services: [{ service: 'checkout-api', flag: `a_${i}` }], exposure: 1 });
      expect(submitted.body.status).toBe('pending_approval');
      return approver.post(`/v1/intents/a-${i}/approvals`, { comment: v });
    },
    reads: async (_v, i) => [(await s.api.get(`/v1/intents/a-${i}`)).body, (await s.api.get(`/v1/audit?experiment=a-${i}`)).body],
  });

  it('each is refused with 400 validation_failed and changes nothing, or comes back exactly', async () => {
    approver = await s.token({ name: 'approver-sre', role: 'approver', approval_roles: ['sre'] });
    running = 'prop-running';
    expect((await s.api.post('/v1/intents', simpleIntent(running))).body.status).toBe('approved');
    console.log(`fast-check seed ${SEED}`);
    let i = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...writes), text, async (w, v) => {
        i++;
        const before = (await s.api.get('/v1/audit/verify')).body.events as number;
        const r = await w.run(v, i);
        if (r.status === 400) {
          expect(r.body.code, r.text).toBe('validation_failed');
          if (w.kind !== 'approval.comment') expect((await s.api.get('/v1/audit/verify')).body.events, 'a refusal changes nothing').toBe(before);
        } else {
          expect(r.status, `${w.kind} ${JSON.stringify(v)}: ${r.text.slice(0, 300)}`).toBeLessThan(300);
          expect(v.isWellFormed(), `${w.kind} accepted a string that is not well-formed`).toBe(true);
          accepted++;
          for (const doc of await w.reads(v, i)) expect(holds(doc, v) || holds(doc, `p-${v}`), `${w.kind}: ${JSON.stringify(v)} comes back`).toBe(true);
        }
        await reads(s.api);
      }),
      { seed: SEED, numRuns: 100 },
    );
    expect(accepted, 'the property saw accepted writes too').toBeGreaterThan(15);
  }, 120_000);
});
