import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDenied, expectDeniedVersion } from '../fixtures/http.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * The default governance of SPEC §3, end to end: the real app, the compiled Rego bundle and SQLite.
 * Every test uses its own keys and flags so that the live experiments of one test never conflict
 * with another's.
 */
describe('default governance (SPEC §3)', () => {
  let s: TestServer;
  let alice: Api; // owner, team growth
  let carol: Api; // owner, team crm
  let ops: Api; // operator

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    carol = await s.token({ name: 'carol', role: 'owner', team: 'crm' });
    ops = await s.token({ name: 'olga', role: 'operator' });
  });
  afterAll(async () => s.close());

  const flagsOf = async (service: string) => (await alice.get(`/v1/services/${service}/flags`)).body;

  describe('naming', () => {
    it.each(['Checkout_Redesign', 'ab', '1st-test', 'x'.repeat(64)])('denies the key %j', async (key) => {
      const res = await alice.post('/v1/intents', simpleIntent(key, { services: [{ service: 'web', flag: `naming_${key.length}_${key[0]}` }] }));
      const [v] = expectDenied(res, 'naming');
      expect(v).toMatchObject({ code: 'naming', policy: 'naming' });
      expect(v!.message).toContain(key);
    });

    it('allows a key of 3 to 63 lowercase letters, digits and hyphens', async () => {
      const res = await alice.post('/v1/intents', simpleIntent('n0-' + 'a'.repeat(60)));
      expect(res.body.status).toBe('approved');
    });
  });

  it('unknown_service names the service that is not in the catalog', async () => {
    const res = await alice.post(
      '/v1/intents',
      simpleIntent('unknown-svc', { services: [{ service: 'web', flag: 'unknown_svc' }, { service: 'ghost', flag: 'g' }] }),
    );
    const [v] = expectDenied(res, 'unknown_service');
    expect(v).toMatchObject({ code: 'unknown_service', policy: 'catalog', service: 'ghost' });
  });

  it('unknown_data_class names the class (and no data_access violation is added for it)', async () => {
    const res = await alice.post('/v1/intents', simpleIntent('unknown-class', { data_access: ['clickstream', 'secrets'] }));
    const [v] = expectDenied(res, 'unknown_data_class');
    expect(v).toMatchObject({ code: 'unknown_data_class', policy: 'catalog', data_class: 'secrets' });
  });

  describe('max_exposure', () => {
    const intent = (key: string, exposure: number) =>
      simpleIntent(key, {
        exposure,
        services: [
          { service: 'web', flag: `${key}_web` },
          { service: 'checkout-api', flag: `${key}_api` },
        ],
      });

    it('denies exposure above the lowest tier cap and names the service that sets it', async () => {
      const res = await alice.post('/v1/intents', intent('exposure-over', 5.01));
      const [v] = expectDenied(res, 'max_exposure');
      expect(v).toMatchObject({ code: 'max_exposure', policy: 'exposure', service: 'checkout-api' });
      expect(res.body.decision.limits).toEqual({ max_exposure: 5 });
    });

    it('allows exposure exactly at the cap', async () => {
      const res = await alice.post('/v1/intents', intent('exposure-at-cap', 5));
      expect(res.status).toBe(201);
      expect(res.body.decision).toMatchObject({ allow: true, violations: [], limits: { max_exposure: 5 } });
      expect(res.body.status).toBe('pending_approval');
    });

    it('uses the standard cap of 50 on standard services', async () => {
      const over = await alice.post('/v1/intents', simpleIntent('exposure-std-over', { exposure: 50.01 }));
      const [v] = expectDenied(over, 'max_exposure');
      expect(v).toMatchObject({ service: 'web' });
      expect(over.body.decision.limits).toEqual({ max_exposure: 50 });
      const at = await alice.post('/v1/intents', simpleIntent('exposure-std-at', { exposure: 50 }));
      expect(at.body.status).toBe('approved');
    });
  });

  describe('data_access', () => {
    it('denies a class none of the services may touch', async () => {
      const res = await alice.post('/v1/intents', simpleIntent('da-untouchable', { data_access: ['clickstream', 'purchase_history'] }));
      const [v] = expectDenied(res, 'data_access');
      expect(v).toMatchObject({ code: 'data_access', policy: 'data_access', data_class: 'purchase_history' });
    });

    it('denies a restricted class that no team may use', async () => {
      const res = await alice.post(
        '/v1/intents',
        simpleIntent('da-instruments', { exposure: 1, services: [{ service: 'payments', flag: 'da_instruments' }], data_access: ['payment_instruments'] }),
      );
      const [v] = expectDenied(res, 'data_access');
      expect(v).toMatchObject({ data_class: 'payment_instruments' });
    });

    it('denies a restricted class to an owner team it is not allowed for, and allows it for crm', async () => {
      const body = (owner: string) =>
        simpleIntent(`da-contact-${owner}`, { owner, services: [{ service: 'email-service', flag: `contact_${owner}` }], data_access: ['contact_info'] });
      const growth = await alice.post('/v1/intents', body('growth'));
      const [v] = expectDenied(growth, 'data_access');
      expect(v).toMatchObject({ code: 'data_access', policy: 'data_access', data_class: 'contact_info' });
      expect(v!.message).toContain('growth');

      const crm = await carol.post('/v1/intents', body('crm'));
      expect(crm.status).toBe(201);
      expect(crm.body.status).toBe('approved');
      expect(crm.body.decision.violations).toEqual([]);
      // Restricted data: full audit even without any approval owed.
      expect(crm.body.decision.obligations).toEqual({ approvals: [], audit: { level: 'full', retention_days: 400 } });
    });
  });

  describe('flag_conflict', () => {
    it('denies a second experiment on a (service, flag) driven by a pending one, and allows it once the first is completed', async () => {
      const first = await alice.post(
        '/v1/intents',
        simpleIntent('fc-pending-a', {
          exposure: 2,
          services: [
            { service: 'web', flag: 'fc_pending_web' },
            { service: 'checkout-api', flag: 'fc_pending_api' },
          ],
        }),
      );
      expect(first.body.status).toBe('pending_approval');

      const second = simpleIntent('fc-pending-b', { exposure: 2, services: [{ service: 'checkout-api', flag: 'fc_pending_api' }] });
      const denied = await alice.post('/v1/intents', second);
      const [v] = expectDenied(denied, 'flag_conflict');
      expect(v).toMatchObject({ code: 'flag_conflict', policy: 'conflicts', service: 'checkout-api' });
      expect(v!.message).toContain('fc-pending-a');

      const done = await alice.post('/v1/intents/fc-pending-a/actions', { action: 'complete', reason: 'superseded' });
      expect(done.status).toBe(200);
      expect(done.body.state).toBe('completed');

      const again = await alice.put('/v1/intents/fc-pending-b', second);
      expect(again.status).toBe(200);
      expect(again.body.intent).toEqual({ key: 'fc-pending-b', version: 2 });
      expect(again.body.decision.violations).toEqual([]);
      expect(again.body.status).toBe('pending_approval');
    });

    it('denies a second experiment on a flag driven by a running (or paused) one, and allows it once the first is completed', async () => {
      const first = await alice.post('/v1/intents', simpleIntent('fc-running-a', { services: [{ service: 'web', flag: 'fc_running' }] }));
      expect(first.body.state).toBe('running');

      const second = simpleIntent('fc-running-b', { services: [{ service: 'web', flag: 'fc_running' }] });
      const [v] = expectDenied(await alice.post('/v1/intents', second), 'flag_conflict');
      expect(v).toMatchObject({ service: 'web' });

      expect((await ops.post('/v1/intents/fc-running-a/actions', { action: 'pause', reason: 'incident' })).body.state).toBe('paused');
      expectDeniedVersion(await alice.put('/v1/intents/fc-running-b', second), 'flag_conflict');

      expect((await alice.post('/v1/intents/fc-running-a/actions', { action: 'complete', reason: 'done' })).body.state).toBe('completed');
      const again = await alice.put('/v1/intents/fc-running-b', second);
      expect(again.body.status).toBe('approved');
      expect(again.body.state).toBe('running');
      const flags = await flagsOf('web');
      expect(flags.flags.fc_running.experiment).toEqual({ key: 'fc-running-b', version: 3 });
    });
  });

  describe('layer_capacity', () => {
    const inLayer = (key: string, layer: string, exposure: number) =>
      simpleIntent(key, { layer, exposure, services: [{ service: 'recommendations', flag: key.replace(/-/g, '_') }] });

    it('denies an experiment that would take a layer over 100 %, and allows one that fills it exactly', async () => {
      expect((await alice.post('/v1/intents', inLayer('lc-a', 'lc-full', 60))).body.status).toBe('approved');
      const over = await alice.post('/v1/intents', inLayer('lc-b', 'lc-full', 40.01));
      const [v] = expectDenied(over, 'layer_capacity');
      expect(v).toMatchObject({ code: 'layer_capacity', policy: 'conflicts' });
      expect(v!.message).toContain('lc-full');
      expect((await alice.post('/v1/intents', inLayer('lc-c', 'lc-full', 40))).body.status).toBe('approved');

      // A completed experiment gives its room back.
      expect((await alice.post('/v1/intents/lc-a/actions', { action: 'complete', reason: 'done' })).body.state).toBe('completed');
      const retry = await alice.put('/v1/intents/lc-b', inLayer('lc-b', 'lc-full', 40.01));
      expect(retry.body.decision.violations).toEqual([]);
      expect(retry.body.state).toBe('running');
    });

    it('counts pending experiments too', async () => {
      const pending = simpleIntent('lc-pending-a', {
        layer: 'lc-pending',
        exposure: 5,
        services: [{ service: 'checkout-api', flag: 'lc_pending_a' }],
      });
      expect((await alice.post('/v1/intents', pending)).body.status).toBe('pending_approval');
      expectDenied(await alice.post('/v1/intents', inLayer('lc-pending-b', 'lc-pending', 95.01)), 'layer_capacity');
    });

    it('gives two experiments that fit disjoint slices of the layer', async () => {
      const web = (key: string, exposure: number) => simpleIntent(key, { layer: 'ld', exposure });
      expect((await alice.post('/v1/intents', web('ld-a', 30))).body.status).toBe('approved');
      expect((await alice.post('/v1/intents', web('ld-b', 20))).body.status).toBe('approved');
      const flags = (await flagsOf('web')).flags;
      const a = flags.ld_a_flag.allocation.exposure;
      const b = flags.ld_b_flag.allocation.exposure;
      expect(a).toEqual({ seed: 'layer/ld', start: 0, end: 3000, total: 10000 });
      expect(b).toEqual({ seed: 'layer/ld', start: 3000, end: 5000, total: 10000 });
    });
  });

  describe('schedule', () => {
    it('denies an end that is not after the start', async () => {
      const res = await alice.post('/v1/intents', simpleIntent('sched-backwards', { schedule: { start: '2026-12-10T00:00:00Z', end: '2026-12-01T00:00:00Z' } }));
      const [v] = expectDenied(res, 'schedule');
      expect(v).toMatchObject({ code: 'schedule', policy: 'schedule' });
      expect(v!.message).toContain('not after');
    });

    it('denies an end in the past of the server clock', async () => {
      // Fine on 2026-11-25 (the injected clock), in the past once that clock moves on.
      const body = simpleIntent('sched-past', { schedule: { end: '2026-12-10T00:00:00Z' } });
      expect((await alice.post('/v1/intents:evaluate', body)).body.decision.violations).toEqual([]);
      const before = s.clock.now();
      s.clock.set('2026-12-11T00:00:00Z');
      try {
        const [v] = expectDenied(await alice.post('/v1/intents', body), 'schedule');
        expect(v!.message).toContain('past');
      } finally {
        s.clock.set(before);
      }
    });

    it('denies a schedule longer than 90 days and allows exactly 90', async () => {
      const start = '2026-12-01T00:00:00Z';
      const [v] = expectDenied(
        await alice.post('/v1/intents', simpleIntent('sched-long', { schedule: { start, end: '2027-03-01T00:00:01Z' } })),
        'schedule',
      );
      expect(v!.message).toContain('90');
      const ok = await alice.post('/v1/intents', simpleIntent('sched-ninety', { schedule: { start, end: '2027-03-01T00:00:00Z' } }));
      expect(ok.body.decision.violations).toEqual([]);
      expect(ok.body.status).toBe('approved');
      expect(ok.body.state).toBe('scheduled');
    });
  });

  it('lists every violation of an intent, not just the first', async () => {
    const res = await alice.post(
      '/v1/intents',
      simpleIntent('Many_Problems', {
        exposure: 60,
        services: [{ service: 'web', flag: 'many_problems' }, { service: 'ghost', flag: 'g' }],
        data_access: ['secrets', 'purchase_history'],
        schedule: { start: '2026-12-10T00:00:00Z', end: '2026-12-01T00:00:00Z' },
      }),
    );
    expectDenied(res, 'naming', 'unknown_service', 'unknown_data_class', 'max_exposure', 'data_access', 'schedule');
  });

  describe('obligations', () => {
    it('a critical service owes one sre approval and a full audit', async () => {
      const res = await alice.post(
        '/v1/intents',
        exampleIntent({
          key: 'obl-critical',
          layer: 'obl',
          services: [
            { service: 'web', flag: 'obl_critical_web' },
            { service: 'checkout-api', flag: 'obl_critical_api' },
          ],
        }),
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ intent: { key: 'obl-critical', version: 1 }, status: 'pending_approval' });
      expect(res.body.decision).toMatchObject({
        allow: true,
        violations: [],
        obligations: { approvals: [{ role: 'sre', count: 1 }], audit: { level: 'full', retention_days: 400 } },
        limits: { max_exposure: 5 },
      });
      expect(res.body.decision.id).toMatch(/^d_/);
      expect(res.body.decision.policy_revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('a confidential data class owes one privacy approval and a full audit', async () => {
      const res = await alice.post(
        '/v1/intents',
        simpleIntent('obl-confidential', { services: [{ service: 'recommendations', flag: 'obl_confidential' }], data_access: ['purchase_history'] }),
      );
      expect(res.body.status).toBe('pending_approval');
      expect(res.body.decision.obligations).toEqual({ approvals: [{ role: 'privacy', count: 1 }], audit: { level: 'full', retention_days: 400 } });
    });

    it('standard services with internal data are approved at once, with a standard audit, and run', async () => {
      const res = await alice.post(
        '/v1/intents',
        simpleIntent('obl-standard', {
          services: [
            { service: 'web', flag: 'obl_standard' },
            { service: 'search', flag: 'obl_standard' },
          ],
          data_access: ['clickstream', 'query_logs'],
        }),
      );
      expect(res.body.status).toBe('approved');
      expect(res.body.state).toBe('running');
      expect(res.body.decision.obligations).toEqual({ approvals: [], audit: { level: 'standard', retention_days: 90 } });
      const got = await alice.get('/v1/intents/obl-standard');
      expect(got.body).toMatchObject({ status: 'approved', state: 'running', version: 1 });
      expect((await flagsOf('search')).flags.obl_standard.experiment).toEqual({ key: 'obl-standard', version: 1 });
    });
  });

  describe('POST /v1/intents:evaluate', () => {
    const strip = ({ id: _id, ...rest }: Record<string, unknown>) => rest;

    it.each([
      ['an allowed intent', exampleIntent({ key: 'eval-allowed', layer: 'eval', services: [{ service: 'checkout-api', flag: 'eval_allowed' }] })],
      ['a denied intent', simpleIntent('eval-denied', { exposure: 70, data_access: ['purchase_history'] })],
    ])('gives %s the decision a submission gets, and stores nothing', async (_name, body) => {
      const before = await s.dump();
      const dry = await alice.post('/v1/intents:evaluate', body);
      expect(dry.status).toBe(200);
      expect(await s.dump()).toEqual(before);
      expect((await alice.get(`/v1/intents/${body.key}`)).status).toBe(404);

      const real = await alice.post('/v1/intents', body);
      expect(real.status).toBe(201);
      expect(dry.body.intent).toEqual(real.body.intent);
      expect(dry.body.status).toBe(real.body.status);
      expect(strip(dry.body.decision)).toEqual(strip(real.body.decision));
    });
  });

  describe('a denied version never reaches a flag state', () => {
    it('leaves the flags of the service untouched when a new experiment is denied', async () => {
      const before = await alice.get('/v1/services/web/flags');
      const res = await alice.post('/v1/intents', simpleIntent('denied-new', { exposure: 75 }));
      expectDenied(res, 'max_exposure');
      const after = await alice.get('/v1/services/web/flags');
      expect(after.text).toBe(before.text);
      expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
      expect((await alice.get('/v1/intents/denied-new')).body).toMatchObject({ status: 'denied', state: 'draft', active_version: null });
    });

    it('keeps the approved version running unchanged when a new version is denied', async () => {
      const v1 = await alice.post('/v1/intents', simpleIntent('denied-update', { exposure: 10 }));
      expect(v1.body.state).toBe('running');
      const before = await alice.get('/v1/services/web/flags');
      expect(before.body.flags.denied_update_flag.allocation.exposure.end).toBe(1000);

      const v2 = await alice.put('/v1/intents/denied-update', simpleIntent('denied-update', { exposure: 80 }));
      expectDeniedVersion(v2, 'max_exposure');
      expect(v2.body.intent).toEqual({ key: 'denied-update', version: 2 });

      const after = await alice.get('/v1/services/web/flags');
      expect(after.text).toBe(before.text);
      const got = await alice.get('/v1/intents/denied-update');
      expect(got.body).toMatchObject({ version: 2, status: 'denied', state: 'running', active_version: 1 });
    });
  });

  it('GET /v1/decisions/{id} returns the stored input and result', async () => {
    const body = simpleIntent('decision-record', { schedule: { start: '2026-12-01T00:00:00Z', end: '2026-12-20T00:00:00Z' }, layer: 'rec' });
    const res = await alice.post('/v1/intents', body);
    expect(res.status).toBe(201);
    const d = await alice.get(`/v1/decisions/${res.body.decision.id}`);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({
      id: res.body.decision.id,
      intent: { key: 'decision-record', version: 1 },
      status: 'approved',
      policy_revision: res.body.decision.policy_revision,
      actor: 'alice',
    });
    expect(d.body.input).toEqual({
      intent: { ...body, unit: 'user_id', audience: [], data_access: [] },
      actor: { name: 'alice', role: 'owner', team: 'growth' },
      now_ms: s.clock.now().getTime(),
      schedule_ms: { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2026-12-20T00:00:00Z') },
      live: {
        flags: [],
        layer_room: {
          layer: 'rec',
          total: 10000,
          reserved: 0,
          unplaced: 0,
          largest_free: 10000,
          free_range_count: 1,
          free_ranges: [{ start: 0, end: 10000 }],
          experiments: 0,
          largest: [],
        },
      },
    });
    const { id: _id, policy_revision: _rev, ...result } = res.body.decision;
    expect(d.body.result).toEqual(result);

    const missing = await alice.get('/v1/decisions/d_00000000000000000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('decision_not_found');
  });
});
