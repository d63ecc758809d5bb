import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * `editable` of GET /v1/intents/{key} (an addition to SPEC §4, for the console's Edit button) is
 * the answer of the rule PUT /v1/intents/{key} applies: listed true, the PUT is accepted; false, it
 * is refused with 403 or 409. And PUT honours If-Match: a new version edited from a version that is
 * no longer current is refused with 409 version_changed, and nothing is stored.
 */

type Caller = 'owner' | 'owner_other_team' | 'approver' | 'operator' | 'governance' | 'admin';
const CALLERS: Caller[] = ['owner', 'owner_other_team', 'approver', 'operator', 'governance', 'admin'];

let s: TestServer;
let as: Record<Caller, Api>;
let seq = 0;

async function ok(res: Promise<{ status: number; text: string }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`fixture step ${what}: ${r.status} ${r.text}`);
}

const STATES: Record<string, (key: string) => Promise<void>> = {
  pending: (key) => ok(as.owner.post('/v1/intents', simpleIntent(key, { services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_f` }], exposure: 1 })), 'submit'),
  denied: (key) => ok(as.owner.post('/v1/intents', simpleIntent(key, { exposure: 90 })), 'submit'),
  running: (key) => ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit'),
  paused: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.operator.post(`/v1/intents/${key}/actions`, { action: 'pause', reason: 'fixture' }), 'pause');
  },
  completed: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'fixture' }), 'complete');
  },
  archived: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key, { exposure: 90 })), 'submit');
    await ok(as.owner.del(`/v1/intents/${key}`), 'archive');
  },
};

describe('editable agrees with PUT /v1/intents/{key}; PUT honours If-Match', () => {
  beforeAll(async () => {
    s = await startServer();
    as = {
      owner: await s.token({ name: 'alice', role: 'owner', team: 'growth' }),
      owner_other_team: await s.token({ name: 'bob', role: 'owner', team: 'search' }),
      approver: await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] }),
      operator: await s.token({ name: 'olga', role: 'operator' }),
      governance: await s.token({ name: 'gina', role: 'governance' }),
      admin: s.api,
    };
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('for every caller in every state, editable is true exactly when the PUT is accepted', async () => {
    const table: Record<string, Record<string, boolean>> = {};
    const mismatches: string[] = [];
    for (const [state, build] of Object.entries(STATES)) {
      for (const caller of CALLERS) {
        const key = `ed-${state}-${++seq}`;
        await build(key);
        const read = await as[caller].get(`/v1/intents/${key}`);
        expect(read.status).toBe(200);
        const editable = read.body.editable;
        expect(typeof editable, `${caller} ${state}`).toBe('boolean');
        (table[state] ??= {})[caller] = editable;
        const res = await as[caller].put(`/v1/intents/${key}`, simpleIntent(key, { exposure: 5 }));
        const agrees = editable ? res.status === 200 : res.status === 403 || res.status === 409;
        if (!agrees) mismatches.push(`${caller} on ${state}: editable ${editable}, PUT answered ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
    expect(mismatches).toEqual([]);
    // Not vacuous: the owner of the team and admin may edit until the experiment is completed or archived; nobody else ever.
    const open = { owner: true, owner_other_team: false, approver: false, operator: false, governance: false, admin: true };
    const closed = { owner: false, owner_other_team: false, approver: false, operator: false, governance: false, admin: false };
    expect(table).toEqual({ pending: open, denied: open, running: open, paused: open, completed: closed, archived: closed });
  });

  it('a PUT whose If-Match names a version that is no longer current is 409 version_changed and stores nothing; the current ETag is accepted', async () => {
    const key = 'ed-if-match';
    await ok(as.owner.post('/v1/intents', simpleIntent(key, { exposure: 90 })), 'submit');
    const v1 = await as.owner.get(`/v1/intents/${key}`);
    const tag1 = v1.headers.get('etag')!;
    expect(tag1).toBeTruthy();
    // Someone submits v2 meanwhile.
    expect((await as.owner.put(`/v1/intents/${key}`, simpleIntent(key, { exposure: 20 }))).status).toBe(200);
    const before = await s.dump();
    const stale = await as.owner.put(`/v1/intents/${key}`, simpleIntent(key, { exposure: 30 }), { 'if-match': tag1 });
    expect(stale.status).toBe(409);
    expect(stale.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(stale.body).toMatchObject({ code: 'version_changed', current_version: 2 });
    expect(await s.dump()).toEqual(before);

    const tag2 = (await as.owner.get(`/v1/intents/${key}`)).headers.get('etag')!;
    expect(stale.body.current_etag).toBe(tag2);
    const fresh = await as.owner.put(`/v1/intents/${key}`, simpleIntent(key, { exposure: 30 }), { 'if-match': tag2 });
    expect(fresh.status).toBe(200);
    expect(fresh.body.intent).toEqual({ key, version: 3 });
    // `*` pins nothing.
    expect((await as.owner.put(`/v1/intents/${key}`, simpleIntent(key, { exposure: 31 }), { 'if-match': '*' })).status).toBe(200);
  });
});
