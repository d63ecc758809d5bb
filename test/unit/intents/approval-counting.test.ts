import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/access/actor.js';
import { ManualClock } from '../../../src/clock.js';
import { createContainer, type Container } from '../../../src/container.js';
import { SwitchyardError } from '../../../src/errors.js';
import { versionTag, type ApprovalRequest } from '../../../src/intents/intent-service.js';
import { createLogger } from '../../../src/logger.js';
import type { IntentStore } from '../../../src/intents/intent-store.js';
import { buildModifiedBundle } from '../../helpers/bundles.js';
import { simpleIntent } from '../../helpers/harness.js';

/**
 * The approval rules of IntentService without HTTP: the real service, the real compiled policy
 * (critical services owe 2 sre approvals here) and a real SQLite file. Rows are also written
 * straight into the approvals table, as an older release could have stored them (before names
 * were compared normalised), so each rule is seen on its own, not hidden behind another guard.
 */
describe('IntentService approval counting', () => {
  let dir: string;
  let c: Container;
  let store: IntentStore;
  let n = 0;

  const person = (name: string, role: Actor['role'] = 'approver'): Actor => ({
    tokenId: `tok_${name}`,
    name,
    role,
    team: role === 'owner' ? 'growth' : null,
    approvalRoles: role === 'approver' ? ['sre'] : [],
    service: null,
  });
  const alice = person('Alice', 'owner');

  /** A new intent submitted by "Alice", owing 2 sre approvals. */
  const submitted = async () => {
    const key = `count-${++n}`;
    const r = await c.intents.submit(simpleIntent(key, { services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_flag` }], exposure: 1 }), alice);
    expect(r.decision.obligations.approvals).toEqual([{ role: 'sre', count: 2 }]);
    return key;
  };
  /** An approval row as an older release stored it, with no check at all. */
  const legacyRow = (key: string, actor: string) => store.insertApproval({ key, version: 1, actor, roles: ['sre'], comment: null, createdAt: '2026-11-25T12:00:00.000Z' });
  const sre = async (key: string) => (await c.intents.outstanding(c.storage.read, (await store.getVersion(key, (await c.intents.get(key)).version))!))[0]!;
  const refusal = async (fn: () => unknown): Promise<string> => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof SwitchyardError) return err.code;
      throw err;
    }
    return 'none: it was accepted';
  };
  const approve = (key: string, name: string, request: ApprovalRequest = {}) => c.intents.approve(key, person(name), request);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-approvals-'));
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
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    c = await createContainer({ dbPath: path.join(dir, 'db.sqlite'), policyBundlePath: bundle, clock: new ManualClock('2026-11-25T12:00:00Z'), logger: createLogger('silent', quiet) });
    // Writes straight through the adapter's writer-bound store, outside any unit (autocommit), as an older release wrote rows.
    store = c.sqlite.writer.intents;
  });
  afterAll(async () => {
    await c?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('outstanding(): what a version still owes, counted at read time', () => {
    it("never counts the submitter's row, whatever form the name was stored in", async () => {
      const key = await submitted();
      await legacyRow(key, 'alice ');
      await legacyRow(key, 'ALICE');
      expect(await sre(key)).toEqual({ role: 'sre', count: 2, approved_by: [], missing: 2 });
    });

    it('counts one person once, however many rows spell the name differently', async () => {
      const key = await submitted();
      await legacyRow(key, 'sam');
      await legacyRow(key, ' Sam ');
      await legacyRow(key, 'SAM');
      // Listed once, under one of the spellings stored.
      expect(await sre(key)).toEqual({ role: 'sre', count: 2, approved_by: [expect.stringMatching(/^ ?(sam|Sam|SAM) ?$/)], missing: 1 });
      await legacyRow(key, 'sasha');
      expect(await sre(key)).toMatchObject({ approved_by: [expect.any(String), 'sasha'], missing: 0 });
    });
  });

  describe('approve(): the guards, each on its own', () => {
    it('self_approval: the submitter "Alice" approving as "alice " is refused, and no row is written', async () => {
      const key = await submitted();
      expect(await refusal(() => approve(key, 'alice '))).toBe('self_approval');
      expect(await refusal(() => approve(key, '\u0041lice'.normalize('NFD')))).toBe('self_approval');
      expect(await store.listApprovals(key, 1)).toEqual([]);
    });

    it('already_approved: one person, by normalised name, approves a version once', async () => {
      const key = await submitted();
      expect((await approve(key, 'sam')).status).toBe('pending_approval');
      expect(await refusal(() => approve(key, ' Sam '))).toBe('already_approved');
      expect((await store.listApprovals(key, 1)).map((a) => a.actor)).toEqual(['sam']);
      expect((await approve(key, 'sasha')).status).toBe('approved');
    });

    it('version_changed: a pin on anything but the current version, by number or by tag; nothing is written', async () => {
      const key = await submitted();
      const v1 = versionTag((await store.getVersion(key, 1))!);
      await c.intents.update(key, simpleIntent(key, { services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_flag` }], exposure: 5 }), alice);
      const v2 = versionTag((await store.getVersion(key, 2))!);
      expect(await refusal(() => approve(key, 'sam', { version: 1 }))).toBe('version_changed');
      expect(await refusal(() => approve(key, 'sam', { ifMatch: [v1] }))).toBe('version_changed');
      expect(await refusal(() => approve(key, 'sam', { version: 2, ifMatch: [v1] }))).toBe('version_changed');
      expect(await refusal(() => approve(key, 'sam', { version: 1, ifMatch: [v2] }))).toBe('version_changed');
      expect(await store.listApprovals(key, 1)).toEqual([]);
      expect(await store.listApprovals(key, 2)).toEqual([]);
      expect((await approve(key, 'sam', { version: 2, ifMatch: [v2] })).intent).toEqual({ key, version: 2 });
    });
  });

  describe('versionTag', () => {
    const v = { key: 'checkout-redesign', version: 2, decisionId: 'd_01A', submittedAt: '2026-11-25T12:00:00.000Z' };
    it('is a strong, quoted tag that differs by key, by version, and for the same version submitted afresh', async () => {
      const tag = versionTag(v);
      expect(tag).toMatch(/^"v2-[A-Za-z0-9_-]{22}"$/);
      expect(versionTag({ ...v })).toBe(tag);
      expect(versionTag({ ...v, key: 'other-key' })).not.toBe(tag);
      expect(versionTag({ ...v, version: 3 })).not.toBe(tag);
      expect(versionTag({ ...v, decisionId: 'd_01B' })).not.toBe(tag);
    });
  });
});
