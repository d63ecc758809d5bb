import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle, withTierCap } from '../helpers/bundles.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const gzip = { 'content-type': 'application/gzip' };

/** The shipped policies without the guardrail_required rule. */
function withoutGuardrailRule(dir: string): void {
  const file = path.join(dir, 'rollout.rego');
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf('violations contains v if {\n\tlib.has_rollout');
  fs.writeFileSync(file, text.slice(0, at));
}

describe('policy impact judges rollouts and ships (PUT /v1/policy?dry_run)', () => {
  let s: TestServer;
  let owner: Api;
  let sre: Api;
  let gov: Api;
  let dir: string;

  beforeAll(async () => {
    const looser = buildModifiedBundle(withoutGuardrailRule, 'no-guardrail-rule');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-impact-'));
    const bundlePath = path.join(dir, 'looser.tar.gz');
    fs.writeFileSync(bundlePath, looser);
    s = await startServer({ bundlePath });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    gov = await s.token({ name: 'gina', role: 'governance' });
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped bundle, with guardrail_required, shows the unguarded critical rollout as changed', async () => {
    const stages = [{ exposure: 1 }, { exposure: 4.5 }];
    const unguarded = exampleIntent({ key: 'unguarded', services: [{ service: 'checkout-api', flag: 'ug' }], layer: undefined, schedule: undefined, rollout: { stages } });
    expect((await owner.post('/v1/intents', unguarded)).body.status).toBe('pending_approval');
    await sre.post('/v1/intents/unguarded/approvals', {});
    const guarded = exampleIntent({ key: 'guarded', services: [{ service: 'checkout-api', flag: 'g' }], layer: undefined, schedule: undefined, rollout: { stages, guardrails: [{ metric: 'error_rate' }] } });
    await owner.post('/v1/intents', guarded);
    await sre.post('/v1/intents/guarded/approvals', {});

    const res = await gov.put('/v1/policy?dry_run=true', fs.readFileSync(BUNDLE_PATH), gzip);
    expect(res.status).toBe(200);
    const byKey = new Map(res.body.impact.experiments.map((e: any) => [e.key, e]));
    expect(byKey.get('unguarded')).toMatchObject({ state: 'running', changed: true, old: { status: 'approved' }, new: { status: 'denied' } });
    expect((byKey.get('unguarded') as any).new.violations.map((v: any) => v.code)).toEqual(['guardrail_required']);
    expect(byKey.get('guarded')).toMatchObject({ changed: false });
  });

  it('a ship version is judged as a ship: a lower tier cap does not deny it', async () => {
    await owner.post('/v1/intents', simpleIntent('to-ship', { exposure: 40 }));
    await owner.post('/v1/intents', simpleIntent('not-shipped', { exposure: 40 }));
    const shipped = await owner.post('/v1/intents/to-ship/actions', { action: 'ship', variant: 'treatment', reason: 'wins' });
    expect(shipped.body).toMatchObject({ status: 'approved', state: 'shipped' });
    const lower = buildModifiedBundle(withTierCap('standard', 20), 'standard-20');
    const res = await gov.put('/v1/policy?dry_run=true', lower, gzip);
    const byKey = new Map(res.body.impact.experiments.map((e: any) => [e.key, e]));
    expect(byKey.get('not-shipped')).toMatchObject({ changed: true, new: { status: 'denied' } });
    expect(byKey.get('to-ship')).toMatchObject({ version: 2, state: 'shipped', changed: false, new: { status: 'approved' } });
  });
});
