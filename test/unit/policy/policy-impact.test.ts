import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { parseBundle, type PolicyBundle } from '../../../src/policy/policy-bundle.js';
import { LoadedBundle } from '../../../src/policy/policy-engine.js';
import { impactCases, policyImpact, type ImpactEntry, type ImpactReport } from '../../../src/policy/policy-impact.js';
import { probeInput } from '../../../src/policy/policy-input.js';
import { InProcessRunner } from '../../../src/policy/policy-runner.js';
import { buildModifiedBundle } from '../../helpers/bundles.js';
import { criticalIntent, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';
import { exampleIntent, simpleIntent } from '../../helpers/harness.js';
import { BUNDLE_PATH } from '../../helpers/paths.js';

/**
 * The governance preview without HTTP: `impactCases` reads the live versions of a real SQLite file
 * (the container main.ts builds, the real compiled policy), and `policyImpact` judges them under a
 * candidate loaded on this thread with the in-process runner, as the check worker does in the
 * server (where neither per-test coverage nor a mutation tool sees it). The twelve experiment states
 * are those of test/http/policy-preview.test.ts.
 *
 * Only bundle building (opa, not mutated code) happens in beforeAll: the experiments are made and
 * the candidates loaded inside each test, so the mutants of policy-impact.ts, approvals-owed.ts and
 * the engine stay per-test (docs/mutation.md, "How it is set up").
 */
const logger = createLogger('silent');

/** Edits the copied catalog data (policies/data.json) of a candidate bundle. */
const editData = (edit: (catalog: any) => void) => (dir: string) => {
  const file = path.join(dir, 'data.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(data.switchyard.catalog);
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
};

const KEYS = ['plain-run', 'crit-approved', 'crit-half', 'crit-both', 'paused-one', 'two-versions', 'scheduled-one', 'layer-a', 'layer-b', 'rolling', 'shipped-one', 'ship-pending'];

/** Every live version, as `key@version`, in the order the store lists them. */
const LIVE = [
  'crit-approved@1',
  'crit-both@1',
  'crit-half@1',
  'layer-a@1',
  'layer-b@1',
  'paused-one@1',
  'plain-run@1',
  'rolling@1',
  'scheduled-one@1',
  'ship-pending@1',
  'ship-pending@2',
  'shipped-one@2',
  'two-versions@1',
  'two-versions@2',
];

let active: PolicyBundle;
let retention500: PolicyBundle;
let noPrivacy: PolicyBundle;
let twoSre: PolicyBundle;
let standard15: PolicyBundle;

beforeAll(async () => {
  active = await parseBundle(fs.readFileSync(BUNDLE_PATH));
  // the same rules, another audit retention: every obligation document changes, no approval does
  retention500 = await parseBundle(buildModifiedBundle(editData((c) => (c.obligations.audit.full.retention_days = 500)), 'retention-500'));
  noPrivacy = await parseBundle(buildModifiedBundle(editData((c) => delete c.obligations.approvals.by_sensitivity.confidential), 'no-privacy'));
  twoSre = await parseBundle(
    buildModifiedBundle(
      editData((c) => {
        c.obligations.approvals.by_tier.critical = [{ role: 'sre', count: 2 }];
        c.obligations.approvals.by_tier.standard = [{ role: 'sre', count: 1 }];
      }),
      'two-sre',
    ),
  );
  // standard services capped at 15 % (from 50): `rolling` (30 % on search) is over it; a ship is exempt from the caps
  standard15 = await parseBundle(buildModifiedBundle(editData((c) => (c.tier_caps.standard = 15)), 'standard-15'));
}, 120_000);

/** The twelve experiment states of the HTTP preview test, made through the domain (IntentService, Lifecycle). */
async function twelveStates(): Promise<Domain> {
  const d = await openDomain();
  const { alice, sam, priya, oscar } = people;
  const { intents, lifecycle } = d.c;
  const crit = (key: string, extra: Record<string, unknown> = {}) =>
    exampleIntent({ key, services: [{ service: 'checkout-api', flag: key.replace(/-/g, '_') }], layer: undefined, schedule: undefined, exposure: 4, ...extra });

  await intents.submit(simpleIntent('plain-run', { exposure: 10 }), alice);
  await intents.submit(crit('crit-approved'), alice);
  await intents.approve('crit-approved', sam);
  // asks sre and privacy (purchase_history is confidential); only sre has approved
  await intents.submit(crit('crit-half', { data_access: ['purchase_history'] }), alice);
  await intents.approve('crit-half', sam);
  await intents.submit(crit('crit-both', { data_access: ['purchase_history'] }), alice);
  await intents.approve('crit-both', sam);
  await intents.approve('crit-both', priya);
  await intents.submit(simpleIntent('paused-one', { exposure: 5 }), alice);
  await lifecycle.act('paused-one', 'pause', 'looking', oscar);
  // v1 running (sre approved), v2 waiting for sre
  await intents.submit(crit('two-versions'), alice);
  await intents.approve('two-versions', sam);
  await intents.update('two-versions', crit('two-versions', { exposure: 5 }), alice);
  // scheduled for December (the clock is 2026-11-25), in layer checkout, sre approved
  await intents.submit(exampleIntent({ key: 'scheduled-one' }), alice);
  await intents.approve('scheduled-one', sam);
  // a layer filled to 100 % by two experiments, each judged against the other
  await intents.submit(simpleIntent('layer-a', { exposure: 60, layer: 'home', services: [{ service: 'recommendations', flag: 'home_a' }] }), alice);
  await intents.submit(simpleIntent('layer-b', { exposure: 40, layer: 'home', services: [{ service: 'recommendations', flag: 'home_b' }] }), alice);
  await intents.submit(
    simpleIntent('rolling', { exposure: 30, services: [{ service: 'search', flag: 'rolling' }], rollout: { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 30 }], guardrails: [{ metric: 'error_rate' }] } }),
    alice,
  );
  await intents.submit(simpleIntent('shipped-one', { exposure: 20 }), alice);
  await intents.ship('shipped-one', 'treatment', 'it won', alice);
  // a pending ship that still owes sre
  await intents.submit(crit('ship-pending'), alice);
  await intents.approve('ship-pending', sam);
  await intents.ship('ship-pending', 'treatment', 'it won', alice);

  const states: Record<string, string> = {};
  for (const k of KEYS) {
    const v = await intents.get(k);
    states[k] = `${v.status}/${v.state}`;
  }
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
  return d;
}

/** The preview of `candidate` over the domain's live versions, as the check worker computes it. */
async function preview(d: Domain, candidate: PolicyBundle): Promise<ImpactReport> {
  const cases = await impactCases(d.c.storage.read, d.clock.now());
  const loaded = await LoadedBundle.load(candidate, probeInput(d.clock.now()), new InProcessRunner());
  return policyImpact(cases, loaded, d.c.engine.revision(), logger);
}

const byKey = (r: ImpactReport) => new Map(r.experiments.map((e) => [`${e.key}@${e.version}`, e]));
/** `key@version: old → new` of each entry the report marks changed. */
const changedOf = (r: ImpactReport) => r.experiments.filter((e) => e.changed).map((e) => `${e.key}@${e.version}: ${e.old.status} → ${e.new.status}`);
const statusOf = (r: ImpactReport) => Object.fromEntries(r.experiments.map((e) => [`${e.key}@${e.version}`, `${e.old.status} → ${e.new.status}`]));

describe('policyImpact over the twelve experiment states (the preview of PUT /v1/policy?dry_run=true)', () => {
  it('the active bundle again changes no version in any state, and every live version is judged', async () => {
    const d = await twelveStates();
    try {
      const r = await preview(d, active);
      expect(r.experiments.map((e) => `${e.key}@${e.version}`)).toEqual(LIVE);
      expect(changedOf(r)).toEqual([]);
      expect(r).toMatchObject({ candidate_revision: active.revision, active_revision: active.revision, evaluated: 14, would_deny: 0, changed: 0 });
      expect(statusOf(r)).toEqual({
        'crit-approved@1': 'approved → approved',
        'crit-both@1': 'approved → approved',
        'crit-half@1': 'pending_approval → pending_approval',
        'layer-a@1': 'approved → approved',
        'layer-b@1': 'approved → approved',
        'paused-one@1': 'approved → approved',
        'plain-run@1': 'approved → approved',
        'rolling@1': 'approved → approved',
        'scheduled-one@1': 'approved → approved',
        'ship-pending@1': 'approved → approved',
        'ship-pending@2': 'pending_approval → pending_approval',
        'shipped-one@2': 'approved → approved',
        'two-versions@1': 'approved → approved',
        'two-versions@2': 'pending_approval → pending_approval',
      });
      // an entry whole: the state it is live in, the stored verdict with its revision, the new one
      const e = byKey(r);
      const half = e.get('crit-half@1')!;
      const obligations = { approvals: [{ role: 'privacy', count: 1 }, { role: 'sre', count: 1 }], audit: { level: 'full', retention_days: 400 } };
      expect(half).toEqual({
        key: 'crit-half',
        version: 1,
        state: 'pending_approval',
        old: { status: 'pending_approval', policy_revision: active.revision, violations: [], obligations },
        new: { status: 'pending_approval', violations: [], obligations },
        changed: false,
      } satisfies ImpactEntry);
      // the state each is live in: the experiment's for its active version, the version's status otherwise
      expect(Object.fromEntries(r.experiments.map((x) => [`${x.key}@${x.version}`, x.state]))).toEqual({
        'crit-approved@1': 'running',
        'crit-both@1': 'running',
        'crit-half@1': 'pending_approval',
        'layer-a@1': 'running',
        'layer-b@1': 'running',
        'paused-one@1': 'paused',
        'plain-run@1': 'running',
        'rolling@1': 'running',
        'scheduled-one@1': 'scheduled',
        'ship-pending@1': 'running',
        'ship-pending@2': 'pending_approval',
        'shipped-one@2': 'shipped',
        'two-versions@1': 'running',
        'two-versions@2': 'pending_approval',
      });
    } finally {
      await d.close();
    }
  });

  it('approvals already given count: a bundle that still asks sre leaves the sre-approved versions approved, and an obligation change alone is a change', async () => {
    const d = await twelveStates();
    try {
      const r = await preview(d, retention500);
      const e = byKey(r);
      expect(r).toMatchObject({ candidate_revision: retention500.revision, active_revision: active.revision, evaluated: 14, would_deny: 0 });
      // every version with a full audit (critical or confidential) has a new obligation document, no new status
      expect(changedOf(r)).toEqual([
        'crit-approved@1: approved → approved',
        'crit-both@1: approved → approved',
        'crit-half@1: pending_approval → pending_approval',
        'scheduled-one@1: approved → approved',
        'ship-pending@1: approved → approved',
        'ship-pending@2: pending_approval → pending_approval',
        'two-versions@1: approved → approved',
        'two-versions@2: pending_approval → pending_approval',
      ]);
      expect(r.changed).toBe(8);
      expect(e.get('crit-approved@1')!.old.obligations).toEqual({ approvals: [{ role: 'sre', count: 1 }], audit: { level: 'full', retention_days: 400 } });
      expect(e.get('crit-approved@1')!.new.obligations).toEqual({ approvals: [{ role: 'sre', count: 1 }], audit: { level: 'full', retention_days: 500 } });
    } finally {
      await d.close();
    }
  });

  it('approvals already given count: once the bundle no longer asks privacy, the sre approval given is enough', async () => {
    const d = await twelveStates();
    try {
      const r = await preview(d, noPrivacy);
      expect(r.would_deny).toBe(0);
      expect(changedOf(r)).toEqual(['crit-both@1: approved → approved', 'crit-half@1: pending_approval → approved']);
      expect(r.changed).toBe(2);
      // still owes its sre approval: nobody has given it
      expect(byKey(r).get('two-versions@2')).toMatchObject({ changed: false, new: { status: 'pending_approval' } });
    } finally {
      await d.close();
    }
  });

  it('approvals not given are owed: two sre approvals on critical, or one on standard, leave versions pending', async () => {
    const d = await twelveStates();
    try {
      const r = await preview(d, twoSre);
      expect(r.would_deny).toBe(0);
      expect(statusOf(r)).toMatchObject({
        'crit-approved@1': 'approved → pending_approval',
        'plain-run@1': 'approved → pending_approval',
        'paused-one@1': 'approved → pending_approval',
        'shipped-one@2': 'approved → pending_approval',
        'rolling@1': 'approved → pending_approval',
        // experimental tier: asks nothing
        'layer-a@1': 'approved → approved',
      });
      expect(byKey(r).get('layer-a@1')!.changed).toBe(false);
      expect(r.changed).toBe(r.experiments.filter((e) => e.key !== 'layer-a' && e.key !== 'layer-b').length);
    } finally {
      await d.close();
    }
  });

  it('a version the candidate denies is counted in would_deny, with the violation; a ship is judged as a ship (exempt from the caps)', async () => {
    const d = await twelveStates();
    try {
      const r = await preview(d, standard15);
      const e = byKey(r);
      expect(changedOf(r)).toEqual(['rolling@1: approved → denied']);
      expect(r).toMatchObject({ evaluated: 14, would_deny: 1, changed: 1 });
      expect(e.get('rolling@1')!.new.violations.map((v) => v.code)).toEqual(['max_exposure']);
      // shipped-one is at 20 % on web (standard), over the new cap: as a ship it is allowed
      expect(e.get('shipped-one@2')).toMatchObject({ changed: false, new: { status: 'approved', violations: [] } });
    } finally {
      await d.close();
    }
  });
});

describe('impactCases: each live version as it was judged, and the input it is judged on today', () => {
  it('reads the stored verdict and revision, the approvals, the submitter, the live state and a ship marker; the input has today\'s clock and the actor the policy saw', async () => {
    const d = await openDomain();
    try {
      const { alice, sam, root } = people;
      const crit = await d.c.intents.submit(criticalIntent('crit'), alice);
      await d.c.intents.approve('crit', sam, { comment: 'fine' });
      await d.c.intents.submit(webIntent('by-admin'), root);
      await d.c.intents.submit(webIntent('shipped', { exposure: 20 }), alice);
      await d.c.intents.ship('shipped', 'treatment', 'it won', alice);
      d.clock.advance(3_600_000);
      const cases = await impactCases(d.c.storage.read, d.clock.now());
      const byK = new Map(cases.map((c) => [`${c.key}@${c.version}`, c]));
      expect([...byK.keys()]).toEqual(['by-admin@1', 'crit@1', 'shipped@2']);
      const { id: _id, policy_revision: _rev, ...verdict } = crit.decision;
      expect(byK.get('crit@1')).toEqual({
        key: 'crit',
        version: 1,
        status: 'approved',
        liveStatus: 'running',
        policyRevision: active.revision,
        oldResult: verdict,
        input: expect.objectContaining({ actor: { name: 'alice', role: 'owner', team: 'growth' }, now_ms: d.clock.now().getTime() }),
        submittedBy: 'alice',
        approvals: [{ actor: 'sam', roles: ['sre'] }],
      });
      expect(byK.get('crit@1')!.input.intent).toMatchObject({ key: 'crit', exposure: 2 });
      expect(byK.get('crit@1')!.input).not.toHaveProperty('ship');
      // the actor as stored with the decision (an admin, no team), not the submitter's name as an owner
      expect(byK.get('by-admin@1')!.input.actor).toEqual({ name: 'root', role: 'admin' });
      expect(byK.get('by-admin@1')).toMatchObject({ submittedBy: 'root', approvals: [] });
      // a ship is judged as a ship
      expect(byK.get('shipped@2')).toMatchObject({ status: 'approved', liveStatus: 'shipped' });
      expect(byK.get('shipped@2')!.input.ship).toBe('treatment');
    } finally {
      await d.close();
    }
  });

  it('a version whose decision is not stored is judged as its submitter, an owner, and reported changed against an unknown revision', async () => {
    const d = await openDomain();
    try {
      await d.c.intents.submit(webIntent('orphan'), people.root);
      await d.c.intents.submit(webIntent('kept'), people.alice);
      // decision_id is nullable: a version stored without its decision
      expect(d.c.db.prepare("UPDATE intent_versions SET decision_id = NULL WHERE key = 'orphan'").run().changes).toBe(1);
      const cases = await impactCases(d.c.storage.read, d.clock.now());
      const orphan = cases.find((c) => c.key === 'orphan')!;
      expect(orphan).toMatchObject({ status: 'approved', liveStatus: 'running', policyRevision: null, oldResult: undefined, submittedBy: 'root' });
      expect(orphan.input.actor).toEqual({ name: 'root', role: 'owner' });
      const r = policyImpact(cases, await LoadedBundle.load(active, probeInput(d.clock.now()), new InProcessRunner()), null, logger);
      expect(r).toMatchObject({ active_revision: null, evaluated: 2, would_deny: 0, changed: 1 });
      const e = byKey(r);
      expect(e.get('orphan@1')).toEqual({
        key: 'orphan',
        version: 1,
        state: 'running',
        old: { status: 'approved', policy_revision: 'unknown', violations: [], obligations: null },
        new: { status: 'approved', violations: [], obligations: { approvals: [], audit: { level: 'standard', retention_days: 90 } } },
        changed: true,
      } satisfies ImpactEntry);
      expect(e.get('kept@1')).toMatchObject({ changed: false, old: { policy_revision: active.revision } });
    } finally {
      await d.close();
    }
  });

  it('a status the same verdict no longer gives is a change: a version an older release approved by its submitter\'s own row', async () => {
    const d = await openDomain();
    try {
      await d.c.intents.submit(criticalIntent('legacy'), people.alice);
      // as an older release stored it: the submitter's approval under another spelling, counted, and the version approved
      await d.c.sqlite.writer.intents.insertApproval({ key: 'legacy', version: 1, actor: ' ALICE', roles: ['sre'], comment: null, createdAt: '2026-11-25T12:00:00.000Z' });
      expect(d.c.db.prepare("UPDATE intent_versions SET status = 'approved' WHERE key = 'legacy'").run().changes).toBe(1);
      const cases = await impactCases(d.c.storage.read, d.clock.now());
      const r = policyImpact(cases, await LoadedBundle.load(active, probeInput(d.clock.now()), new InProcessRunner()), active.revision, logger);
      const legacy = byKey(r).get('legacy@1')!;
      // the verdict is the same one; only the status it leaves differs
      expect(legacy.new.obligations).toEqual(legacy.old.obligations);
      expect(legacy).toMatchObject({ changed: true, old: { status: 'approved' }, new: { status: 'pending_approval' } });
      expect(r).toMatchObject({ changed: 1, would_deny: 0 });
    } finally {
      await d.close();
    }
  });
});
