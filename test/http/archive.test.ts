import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/** DELETE /v1/intents/{key}: archiving an intent that never ran. */
describe('archiving an intent (DELETE /v1/intents/{key})', () => {
  let s: TestServer;
  let alice: Api;
  let bob: Api;
  let sre: Api;
  let operator: Api;

  /** A draft of team growth owing one sre approval, on checkout-api/{flag}. */
  const pending = async (key: string, flag = `${key.replace(/-/g, '_')}_flag`) => {
    const res = await alice.post('/v1/intents', exampleIntent({ key, layer: undefined, schedule: undefined, services: [{ service: 'checkout-api', flag }] }));
    expect(res.body.status).toBe('pending_approval');
    return res;
  };

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    bob = await s.token({ name: 'bob', role: 'owner', team: 'search' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'olga', role: 'operator' });
  });
  afterAll(async () => s?.close());

  it('hides a pending draft from the lists, keeps it readable and audited, withdraws its version, and reserves its key', async () => {
    await pending('to-archive', 'shared_flag');
    const res = await alice.del('/v1/intents/to-archive');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: 'to-archive', state: 'archived', version: 1, active_version: null, outstanding_approvals: [] });

    const listed = (await alice.get('/v1/intents')).body.items.map((i: { key: string }) => i.key);
    expect(listed).not.toContain('to-archive');
    expect((await alice.get('/v1/intents?state=archived')).body.items.map((i: { key: string }) => i.key)).toEqual(['to-archive']);
    expect((await alice.get('/v1/intents/to-archive')).body.state).toBe('archived');

    // The key stays reserved, and says why.
    const again = await alice.post('/v1/intents', simpleIntent('to-archive'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'intent_exists' });
    expect(again.body.detail).toMatch(/archived/);
    // Nothing more happens to it: no approval, no new version, no action.
    expect((await sre.post('/v1/intents/to-archive/approvals', {})).body.code).toBe('not_pending_approval');
    expect((await alice.put('/v1/intents/to-archive', simpleIntent('to-archive'))).body.code).toBe('invalid_transition');
    expect((await alice.post('/v1/intents/to-archive/actions', { action: 'complete', reason: 'x' })).body.code).toBe('invalid_transition');

    // The withdrawn version no longer holds its flag: another experiment may take it.
    const taker = await alice.post('/v1/intents', exampleIntent({ key: 'flag-taker', layer: undefined, schedule: undefined, services: [{ service: 'checkout-api', flag: 'shared_flag' }] }));
    expect(taker.body.decision.violations).toEqual([]);

    const audit = (await alice.get('/v1/audit?experiment=to-archive')).body.events;
    expect(audit.map((e: { type: string }) => e.type)).toEqual(['submitted', 'decided', 'archived']);
    expect(audit[2]).toMatchObject({ actor: 'alice', data: { from_state: 'draft', to_state: 'archived', withdrawn_version: 1 } });
    expect((await alice.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it('archives a denied draft too (admin may), but never one that ran, twice, or of another team', async () => {
    await alice.post('/v1/intents', simpleIntent('denied-draft', { exposure: 80 }));
    expect((await s.api.del('/v1/intents/denied-draft')).body.state).toBe('archived');
    expect((await alice.del('/v1/intents/denied-draft')).body).toMatchObject({ status: 409, code: 'invalid_transition' });

    await alice.post('/v1/intents', simpleIntent('runs'));
    expect((await alice.del('/v1/intents/runs')).body).toMatchObject({ status: 409, code: 'invalid_transition' });
    // Rolled back to draft: it ran once, so it stays in the lists.
    await alice.post('/v1/intents/runs/actions', { action: 'rollback', reason: 'bad' });
    expect((await alice.get('/v1/intents/runs')).body.state).toBe('draft');
    expect((await alice.del('/v1/intents/runs')).body).toMatchObject({ status: 409, code: 'invalid_transition' });

    await pending('not-yours');
    expect((await bob.del('/v1/intents/not-yours')).body).toMatchObject({ status: 403, code: 'forbidden_team' });
    expect((await operator.del('/v1/intents/not-yours')).body).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await alice.del('/v1/intents/no-such-key')).body).toMatchObject({ status: 404, code: 'intent_not_found' });
    expect((await alice.get('/v1/intents/not-yours')).body.state).toBe('draft');
  });
});
