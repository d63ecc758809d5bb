import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle, withTierCap } from '../helpers/bundles.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const gzip = { 'content-type': 'application/gzip' };

describe('publishing a policy', () => {
  let s: TestServer;
  let gov: Api;
  let owner: Api;
  let original: string;
  let stricter: Buffer;

  beforeAll(async () => {
    s = await startServer();
    gov = await s.token({ name: 'gina', role: 'governance' });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    // two running experiments on web (standard tier, cap 50): one at 10 %, one at 30 %
    expect((await owner.post('/v1/intents', simpleIntent('small-test', { exposure: 10 }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', simpleIntent('big-test', { exposure: 30 }))).body.state).toBe('running');
    // and one pending on checkout-api
    expect((await owner.post('/v1/intents', exampleIntent())).body.status).toBe('pending_approval');
    original = (await s.api.get('/v1/policy')).body.revision;
    // the stricter policy: standard services capped at 20 %
    stricter = buildModifiedBundle(withTierCap('standard', 20), 'stricter');
  });
  afterAll(async () => s.close());

  it('GET /v1/policy names the active revision, its wasm digest and entrypoint', async () => {
    const res = await gov.get('/v1/policy');
    expect(res.status).toBe(200);
    expect(res.body.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.body.wasm_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.entrypoints).toEqual(['switchyard/decision']);
    expect(res.body.activated_by).toBe('bootstrap');
    expect(res.body.services).toContain('checkout-api');
  });

  it('a dry run reports which live experiments the candidate would deny, and changes nothing', async () => {
    const res = await gov.put('/v1/policy?dry_run=true', stricter, gzip);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dry_run: true, activated: false, previous_revision: original });
    const impact = res.body.impact;
    expect(impact.evaluated).toBe(3);
    expect(impact.would_deny).toBe(1);
    const big = impact.experiments.find((e: any) => e.key === 'big-test');
    expect(big).toMatchObject({ state: 'running', changed: true, old: { status: 'approved' }, new: { status: 'denied' } });
    expect(big.new.violations.map((v: any) => v.code)).toEqual(['max_exposure']);
    expect(impact.experiments.find((e: any) => e.key === 'small-test')).toMatchObject({ changed: false, new: { status: 'approved' } });
    expect((await gov.get('/v1/policy')).body.revision).toBe(original);
    expect((await owner.post('/v1/intents:evaluate', simpleIntent('new-test', { exposure: 30 }))).body.status).toBe('approved');
  });

  it('a broken bundle is rejected and the active policy stays', async () => {
    for (const body of [Buffer.from('not a bundle'), fs.readFileSync(BUNDLE_PATH).subarray(0, 200)]) {
      const res = await gov.put('/v1/policy', body, gzip);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('policy_invalid');
    }
    const wrongEntrypoint = buildModifiedBundle(
      (dir) => {
        const file = `${dir}/decision.rego`;
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^decision := \{/m, 'verdict := {'));
      },
      'wrong-entrypoint',
      'switchyard/verdict',
    );
    const wrongShape = buildModifiedBundle((dir) => {
      const file = `${dir}/decision.rego`;
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"allow": allow,', '"allow": "yes",'));
    }, 'wrong-shape');
    for (const [bundle, detail] of [[wrongEntrypoint, /no entrypoint switchyard\/decision/], [wrongShape, /probe/]] as const) {
      const res = await gov.put('/v1/policy', bundle, gzip);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('policy_invalid');
      expect(res.body.detail).toMatch(detail);
    }
    expect((await gov.get('/v1/policy')).body.revision).toBe(original);
  });

  it('only governance and admin may publish', async () => {
    expect((await owner.put('/v1/policy?dry_run=true', stricter, gzip)).status).toBe(403);
  });

  it('activation swaps the policy for new decisions, is audited, and survives a restart', async () => {
    const res = await gov.put('/v1/policy', stricter, gzip);
    expect(res.status).toBe(200);
    expect(res.body.activated).toBe(true);
    const revision = res.body.revision;
    expect(revision).not.toBe(original);
    expect((await gov.get('/v1/policy')).body).toMatchObject({ revision, manifest_revision: 'stricter', activated_by: 'gina' });
    const denied = await owner.post('/v1/intents:evaluate', simpleIntent('new-test', { exposure: 30 }));
    expect(denied.body.status).toBe('denied');
    expect(denied.body.decision.policy_revision).toBe(revision);
    expect(denied.body.decision.limits.max_exposure).toBe(20);
    const events = (await s.api.get('/v1/audit?type=policy_activated')).body.events;
    expect(events.at(-1)).toMatchObject({ actor: 'gina', data: { revision, previous: original, impact: { would_deny: 1 } } });

    await s.restart();
    expect((await s.api.get('/v1/policy')).body.revision).toBe(revision);
  });

  it('a decision replays under the revision that made it, not the active one', async () => {
    const first = (await s.api.get('/v1/intents/big-test')).body.decision;
    expect(first.policy_revision).toBe(original);
    const replay = await s.api.post(`/v1/decisions/${first.id}:replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ decision_id: first.id, policy_revision: original, matches: true });
    expect(replay.body.replayed.allow).toBe(true);
    expect((await s.api.post('/v1/decisions/d_nope:replay')).status).toBe(404);
  });
});
