import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle } from '../helpers/bundles.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const gzip = { 'content-type': 'application/gzip' };

/** Edits the copied catalog data (policies/data.json) of a candidate bundle. */
function editData(edit: (catalog: any) => void) {
  return (dir: string) => {
    const file = path.join(dir, 'data.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(data.switchyard.catalog);
    fs.writeFileSync(file, JSON.stringify(data, null, 2));
  };
}

interface Entry {
  key: string;
  version: number;
  state: string;
  changed: boolean;
  old: { status: string };
  new: { status: string; violations: { code: string }[] };
}

/**
 * The governance preview (PUT /v1/policy?dry_run=true, issue #18): an identical bundle changes
 * nothing, whatever state the live experiments are in, and approvals already given count when a
 * version is judged again.
 */
describe('the policy preview is right (PUT /v1/policy?dry_run=true)', () => {
  let s: TestServer;
  let owner: Api;
  let sre: Api;
  let privacy: Api;
  let gov: Api;

  const dryRun = async (bundle: Buffer) => {
    const res = await gov.put('/v1/policy?dry_run=true', bundle, gzip);
    expect(res.status).toBe(200);
    return res.body;
  };
  const byKey = (body: { impact: { experiments: Entry[] } }) => new Map(body.impact.experiments.map((e) => [`${e.key}@${e.version}`, e]));

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    privacy = await s.token({ name: 'pia', role: 'approver', approval_roles: ['privacy'] });
    gov = await s.token({ name: 'gina', role: 'governance' });
    const crit = (key: string, extra: Record<string, unknown> = {}) =>
      exampleIntent({ key, services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}` }], layer: undefined, schedule: undefined, exposure: 4, ...extra });
    const ok = async (p: Promise<{ status: number; text: string }>) => {
      const res = await p;
      expect(res.status, res.text).toBeLessThan(300);
    };

    // running, no approval owed
    await ok(owner.post('/v1/intents', simpleIntent('plain-run', { exposure: 10 })));
    // running after its sre approval
    await ok(owner.post('/v1/intents', crit('crit-approved')));
    await ok(sre.post('/v1/intents/crit-approved/approvals', {}));
    // asks sre and privacy (purchase_history is confidential); only sre has approved
    await ok(owner.post('/v1/intents', crit('crit-half', { data_access: ['purchase_history'] })));
    await ok(sre.post('/v1/intents/crit-half/approvals', {}));
    // asks sre and privacy, both given
    await ok(owner.post('/v1/intents', crit('crit-both', { data_access: ['purchase_history'] })));
    await ok(sre.post('/v1/intents/crit-both/approvals', {}));
    await ok(privacy.post('/v1/intents/crit-both/approvals', {}));
    // paused
    await ok(owner.post('/v1/intents', simpleIntent('paused-one', { exposure: 5 })));
    await ok(s.api.post('/v1/intents/paused-one/actions', { action: 'pause', reason: 'looking' }));
    // v1 running (sre approved), v2 waiting for sre
    await ok(owner.post('/v1/intents', crit('two-versions')));
    await ok(sre.post('/v1/intents/two-versions/approvals', {}));
    await ok(owner.put('/v1/intents/two-versions', crit('two-versions', { exposure: 5 })));
    // scheduled for December (the clock is 2026-11-25), in layer checkout, sre approved
    await ok(owner.post('/v1/intents', exampleIntent({ key: 'scheduled-one' })));
    await ok(sre.post('/v1/intents/scheduled-one/approvals', {}));
    // a layer filled to 100 % by two experiments, each judged against the other
    await ok(owner.post('/v1/intents', simpleIntent('layer-a', { exposure: 60, layer: 'home', services: [{ service: 'recommendations', flag: 'home_a' }] })));
    await ok(owner.post('/v1/intents', simpleIntent('layer-b', { exposure: 40, layer: 'home', services: [{ service: 'recommendations', flag: 'home_b' }] })));
    // a guarded rollout, and a shipped experiment
    await ok(
      owner.post(
        '/v1/intents',
        simpleIntent('rolling', { exposure: 30, services: [{ service: 'search', flag: 'rolling' }], rollout: { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 30 }], guardrails: [{ metric: 'error_rate' }] } }),
      ),
    );
    await ok(owner.post('/v1/intents', simpleIntent('shipped-one', { exposure: 20 })));
    await ok(owner.post('/v1/intents/shipped-one/actions', { action: 'ship', variant: 'treatment', reason: 'it won' }));
    // a pending ship that still owes sre
    await ok(owner.post('/v1/intents', crit('ship-pending')));
    await ok(sre.post('/v1/intents/ship-pending/approvals', {}));
    await ok(owner.post('/v1/intents/ship-pending/actions', { action: 'ship', variant: 'treatment', reason: 'it won' }));

    const states = Object.fromEntries(
      await Promise.all(
        ['plain-run', 'crit-approved', 'crit-half', 'crit-both', 'paused-one', 'two-versions', 'scheduled-one', 'layer-a', 'layer-b', 'rolling', 'shipped-one', 'ship-pending'].map(
          async (k) => [k, `${(await s.api.get(`/v1/intents/${k}`)).body.status}/${(await s.api.get(`/v1/intents/${k}`)).body.state}`],
        ),
      ),
    );
    expect(states).toEqual({
      'plain-run': 'approved/running',
      'crit-approved': 'approved/running',
      'crit-half': 'pending_approval/draft',
      'crit-both': 'approved/running',
      'paused-one': 'approved/paused',
      'two-versions': 'pending_approval/running',
      'scheduled-one': 'approved/scheduled',
      'layer-a': 'approved/running',
      'layer-b': 'approved/running',
      rolling: 'approved/running',
      'shipped-one': 'approved/shipped',
      'ship-pending': 'pending_approval/running',
    });
  });
  afterAll(async () => s?.close());

  it('the active bundle, sent again, changes no experiment in any state', async () => {
    const body = await dryRun(fs.readFileSync(BUNDLE_PATH));
    expect(body.revision).toBe(body.previous_revision);
    const changed = body.impact.experiments.filter((e: Entry) => e.changed).map((e: Entry) => `${e.key}@${e.version}: ${e.old.status} → ${e.new.status}`);
    expect(changed).toEqual([]);
    expect(body.impact).toMatchObject({ changed: 0, would_deny: 0 });
    for (const e of body.impact.experiments as Entry[]) expect(e.new.status, `${e.key}@${e.version}`).toBe(e.old.status);
    // every live version was judged: both versions of two-versions and of the two ships
    expect(body.impact.evaluated).toBeGreaterThanOrEqual(14);
    expect(body.data_changes).toEqual([]);
    expect(body.data_changes_omitted).toBe(0);
  });

  it('approvals already given count: a bundle that still asks sre leaves the sre-approved experiments approved', async () => {
    // the same rules, another audit retention: every obligation document changes, no approval does
    const body = await dryRun(buildModifiedBundle(editData((c) => (c.obligations.audit.full.retention_days = 500)), 'retention-500'));
    // what changed in the rules' data, against the active revision's
    expect(body.data_changes).toEqual([
      { path: ['switchyard', 'catalog', 'obligations', 'audit', 'full', 'retention_days'], change: 'changed', before: 400, after: 500 },
    ]);
    const e = byKey(body);
    expect(e.get('crit-approved@1')).toMatchObject({ changed: true, old: { status: 'approved' }, new: { status: 'approved' } });
    expect(e.get('two-versions@1')).toMatchObject({ new: { status: 'approved' } });
    expect(e.get('crit-both@1')).toMatchObject({ new: { status: 'approved' } });
    expect(e.get('scheduled-one@1')).toMatchObject({ new: { status: 'approved' } });
    expect(e.get('crit-half@1')).toMatchObject({ new: { status: 'pending_approval' } });
  });

  it('approvals already given count: once the bundle no longer asks privacy, the sre approval given is enough', async () => {
    const body = await dryRun(buildModifiedBundle(editData((c) => delete c.obligations.approvals.by_sensitivity.confidential), 'no-privacy'));
    expect(body.data_changes).toEqual([
      { path: ['switchyard', 'catalog', 'obligations', 'approvals', 'by_sensitivity', 'confidential'], change: 'removed', before: [{ role: 'privacy', count: 1 }] },
    ]);
    const e = byKey(body);
    // asked sre and privacy, sre given: under the candidate it owes nothing more
    expect(e.get('crit-half@1')).toMatchObject({ changed: true, old: { status: 'pending_approval' }, new: { status: 'approved' } });
    expect(e.get('crit-both@1')).toMatchObject({ new: { status: 'approved' } });
    // still owes its sre approval: nobody has given it
    expect(e.get('two-versions@2')).toMatchObject({ changed: false, new: { status: 'pending_approval' } });
  });

  it('approvals not given are owed: a bundle that asks two sre approvals, or sre on a standard service, leaves them pending', async () => {
    const body = await dryRun(
      buildModifiedBundle(
        editData((c) => {
          c.obligations.approvals.by_tier.critical = [{ role: 'sre', count: 2 }];
          c.obligations.approvals.by_tier.standard = [{ role: 'sre', count: 1 }];
        }),
        'two-sre',
      ),
    );
    const e = byKey(body);
    expect(e.get('crit-approved@1')).toMatchObject({ changed: true, old: { status: 'approved' }, new: { status: 'pending_approval' } });
    expect(e.get('plain-run@1')).toMatchObject({ changed: true, old: { status: 'approved' }, new: { status: 'pending_approval' } });
    expect(e.get('layer-a@1')).toMatchObject({ changed: false, new: { status: 'approved' } });
  });
});
