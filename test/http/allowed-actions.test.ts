import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTENT_ACTIONS, type IntentAction } from '../../src/intents/intent-actions.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { guardedIntent } from '../helpers/rollout-telemetry.js';

/**
 * `allowed_actions` of GET /v1/intents/{key} and the action routes agree, for every kind of caller
 * × every state an intent can be in × every action: an action the field lists is accepted (2xx),
 * one it does not list is refused with 403 or 409. Each cell acts on a fixture of its own state,
 * rebuilt once an accepted action has moved it on, so no cell's answer shapes another's.
 */

type Caller = 'owner' | 'owner_other_team' | 'submitter_as_approver' | 'sre' | 'privacy' | 'governance' | 'operator' | 'service' | 'admin';
const CALLERS: Caller[] = ['owner', 'owner_other_team', 'submitter_as_approver', 'sre', 'privacy', 'governance', 'operator', 'service', 'admin'];

let s: TestServer;
let as: Record<Caller, Api>;
let seq = 0;

/** Critical checkout-api asks one sre approval; purchase_history (confidential) one privacy approval. */
const critical = (key: string, extra: Record<string, unknown> = {}) =>
  simpleIntent(key, { services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_flag` }], exposure: 1, ...extra });

async function ok(res: Promise<{ status: number; text: string }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`fixture step ${what}: ${r.status} ${r.text}`);
}

/** Each state an intent can be in, built through the API as alice (owner, team growth) and others. */
const STATES: Record<string, (key: string) => Promise<void>> = {
  pending: async (key) => ok(as.owner.post('/v1/intents', critical(key)), 'submit'),
  /** Owes sre and privacy; sam (sre) has approved: only privacy is missing. */
  pending_half_approved: async (key) => {
    await ok(as.owner.post('/v1/intents', critical(key, { data_access: ['purchase_history'] })), 'submit');
    await ok(as.sre.post(`/v1/intents/${key}/approvals`, {}), 'approve');
  },
  denied: async (key) => ok(as.owner.post('/v1/intents', simpleIntent(key, { exposure: 90 })), 'submit'),
  scheduled: async (key) =>
    ok(as.owner.post('/v1/intents', simpleIntent(key, { schedule: { start: '2026-12-01T00:00:00Z', end: '2026-12-20T00:00:00Z' } })), 'submit'),
  running: async (key) => ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit'),
  /** v1 runs while v2 (which adds a critical service) waits for sre. */
  running_v2_pending: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key, { exposure: 1 })), 'submit');
    const v2 = simpleIntent(key, { exposure: 1 });
    v2['services'] = [...v2['services'], { service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_api` }];
    await ok(as.owner.put(`/v1/intents/${key}`, v2), 'v2');
  },
  paused: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.operator.post(`/v1/intents/${key}/actions`, { action: 'pause', reason: 'fixture' }), 'pause');
  },
  shipped: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.owner.post(`/v1/intents/${key}/actions`, { action: 'ship', variant: 'treatment', reason: 'fixture' }), 'ship');
  },
  rolled_back_to_draft: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.operator.post(`/v1/intents/${key}/actions`, { action: 'rollback', reason: 'fixture' }), 'rollback');
  },
  completed: async (key) => {
    await ok(as.owner.post('/v1/intents', simpleIntent(key)), 'submit');
    await ok(as.owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'fixture' }), 'complete');
  },
  archived: async (key) => {
    await ok(as.owner.post('/v1/intents', critical(key)), 'submit');
    await ok(as.owner.del(`/v1/intents/${key}`), 'archive');
  },
  rollout_ready: async (key) =>
    ok(as.owner.post('/v1/intents', guardedIntent(key, { stages: [{ exposure: 10, hold: 'PT0S' }, { exposure: 20 }], guardrails: [] })), 'submit'),
  rollout_holding: async (key) =>
    ok(as.owner.post('/v1/intents', guardedIntent(key, { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 20 }], guardrails: [] })), 'submit'),
  rollout_last_stage: async (key) => {
    await ok(as.owner.post('/v1/intents', guardedIntent(key, { stages: [{ exposure: 10, hold: 'PT0S' }, { exposure: 20 }], guardrails: [] })), 'submit');
    await ok(as.owner.post(`/v1/intents/${key}/actions`, { action: 'advance' }), 'advance');
  },
};

function call(caller: Caller, key: string, action: IntentAction) {
  const api = as[caller];
  if (action === 'approve') return api.post(`/v1/intents/${key}/approvals`, {});
  if (action === 'advance') return api.post(`/v1/intents/${key}/actions`, { action });
  if (action === 'ship') return api.post(`/v1/intents/${key}/actions`, { action, variant: 'treatment', reason: 'agreement test' });
  return api.post(`/v1/intents/${key}/actions`, { action, reason: 'agreement test' });
}

describe('allowed_actions agrees with the action routes', () => {
  beforeAll(async () => {
    s = await startServer();
    as = {
      owner: await s.token({ name: 'alice', role: 'owner', team: 'growth' }),
      owner_other_team: await s.token({ name: 'bob', role: 'owner', team: 'search' }),
      // alice's own approver token: the submitter by the server's person rule.
      submitter_as_approver: await s.token({ name: ' Alice ', role: 'approver', approval_roles: ['sre', 'privacy'] }),
      sre: await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] }),
      privacy: await s.token({ name: 'pia', role: 'approver', approval_roles: ['privacy'] }),
      governance: await s.token({ name: 'gina', role: 'governance' }),
      operator: await s.token({ name: 'olga', role: 'operator' }),
      service: await s.token({ name: 'web', role: 'service', service: 'web' }),
      admin: s.api,
    };
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it.each(Object.keys(STATES))('in state %s, for every caller and every action', async (state) => {
    const build = STATES[state]!;
    const seen = new Set<string>();
    const mismatches: string[] = [];
    for (const caller of CALLERS) {
      let key: string | null = null;
      let allowed: string[] = [];
      for (const action of INTENT_ACTIONS) {
        if (key === null) {
          key = `aa-${state.replace(/_/g, '-')}-${++seq}`;
          await build(key);
          const read = await as[caller].get(`/v1/intents/${key}`);
          if (caller === 'service') {
            // A service token may not read intents: it is offered nothing, and may do nothing.
            expect(read.status).toBe(403);
            allowed = [];
          } else {
            expect(read.status).toBe(200);
            expect(read.body.allowed_actions).toEqual(INTENT_ACTIONS.filter((a) => read.body.allowed_actions.includes(a)));
            allowed = read.body.allowed_actions;
          }
          for (const a of allowed) seen.add(`${caller}:${a}`);
        }
        const res = await call(caller, key, action);
        const listed = allowed.includes(action);
        const agrees = listed ? res.status >= 200 && res.status < 300 : res.status === 403 || res.status === 409;
        if (!agrees) mismatches.push(`${caller} ${action} on ${state}: ${listed ? 'listed' : 'not listed'}, route answered ${res.status} ${res.text.slice(0, 160)}`);
        // An accepted action moved the fixture on: the next action gets a fresh one.
        if (res.status < 300) key = null;
      }
    }
    expect(mismatches).toEqual([]);
    // The table is not vacuous: each state offers something to somebody (a completed or archived
    // intent offers nothing to anyone).
    if (state === 'completed' || state === 'archived') expect([...seen]).toEqual([]);
    else expect(seen.size).toBeGreaterThan(0);
  });

  it('lists what each caller may do on a pending draft, a running experiment and a ready rollout', async () => {
    const read = async (caller: Caller, key: string) => (await as[caller].get(`/v1/intents/${key}`)).body.allowed_actions;
    await STATES['pending']!('aa-named-pending');
    expect(await read('owner', 'aa-named-pending')).toEqual(['complete']);
    expect(await read('sre', 'aa-named-pending')).toEqual(['approve']);
    expect(await read('admin', 'aa-named-pending')).toEqual(['approve', 'complete']);
    expect(await read('submitter_as_approver', 'aa-named-pending')).toEqual([]);
    expect(await read('privacy', 'aa-named-pending')).toEqual([]);
    expect(await read('owner_other_team', 'aa-named-pending')).toEqual([]);
    await STATES['running']!('aa-named-running');
    expect(await read('operator', 'aa-named-running')).toEqual(['pause', 'rollback', 'complete', 'ship']);
    expect(await read('governance', 'aa-named-running')).toEqual([]);
    await STATES['rollout_ready']!('aa-named-rollout');
    expect(await read('owner', 'aa-named-rollout')).toEqual(['pause', 'rollback', 'complete', 'advance', 'ship']);
    // The action routes answer with the intent as it is after the action, for the same caller.
    const paused = await as.owner.post('/v1/intents/aa-named-rollout/actions', { action: 'pause', reason: 'look' });
    expect(paused.body.allowed_actions).toEqual(['resume', 'rollback', 'complete', 'ship']);
  });
});
