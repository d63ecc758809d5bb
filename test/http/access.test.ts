import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../fixtures/http.js';
import { apiFor, exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/** SPEC §8 (tokens and roles) and the approval rules of §3/§4, through the real app. */
describe('access', () => {
  let s: TestServer;
  let alice: Api; // owner, growth
  let bob: Api; // owner, search
  let sre: Api;
  let privacy: Api;
  let webService: Api;

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    bob = await s.token({ name: 'bob', role: 'owner', team: 'search' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    privacy = await s.token({ name: 'pat', role: 'approver', approval_roles: ['privacy'] });
    webService = await s.token({ name: 'web-prod', role: 'service', service: 'web' });
  });
  afterAll(async () => s.close());

  describe('401: no valid token', () => {
    it('refuses a request without a token, and tells the client how to authenticate', async () => {
      const res = await apiFor(() => s.base, null).get('/v1/intents');
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/);
    });

    it('refuses a malformed Authorization header', async () => {
      const res = await apiFor(() => s.base, null).get('/v1/intents', { authorization: 'Basic YWxpY2U6c2VjcmV0' });
      expectProblem(res, 401, 'unauthorized');
    });

    it('refuses an unknown token', async () => {
      const res = await apiFor(() => s.base, 'sy_not_a_real_token').get('/v1/services/web/flags');
      expectProblem(res, 401, 'unauthorized');
    });

    it('refuses a revoked token', async () => {
      const t = await s.token({ name: 'temp', role: 'owner', team: 'growth' });
      expect((await t.get('/v1/intents')).status).toBe(200);
      const del = await s.api.del(`/v1/tokens/${t.id}`);
      expect(del.status).toBe(204);
      expectProblem(await t.get('/v1/intents'), 401, 'unauthorized');
      expectProblem(await t.post('/v1/intents', simpleIntent('revoked-submit')), 401, 'unauthorized');
      // Revoking twice is a 404, not a silent success.
      expectProblem(await s.api.del(`/v1/tokens/${t.id}`), 404, 'token_not_found');
    });
  });

  describe('403: a known token outside its role', () => {
    it.each([
      ['a service token submitting an intent', () => webService.post('/v1/intents', simpleIntent('svc-submit'))],
      ['a service token reading intents', () => webService.get('/v1/intents')],
      ['an approver submitting an intent', () => sre.post('/v1/intents', simpleIntent('approver-submit'))],
      ['an owner creating a token', () => alice.post('/v1/tokens', { name: 'x', role: 'admin' })],
      ['an owner revoking a token', () => alice.del('/v1/tokens/tok_whatever')],
      ['an owner approving', () => alice.post('/v1/intents/anything/approvals', {})],
    ])('%s', async (_name, call) => {
      expectProblem(await call(), 403, 'forbidden');
    });

    it('stores nothing for a refused submission', async () => {
      await webService.post('/v1/intents', simpleIntent('svc-submit-2'));
      expect((await alice.get('/v1/intents/svc-submit-2')).status).toBe(404);
    });
  });

  describe('owners act only on their own team', () => {
    it('refuses a submission for another team', async () => {
      const res = await bob.post('/v1/intents', simpleIntent('other-team-submit', { owner: 'growth' }));
      expectProblem(res, 403, 'forbidden_team');
      expect((await alice.get('/v1/intents/other-team-submit')).status).toBe(404);
    });

    it("refuses a change or an action on another team's intent", async () => {
      const created = await alice.post('/v1/intents', simpleIntent('team-guarded'));
      expect(created.body.state).toBe('running');
      const flagsBefore = await alice.get('/v1/services/web/flags');

      expectProblem(await bob.put('/v1/intents/team-guarded', simpleIntent('team-guarded', { exposure: 20 })), 403, 'forbidden_team');
      // Taking it over by naming one's own team as owner does not work either.
      expectProblem(await bob.put('/v1/intents/team-guarded', simpleIntent('team-guarded', { owner: 'search' })), 403, 'forbidden_team');
      for (const action of ['pause', 'rollback', 'complete']) {
        expectProblem(await bob.post('/v1/intents/team-guarded/actions', { action, reason: 'not mine' }), 403, 'forbidden_team');
      }

      const got = await alice.get('/v1/intents/team-guarded');
      expect(got.body).toMatchObject({ owner: 'growth', version: 1, state: 'running' });
      expect((await alice.get('/v1/services/web/flags')).text).toBe(flagsBefore.text);

      // The owning team can.
      const paused = await alice.post('/v1/intents/team-guarded/actions', { action: 'pause', reason: 'checking' });
      expect(paused.status).toBe(200);
      expect(paused.body.state).toBe('paused');
    });
  });

  describe('approvals', () => {
    it("never counts the submitter's own approval", async () => {
      const res = await s.api.post('/v1/intents', exampleIntent({ key: 'self-approve', layer: 'self', services: [{ service: 'checkout-api', flag: 'self_approve' }] }));
      expect(res.body.status).toBe('pending_approval');
      const approve = await s.api.post('/v1/intents/self-approve/approvals', { comment: 'lgtm' });
      expectProblem(approve, 403, 'self_approval');
      expect((await s.api.get('/v1/intents/self-approve')).body).toMatchObject({ status: 'pending_approval', state: 'draft' });
    });

    it('never counts an approval by the submitter through another of their tokens', async () => {
      await alice.post('/v1/intents', exampleIntent({ key: 'self-approve-2', layer: 'self2', services: [{ service: 'checkout-api', flag: 'self_approve_2' }] }));
      const aliceSre = await s.token({ name: 'alice', role: 'approver', approval_roles: ['sre'] });
      expectProblem(await aliceSre.post('/v1/intents/self-approve-2/approvals', {}), 403, 'self_approval');
      expect((await alice.get('/v1/intents/self-approve-2')).body.status).toBe('pending_approval');
    });

    it('refuses an approver whose roles do not match the role owed', async () => {
      await alice.post('/v1/intents', exampleIntent({ key: 'wrong-role', layer: 'wrong', services: [{ service: 'checkout-api', flag: 'wrong_role' }] }));
      const res = await privacy.post('/v1/intents/wrong-role/approvals', {});
      const body = expectProblem(res, 403, 'approval_role_mismatch');
      expect(body.detail).toContain('sre');
      expect((await alice.get('/v1/intents/wrong-role')).body.status).toBe('pending_approval');
    });

    it('an sre approval schedules the SPEC example, which goes live at its start', async () => {
      const submitted = await alice.post('/v1/intents', exampleIntent());
      expect(submitted.body.status).toBe('pending_approval');
      expect((await alice.get('/v1/services/web/flags')).body.flags.checkout_redesign).toBeUndefined();

      const approved = await sre.post('/v1/intents/checkout-redesign/approvals', { comment: 'capacity ok' });
      expect(approved.status).toBe(201);
      expect(approved.body).toMatchObject({ status: 'approved', state: 'scheduled' });
      expect((await alice.get('/v1/intents/checkout-redesign')).body).toMatchObject({ status: 'approved', state: 'scheduled' });
      // Scheduled is not live: the flags appear only at schedule.start.
      expect((await alice.get('/v1/services/web/flags')).body.flags.checkout_redesign).toBeUndefined();

      // A second approval is refused: nothing is owed any more.
      expectProblem(await sre.post('/v1/intents/checkout-redesign/approvals', {}), 409, 'not_pending_approval');

      const before = s.clock.now();
      s.clock.set('2026-12-01T00:00:00Z');
      try {
        expect((await s.container.lifecycle.tick()).started).toEqual(['checkout-redesign']);
        expect((await alice.get('/v1/intents/checkout-redesign')).body.state).toBe('running');
        const web = (await webService.get('/v1/services/web/flags')).body;
        expect(web.flags.checkout_redesign).toMatchObject({ state: 'ENABLED', experiment: { key: 'checkout-redesign', version: 1 } });
        const api = (await alice.get('/v1/services/checkout-api/flags')).body;
        expect(api.flags.checkout_v2).toMatchObject({ state: 'ENABLED', variants: { control: false, treatment: 'v2' } });
      } finally {
        s.clock.set(before);
      }
    });
  });

  describe('service tokens', () => {
    it("read their own service's flags and no other's", async () => {
      const own = await webService.get('/v1/services/web/flags');
      expect(own.status).toBe(200);
      expect(own.body.service).toBe('web');
      expectProblem(await webService.get('/v1/services/checkout-api/flags'), 403, 'forbidden_service');
      expectProblem(await webService.get('/v1/services/ghost/flags'), 403, 'forbidden_service');
    });

    it('every human role may read any service', async () => {
      for (const api of [alice, sre, s.api]) expect((await api.get('/v1/services/checkout-api/flags')).status).toBe(200);
    });
  });

  it('every human role lists intents, filtered by owner and state', async () => {
    await bob.post('/v1/intents', simpleIntent('listed-search', { owner: 'search', services: [{ service: 'search', flag: 'listed' }], schedule: { start: '2027-01-01T00:00:00Z' } }));
    for (const api of [alice, bob, sre, s.api]) {
      const res = await api.get('/v1/intents?owner=search');
      expect(res.status, res.text).toBe(200);
      expect(res.body.items.map((i: { key: string }) => i.key)).toEqual(['listed-search']);
    }
    await alice.post('/v1/intents', simpleIntent('listed-running'));
    const running = await alice.get('/v1/intents?state=running');
    expect(running.body.items.map((i: { key: string }) => i.key)).toContain('listed-running');
    expect(running.body.items.map((i: { key: string }) => i.key)).not.toContain('listed-search');
    expect((await alice.get('/v1/intents?owner=search&state=scheduled')).body.items.map((i: { key: string }) => i.key)).toEqual(['listed-search']);
    expect(running.body.items.every((i: { state: string }) => i.state === 'running')).toBe(true);
    expectProblem(await alice.get('/v1/intents?state=bogus'), 400, 'validation_failed');
  });

  it('answers unknown routes and ids with problem+json too', async () => {
    expectProblem(await alice.get('/v1/intents/no-such-intent'), 404, 'intent_not_found');
    expectProblem(await alice.post('/v1/intents/no-such-intent/actions', { action: 'pause', reason: 'x' }), 404, 'intent_not_found');
    expectProblem(await alice.put('/v1/intents/no-such-intent', simpleIntent('no-such-intent')), 404, 'intent_not_found');
    expectProblem(await alice.get('/v1/nothing-here'), 404, 'route_not_found');
    await alice.post('/v1/intents', simpleIntent('submitted-twice'));
    expectProblem(await alice.post('/v1/intents', simpleIntent('submitted-twice')), 409, 'intent_exists');
  });
});
