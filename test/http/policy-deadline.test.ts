import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLoopingBundle, LOOPS_ALWAYS, LOOPS_ON_SPIN_KEYS } from '../helpers/looping-bundle.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

const gzip = { 'content-type': 'application/gzip' };

describe('a policy that never returns', () => {
  let s: TestServer;
  let gov: Api;
  let owner: Api;
  let original: string;
  let loopsAlways: Buffer;
  let loopsOnSpin: Buffer;

  beforeAll(async () => {
    // Short deadlines so the test does not wait long; the looping rule would run for far longer.
    s = await startServer({ policyTimeouts: { decisionMs: 500, checkMs: 3000 } });
    gov = await s.token({ name: 'gina', role: 'governance' });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    expect((await owner.post('/v1/intents', simpleIntent('live-test', { exposure: 10 }))).body.state).toBe('running');
    original = (await s.api.get('/v1/policy')).body.revision;
    loopsAlways = buildLoopingBundle(LOOPS_ALWAYS, 'loops-always');
    loopsOnSpin = buildLoopingBundle(LOOPS_ON_SPIN_KEYS, 'loops-on-spin');
  });
  afterAll(async () => s.close());

  it('a dry run is refused with policy_timeout, and /healthz answers while it runs', async () => {
    let dryRunDone = false;
    const dryRun = gov.put('/v1/policy?dry_run=true', loopsAlways, gzip).then((res) => {
      dryRunDone = true;
      return res;
    });
    // Fired after the dry run was sent: it must come back while the dry run is still looping.
    const health = await s.api.get('/healthz');
    expect(health.status).toBe(200);
    expect(dryRunDone).toBe(false);

    const res = await dryRun;
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('policy_timeout');
    expect(res.body.detail).toMatch(/did not load and answer a probe intent within 3000 ms/);
    expect((await gov.get('/v1/policy')).body.revision).toBe(original);
  });

  it('a publish of a bundle that loops on its probe is refused and the active revision stays', async () => {
    const res = await gov.put('/v1/policy', loopsAlways, gzip);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('policy_timeout');
    expect((await gov.get('/v1/policy')).body.revision).toBe(original);
    // decisions still come from the original policy
    const ok = await owner.post('/v1/intents:evaluate', simpleIntent('after-refusal', { exposure: 5 }));
    expect(ok.body.status).toBe('approved');
    expect(ok.body.decision.policy_revision).toBe(original);
  });

  it('a published policy that loops on one input denies that submission fail-closed with policy_timeout; the next one works', async () => {
    const published = await gov.put('/v1/policy', loopsOnSpin, gzip);
    expect(published.status).toBe(200);
    expect(published.body.activated).toBe(true);
    expect(published.body.impact.evaluated).toBe(1);
    const revision = published.body.revision;

    const spun = await owner.post('/v1/intents', simpleIntent('spin-forever', { exposure: 5 }));
    expect(spun.status).toBe(201);
    expect(spun.body.status).toBe('denied');
    expect(spun.body.decision.allow).toBe(false);
    expect(spun.body.decision.policy_revision).toBe(revision);
    expect(spun.body.decision.violations).toEqual([
      expect.objectContaining({ code: 'policy_timeout', policy: 'engine', message: expect.stringMatching(/within 500 ms/) }),
    ]);
    expect((await owner.get('/v1/intents/spin-forever')).body.state).toBe('draft');

    const next = await owner.post('/v1/intents', simpleIntent('after-spin', { exposure: 5 }));
    expect(next.status).toBe(201);
    expect(next.body.status).toBe('approved');
    expect(next.body.decision.violations).toEqual([]);
    expect(next.body.decision.policy_revision).toBe(revision);
  });
});
