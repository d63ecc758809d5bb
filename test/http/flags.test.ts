import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../fixtures/http.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/** SPEC §5: the per-service flags document, its ETag and its version. */
describe('GET /v1/services/{service}/flags', () => {
  let s: TestServer;
  let alice: Api;
  let sre: Api;

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
  });
  afterAll(async () => s.close());

  it('is exactly the SPEC §5 document for the approved SPEC example, in every service it drives', async () => {
    const submitted = await alice.post('/v1/intents', exampleIntent());
    expect(submitted.body.status).toBe('pending_approval');
    const { id: decisionId, policy_revision: revision } = submitted.body.decision;
    expect((await sre.post('/v1/intents/checkout-redesign/approvals', {})).body.state).toBe('scheduled');

    s.clock.set('2026-12-01T00:00:00Z');
    expect((await s.container.lifecycle.tick()).started).toEqual(['checkout-redesign']);

    const shared = {
      state: 'ENABLED',
      default_variant: 'control',
      audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
      allocation: {
        unit: 'user_id',
        exposure: { seed: 'layer/checkout', start: 0, end: 450, total: 10000 },
        variants: { seed: 'exp/checkout-redesign', buckets: [['control', 50], ['treatment', 50]] },
      },
      experiment: { key: 'checkout-redesign', version: 1 },
      // Provenance is the decision's: its submitter and time, as in the SPEC §5 example.
      provenance: { decision_id: decisionId, policy_revision: revision, actor: 'alice', at: '2026-11-25T12:00:00.000Z' },
    };

    const web = await alice.get('/v1/services/web/flags');
    expect(web.status).toBe(200);
    expect(web.headers.get('content-type')).toMatch(/^application\/json/);
    expect(web.body).toEqual({
      service: 'web',
      version: 1,
      flags: { checkout_redesign: { ...shared, variants: { control: false, treatment: true } } },
    });

    const api = await alice.get('/v1/services/checkout-api/flags');
    expect(api.body).toEqual({
      service: 'checkout-api',
      version: 1,
      // The override gives checkout-api its own value for treatment; same seeds and slice as web.
      flags: { checkout_v2: { ...shared, variants: { control: false, treatment: 'v2' } } },
    });

    // The decision named in the provenance is the one that allowed it.
    const d = await alice.get(`/v1/decisions/${decisionId}`);
    expect(d.body).toMatchObject({ intent: { key: 'checkout-redesign', version: 1 }, policy_revision: revision });
  });

  it('without a layer, the slice is [0, exposure × 100) under exp/{key}/exposure', async () => {
    const res = await alice.post(
      '/v1/intents',
      simpleIntent('no-layer', {
        unit: 'account_id',
        exposure: 12.34,
        services: [{ service: 'search', flag: 'ranking' }],
        variants: [
          { key: 'baseline', weight: 1, value: { model: 'bm25' } },
          { key: 'neural', weight: 2, value: { model: 'dense' } },
          { key: 'hybrid', weight: 0, value: { model: 'mix' } },
        ],
      }),
    );
    expect(res.body.state).toBe('running');
    const doc = (await alice.get('/v1/services/search/flags')).body;
    expect(doc).toEqual({
      service: 'search',
      version: 1,
      flags: {
        ranking: {
          state: 'ENABLED',
          default_variant: 'baseline',
          variants: { baseline: { model: 'bm25' }, neural: { model: 'dense' }, hybrid: { model: 'mix' } },
          audience: [],
          allocation: {
            unit: 'account_id',
            exposure: { seed: 'exp/no-layer/exposure', start: 0, end: 1234, total: 10000 },
            variants: { seed: 'exp/no-layer', buckets: [['baseline', 1], ['neural', 2], ['hybrid', 0]] },
          },
          experiment: { key: 'no-layer', version: 1 },
          provenance: { decision_id: res.body.decision.id, policy_revision: res.body.decision.policy_revision, actor: 'alice', at: s.clock.now().toISOString() },
        },
      },
    });
  });

  describe('ETag', () => {
    it('is strong, stable while nothing changes, and answers 304 to a matching If-None-Match', async () => {
      const first = await alice.get('/v1/services/web/flags');
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[^"]+"$/); // strong: quoted, no W/ prefix
      expect((await alice.get('/v1/services/web/flags')).headers.get('etag')).toBe(etag);

      for (const header of [etag, `"stale", ${etag}`, `W/${etag}`, '*']) {
        const res = await alice.get('/v1/services/web/flags', { 'if-none-match': header });
        expect(res.status, header).toBe(304);
        expect(res.text).toBe('');
        expect(res.headers.get('etag')).toBe(etag);
      }
      const other = await alice.get('/v1/services/web/flags', { 'if-none-match': '"something-else"' });
      expect(other.status).toBe(200);
      expect(other.text).toBe(first.text);
    });

    it('changes with the document, so an old ETag gets the new document', async () => {
      const before = await alice.get('/v1/services/web/flags');
      const old = before.headers.get('etag')!;
      expect((await alice.post('/v1/intents', simpleIntent('etag-change'))).body.state).toBe('running');
      const after = await alice.get('/v1/services/web/flags', { 'if-none-match': old });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(old);
      expect(after.body.version).toBe(before.body.version + 1);
      expect(after.body.flags.etag_change_flag).toBeDefined();
      expect((await alice.get('/v1/services/web/flags', { 'if-none-match': after.headers.get('etag')! })).status).toBe(304);
    });
  });

  it('version grows by exactly one with every change to the service, and only then', async () => {
    const doc = async () => {
      const res = await alice.get('/v1/services/recommendations/flags');
      return { ...res.body, etag: res.headers.get('etag') };
    };
    const seen: string[] = [];
    const step = async (expectVersion: number) => {
      const d = await doc();
      expect(d.version).toBe(expectVersion);
      expect(seen).not.toContain(d.etag);
      seen.push(d.etag);
      return d;
    };
    const intent = (exposure: number) => simpleIntent('grow', { exposure, services: [{ service: 'recommendations', flag: 'grow' }] });
    const act = (action: string) => alice.post('/v1/intents/grow/actions', { action, reason: `${action} in a test` });

    await step(0);
    expect((await alice.post('/v1/intents', intent(10))).body.state).toBe('running');
    expect((await step(1)).flags.grow.allocation.exposure.end).toBe(1000);

    // Changes elsewhere do not touch this service's version.
    await alice.post('/v1/intents', simpleIntent('elsewhere', { services: [{ service: 'web', flag: 'elsewhere' }] }));
    await alice.post('/v1/intents', simpleIntent('pending-elsewhere', { exposure: 1, services: [{ service: 'recommendations', flag: 'x' }, { service: 'payments', flag: 'x' }] }));
    expect((await doc()).version).toBe(1);

    expect((await alice.put('/v1/intents/grow', intent(20))).body.status).toBe('approved');
    const v2 = await step(2);
    expect(v2.flags.grow.experiment).toEqual({ key: 'grow', version: 2 });
    expect(v2.flags.grow.allocation.exposure.end).toBe(2000);

    expect((await act('pause')).body.state).toBe('paused');
    expect((await step(3)).flags.grow.state).toBe('DISABLED');
    expect((await act('resume')).body.state).toBe('running');
    expect((await step(4)).flags.grow.state).toBe('ENABLED');
    expect((await act('complete')).body.state).toBe('completed');
    expect((await step(5)).flags).toEqual({});
  });

  it('answers 404 service_not_found for a service outside the catalog', async () => {
    const res = await alice.get('/v1/services/ghost/flags');
    expectProblem(res, 404, 'service_not_found');
  });

  it('gives a catalog service without flags version 0 and no flags', async () => {
    const res = await alice.get('/v1/services/email-service/flags');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ service: 'email-service', version: 0, flags: {} });
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect((await alice.get('/v1/services/email-service/flags', { 'if-none-match': etag })).status).toBe(304);
  });
});
