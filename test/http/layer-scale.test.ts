import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle, withTierCap } from '../helpers/bundles.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const gzip = { 'content-type': 'application/gzip' };
const LAYER = 'crowd';
const TINY = 1000;

/** ~1,000 one-bucket experiments in one layer, decided through the real server and the real policy. */
describe('a layer with 1,000 experiments', () => {
  let s: TestServer;
  let alice: Api;
  let sre: Api;
  let gov: Api;
  let identical: Buffer;

  const inCrowd = (key: string, overrides: Record<string, unknown> = {}) => simpleIntent(key, { layer: LAYER, exposure: 0.01, ...overrides });
  const critical = (key: string, exposure: number) =>
    simpleIntent(key, { layer: LAYER, exposure, services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_flag` }] });

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    gov = await s.token({ name: 'gina', role: 'governance' });
    for (let i = 0; i < TINY; i++) {
      const res = await alice.post('/v1/intents', inCrowd(`tiny-${String(i).padStart(4, '0')}`));
      expect(res.body.status, `tiny-${i}: ${res.text}`).toBe('approved');
    }
    // Approvals owed: two pending on a critical service; one of them approved since (its decision still asks sre).
    expect((await alice.post('/v1/intents', critical('crit-pending', 1))).body.status).toBe('pending_approval');
    expect((await alice.post('/v1/intents', critical('crit-approved', 2))).body.status).toBe('pending_approval');
    expect((await sre.post('/v1/intents/crit-approved/approvals', {})).body.status).toBe('approved');
    // Two live versions of one experiment: v1 running, v2 pending an approval.
    expect((await alice.post('/v1/intents', inCrowd('two-versions', { exposure: 3 }))).body.state).toBe('running');
    expect((await alice.put('/v1/intents/two-versions', critical('two-versions', 4))).body.status).toBe('pending_approval');
    // A large member: judged with itself in the layer it would not fit (70 % held by the others and it, 50 % asked).
    const filler = simpleIntent('filler', { layer: LAYER, exposure: 50, services: [{ service: 'recommendations', flag: 'filler' }] });
    expect((await alice.post('/v1/intents', filler)).body.state).toBe('running');
    // Conflicts and denials: not live, but in the same layer and on the same flags.
    expect((await alice.post('/v1/intents', inCrowd('flag-clash', { services: [{ service: 'web', flag: 'tiny_0007_flag' }] }))).body.status).toBe(
      'denied',
    );
    expect((await alice.post('/v1/intents', inCrowd('too-big', { exposure: 45 }))).body.status).toBe('denied');
    identical = fs.readFileSync(BUNDLE_PATH);
  }, 600_000);
  afterAll(async () => s?.close());

  it('decides one more small intent in that layer normally, with a bounded input', async () => {
    const res = await alice.post('/v1/intents', inCrowd('one-more'));
    expect(res.status).toBe(201);
    expect(res.body.decision.violations).toEqual([]);
    expect(res.body.status).toBe('approved');
    const stored = await alice.get(`/v1/decisions/${res.body.decision.id}`);
    // The policy saw a summary of the layer, not its 1,000 members.
    expect(JSON.stringify(stored.body.input).length).toBeLessThan(4096);
    expect(stored.body.input.live.layer_room).toMatchObject({ layer: LAYER, experiments: TINY + 4 });
  });

  it('denies an intent the layer has no room for with layer_capacity, and a message of bounded length', async () => {
    const res = await alice.post(
      '/v1/intents:evaluate',
      inCrowd('no-room', { exposure: 40, services: [{ service: 'recommendations', flag: 'no_room' }] }),
    );
    expect(res.status).toBe(200);
    expect(res.body.decision.violations.map((v: { code: string }) => v.code)).toEqual(['layer_capacity']);
    const message: string = res.body.decision.violations[0].message;
    expect(message).toContain(`layer ${LAYER} would be at`);
    expect(message).toMatch(/and \d+ more/);
    expect(message.length).toBeLessThan(400);
  });

  it('a dry run of the active bundle reports no change', async () => {
    const res = await gov.put('/v1/policy?dry_run=true', identical, gzip);
    expect(res.status).toBe(200);
    const impact = res.body.impact;
    // 1,000 tiny + one-more + crit-pending + crit-approved + filler + two versions of two-versions
    expect(impact.evaluated).toBe(TINY + 6);
    expect(impact.experiments.filter((e: { changed: boolean }) => e.changed)).toEqual([]);
    expect(impact.changed).toBe(0);
    expect(impact.would_deny).toBe(0);
  });

  it('a dry run of a bundle that lowers the critical cap reports exactly the experiments it affects', async () => {
    const lower = buildModifiedBundle(withTierCap('critical', 1.5), 'critical-1.5');
    const res = await gov.put('/v1/policy?dry_run=true', lower, gzip);
    expect(res.status).toBe(200);
    const changed = res.body.impact.experiments.filter((e: { changed: boolean }) => e.changed);
    expect(changed.map((e: { key: string; version: number }) => `${e.key}@${e.version}`).sort()).toEqual(['crit-approved@1', 'two-versions@2']);
    for (const e of changed) {
      expect(e.new.status).toBe('denied');
      expect(e.new.violations.map((v: { code: string }) => v.code)).toEqual(['max_exposure']);
    }
    expect(res.body.impact.changed).toBe(2);
  });
});
