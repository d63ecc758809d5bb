import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionTag } from '../../../src/intents/intent-service.js';
import { buildModifiedBundle } from '../../helpers/bundles.js';
import { auditOf, criticalIntent, errorOf, flagOf, openDomain, people, refusalOf, type Domain } from '../../helpers/domain.js';

/**
 * Approval counting (SPEC §3 obligations, §4 approvals) on the domain, with the shipped policy (a
 * critical service owes 1 `sre`, a confidential data class 1 `privacy`) and, for counts above one,
 * a policy built from policies/ that asks 2 `sre`.
 *
 * The submitter filter in `outstanding()` is hidden by the `self_approval` guard in `approve()`: no
 * approval call can store a submitter's row. It is tested on its own in approval-counting.test.ts
 * (rows written as an older release stored them); here the guard is tested on its own.
 */
describe('approvals', () => {
  let d: Domain;
  const { alice, sam, sasha, priya, pat, oscar, root } = people;
  let n = 0;
  const next = (p: string) => `${p}-${++n}`;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  /** checkout-api (critical: sre) touching purchase_history (confidential: privacy). */
  const both = (key: string) => criticalIntent(key, { data_access: ['purchase_history'] });
  const outstanding = async (key: string) => (await d.c.intents.get(key)).outstanding_approvals.map((o) => `${o.role} ${o.missing}/${o.count}`);
  const rows = async (key: string) => (await d.c.intents.get(key)).approvals.map((a) => `${a.actor}: ${a.roles.join(',')}`);

  describe('roles that count and roles that do not', () => {
    it('each approver fills the roles they hold that are still owed; all filled, the version is approved and runs', async () => {
      const key = next('roles');
      const r = await d.c.intents.submit(both(key), alice);
      expect(r.decision.obligations.approvals).toEqual([{ role: 'privacy', count: 1 }, { role: 'sre', count: 1 }]);
      expect(await outstanding(key)).toEqual(['privacy 1/1', 'sre 1/1']);

      const a = await d.c.intents.approve(key, priya, { comment: 'data ok' });
      expect(a).toMatchObject({ status: 'pending_approval', state: 'draft', outstanding: [{ role: 'sre', count: 1, approved_by: [], missing: 1 }] });
      expect(await rows(key)).toEqual(['priya: privacy']);

      const b = await d.c.intents.approve(key, sam);
      expect(b).toMatchObject({ status: 'approved', state: 'running', outstanding: [] });
      expect((await auditOf(d.c, key)).slice(-3).map((e) => [e.type, e.actor, e.data['roles'] ?? null, e.data['complete'] ?? null, e.data['comment'] ?? null])).toEqual([
        ['approved', 'priya', ['privacy'], false, 'data ok'],
        ['approved', 'sam', ['sre'], true, null],
        ['started', 'sam', null, null, null],
      ]);
    });

    it('a role already filled does not count again: 403 approval_role_mismatch naming what is still owed; no row', async () => {
      const key = next('filled');
      await d.c.intents.submit(both(key), alice);
      await d.c.intents.approve(key, priya);
      const err = await errorOf(() => d.c.intents.approve(key, people.approver('petra', ['privacy'])));
      expect(err).toMatchObject({ code: 'approval_role_mismatch', status: 403 });
      expect(err.message).toContain('still needs approval by role sre; this token holds privacy');
      expect(await rows(key)).toEqual(['priya: privacy']);
    });

    it('an approver with no approval role at all is told so', async () => {
      const key = next('norole');
      await d.c.intents.submit(both(key), alice);
      const err = await errorOf(() => d.c.intents.approve(key, people.approver('nora', [])));
      expect(err).toMatchObject({ code: 'approval_role_mismatch' });
      expect(err.message).toContain('no approval role');
    });

    it('one approver holding both roles fills both at once', async () => {
      const key = next('both');
      await d.c.intents.submit(both(key), alice);
      expect(await d.c.intents.approve(key, pat)).toMatchObject({ status: 'approved', state: 'running' });
      expect(await rows(key)).toEqual(['pat: privacy,sre']);
    });

    it('an admin counts for every role owed; an operator or an owner may not approve', async () => {
      const key = next('admin');
      await d.c.intents.submit(both(key), alice);
      expect(await refusalOf(() => d.c.intents.approve(key, oscar))).toBe('forbidden');
      expect(await refusalOf(() => d.c.intents.approve(key, people.bob))).toBe('forbidden');
      expect(await d.c.intents.approve(key, root)).toMatchObject({ status: 'approved' });
      expect(await rows(key)).toEqual(['root: privacy,sre']);
    });

    it('a version owing nothing, a denied one, or one on a completed experiment: 409 not_pending_approval', async () => {
      const plain = next('plain');
      await d.c.intents.submit(criticalIntent(plain, { services: [{ service: 'web', flag: flagOf(plain) }] }), alice);
      expect(await refusalOf(() => d.c.intents.approve(plain, sam))).toBe('not_pending_approval');
      const denied = next('denied');
      expect((await d.c.intents.submit(criticalIntent(denied, { exposure: 50 }), alice)).status).toBe('denied');
      expect(await refusalOf(() => d.c.intents.approve(denied, sam))).toBe('not_pending_approval');
      const ended = next('ended');
      await d.c.intents.submit(criticalIntent(ended), alice);
      await d.c.lifecycle.act(ended, 'complete', 'never mind', oscar);
      const err = await errorOf(() => d.c.intents.approve(ended, sam));
      expect(err).toMatchObject({ code: 'not_pending_approval' });
      expect(err.message).toContain('is completed');
      expect(await refusalOf(() => d.c.intents.approve('no-such-intent', sam))).toBe('intent_not_found');
    });
  });

  describe('the submitter never counts (the self_approval guard on its own)', () => {
    it('refuses the submitter under any spelling (case, spaces, NFC/NFD) and writes nothing', async () => {
      const key = next('self');
      const zoe = people.approver('Zo\u00eb');
      // Zoë (composed) submits as an owner who also holds an approver token.
      await d.c.intents.submit(criticalIntent(key), { ...alice, name: zoe.name });
      for (const name of ['Zo\u00eb', ' zo\u00eb ', 'ZO\u00cb', 'Zoe\u0308']) {
        const err = await errorOf(() => d.c.intents.approve(key, people.approver(name)));
        expect(err, name).toMatchObject({ code: 'self_approval', status: 403 });
      }
      expect(await rows(key)).toEqual([]);
      expect(await outstanding(key)).toEqual(['sre 1/1']);
      expect(await d.c.intents.approve(key, sam)).toMatchObject({ status: 'approved' });
    });
  });

  describe('pinned approvals', () => {
    it('409 version_changed for a version or an ETag other than the current one; `*` and the current tag pass', async () => {
      const key = next('pin');
      await d.c.intents.submit(criticalIntent(key), alice);
      const tag1 = (await d.c.intents.read(key)).etag;
      await d.c.intents.update(key, criticalIntent(key, { exposure: 3 }), alice);
      const tag2 = (await d.c.intents.read(key)).etag;
      expect(tag2).not.toBe(tag1);
      const err = await errorOf(() => d.c.intents.approve(key, sam, { version: 1 }));
      expect(err).toMatchObject({ code: 'version_changed', status: 409, details: { current_version: 2, current_etag: tag2, requested_version: 1 } });
      expect(await refusalOf(() => d.c.intents.approve(key, sam, { ifMatch: [tag1] }))).toBe('version_changed');
      expect(await rows(key)).toEqual([]);
      expect(await d.c.intents.approve(key, sam, { version: 2, ifMatch: '*' })).toMatchObject({ intent: { key, version: 2 }, status: 'approved' });

      const key2 = next('pin');
      await d.c.intents.submit(criticalIntent(key2), alice);
      const tag = (await d.c.intents.read(key2)).etag;
      const v1 = (await d.c.intents.get(key2)).versions[0]!;
      expect(tag).toBe(versionTag({ key: key2, version: 1, decisionId: v1.decision_id, submittedAt: v1.submitted_at }));
      expect(await d.c.intents.approve(key2, sam, { ifMatch: ['"other"', tag] })).toMatchObject({ status: 'approved' });
    });
  });
});

describe('approvals counting more than one person', () => {
  let d: Domain;
  let dir: string;
  const { alice, sam, sasha } = people;
  let n = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sre2-'));
    const bundle = path.join(dir, 'bundle.tar.gz');
    fs.writeFileSync(
      bundle,
      buildModifiedBundle((policies) => {
        const file = path.join(policies, 'data.json');
        const data = JSON.parse(fs.readFileSync(file, 'utf8'));
        data.switchyard.catalog.obligations.approvals.by_tier.critical = [{ role: 'sre', count: 2 }];
        fs.writeFileSync(file, JSON.stringify(data));
      }, 'sre-count-2'),
    );
    d = await openDomain({ bundlePath: bundle });
  });
  afterAll(async () => {
    await d?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two different people are needed; the first leaves it pending with one missing', async () => {
    const key = `two-${++n}`;
    expect((await d.c.intents.submit(criticalIntent(key), alice)).decision.obligations.approvals).toEqual([{ role: 'sre', count: 2 }]);
    expect(await d.c.intents.approve(key, sam)).toMatchObject({ status: 'pending_approval', state: 'draft', outstanding: [{ role: 'sre', count: 2, approved_by: ['sam'], missing: 1 }] });
    expect(await d.c.intents.approve(key, sasha)).toMatchObject({ status: 'approved', state: 'running', outstanding: [] });
  });

  it('the same person twice, by normalised name (case, spaces, NFC), is 409 already_approved and counts once', async () => {
    const key = `two-${++n}`;
    await d.c.intents.submit(criticalIntent(key), alice);
    await d.c.intents.approve(key, people.approver('Ren\u00e9e'));
    for (const name of ['ren\u00e9e', ' RENÉE', 'Rene\u0301e ']) {
      const err = await errorOf(() => d.c.intents.approve(key, people.approver(name)));
      expect(err, name).toMatchObject({ code: 'already_approved', status: 409 });
      expect(err.message).toContain('(as Ren\u00e9e)');
    }
    expect((await d.c.intents.get(key)).outstanding_approvals).toEqual([{ role: 'sre', count: 2, approved_by: ['Ren\u00e9e'], missing: 1 }]);
  });
});
