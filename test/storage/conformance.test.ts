import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlagChangeCause } from '../../src/flags/flag-store.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/http/idempotency-store.js';
import type { Intent } from '../../src/intents/intent-schema.js';
import type { VersionRecord } from '../../src/intents/intent-store.js';
import type { Storage, Unit } from '../../src/unit-of-work.js';
import { ENGINES, type OpenedEngine } from './engines.js';

/**
 * The storage port's conformance suite (STYLE.md "The domain owns its ports"; docs/storage.md):
 * every store contract, run against every adapter with the same expectations. What the domain
 * relies on is pinned here once, and an adapter that answers differently fails here, not in an
 * HTTP test three layers up.
 */

const T0 = '2026-11-25T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

function intent(key: string, over: Partial<Record<string, unknown>> = {}): Intent {
  return {
    key,
    owner: 'growth',
    services: [{ service: 'web', flag: `${key}_flag` }],
    variants: [
      { key: 'control', weight: 50, value: 'off' },
      { key: 'treatment', weight: 50, value: 'on' },
    ],
    exposure: 10,
    ...over,
  } as unknown as Intent;
}

function version(key: string, v: number, over: Partial<VersionRecord> = {}, intentOver: Partial<Record<string, unknown>> = {}): Omit<VersionRecord, 'retiredAt' | 'ship'> {
  return {
    key,
    version: v,
    intent: intent(key, intentOver),
    status: 'approved',
    decisionId: null,
    slice: null,
    submittedBy: 'alice',
    submittedAt: at(v),
    ...over,
  };
}

const cause = (experiment: string): FlagChangeCause => ({
  type: 'started',
  experiment,
  experiment_version: 1,
  decision_id: null,
  policy_revision: null,
  actor: 'alice',
});

describe.each(ENGINES)('storage conformance: $name', (engine) => {
  let e: OpenedEngine;
  let s: Storage;
  const tx = <T>(fn: (u: Unit) => Promise<T>) => s.tx.run(fn);

  beforeEach(async () => {
    e = await engine.open();
    s = e.storage;
  });
  afterEach(async () => {
    await e.close();
  });

  describe('unit of work', () => {
    it('commits what the unit wrote and resolves with its result', async () => {
      const r = await tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        return 42;
      });
      expect(r).toBe(42);
      expect(await s.read.intents.getExperiment('a')).toMatchObject({ key: 'a', owner: 'growth', state: 'draft', currentVersion: 1 });
    });

    it('rolls back everything when the unit rejects, and rejects with the same reason', async () => {
      const boom = new Error('boom');
      await expect(
        tx(async (u) => {
          await u.intents.createExperiment('a', 'growth', T0);
          await u.tokens.insert({ id: 't1', name: 'n', role: 'admin', team: null, approvalRoles: [], service: null, createdAt: T0, createdBy: null }, 'h1');
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await s.read.intents.getExperiment('a')).toBeUndefined();
      expect(await s.read.tokens.count()).toBe(0);
    });

    it('reads inside the unit (its stores, or the read stores from its async context) see its writes; reads from elsewhere see only committed rows', async () => {
      let wrote!: () => void;
      const written = new Promise<void>((r) => (wrote = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const unit = tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        expect(await u.intents.getExperiment('a')).toBeDefined();
        // The read stores, called from the unit's async context, read through the unit.
        expect(await s.read.intents.getExperiment('a')).toBeDefined();
        wrote();
        await gate;
      });
      await written;
      // This test's own context is outside the unit: committed rows only, while the unit is open.
      expect(await s.read.intents.getExperiment('a')).toBeUndefined();
      release();
      await unit;
      expect(await s.read.intents.getExperiment('a')).toBeDefined();
    });

    it('a nested run joins the open unit: same transaction, rolled back with it, callbacks after the outer commit', async () => {
      const order: string[] = [];
      await tx(async (u) => {
        await u.intents.createExperiment('outer', 'growth', T0);
        const inner = await s.tx.run(async (v) => {
          expect(await v.intents.getExperiment('outer')).toBeDefined();
          await v.intents.createExperiment('inner', 'growth', T0);
          v.afterCommit(() => order.push('inner callback'));
          return 'inner result';
        });
        expect(inner).toBe('inner result');
        order.push('outer body done');
      });
      expect(order).toEqual(['outer body done', 'inner callback']);
      expect(await s.read.intents.getExperiment('inner')).toBeDefined();

      await expect(
        tx(async () => {
          await s.tx.run(async (v) => v.intents.createExperiment('gone', 'growth', T0));
          throw new Error('outer fails');
        }),
      ).rejects.toThrow('outer fails');
      expect(await s.read.intents.getExperiment('gone')).toBeUndefined();
    });

    it('a nested run that rejects is rolled back alone (a savepoint): the outer unit goes on and commits', async () => {
      const seen: string[] = [];
      await tx(async (u) => {
        await u.intents.createExperiment('kept', 'growth', T0);
        await expect(
          s.tx.run(async (v) => {
            await v.intents.createExperiment('undone', 'growth', T0);
            v.afterCommit(() => seen.push('undone callback'));
            // A statement the database refuses (a foreign key): PostgreSQL would abort the whole transaction.
            await v.intents.insertVersion(version('nobody', 1));
          }),
        ).rejects.toMatchObject({ code: 'internal_error' });
        await s.tx.run(async (v) => {
          await v.intents.createExperiment('after', 'growth', T0);
          v.afterCommit(() => seen.push('after callback'));
        });
      });
      expect(seen).toEqual(['after callback']);
      expect(await s.read.intents.getExperiment('kept')).toBeDefined();
      expect(await s.read.intents.getExperiment('after')).toBeDefined();
      expect(await s.read.intents.getExperiment('undone')).toBeUndefined();
    });

    it('afterCommit callbacks run after the commit, in order, and never after a rollback', async () => {
      const seen: string[] = [];
      await tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        u.afterCommit(() => seen.push('first'));
        u.afterCommit(() => {
          throw new Error('a throwing callback does not stop the others');
        });
        u.afterCommit(() => seen.push('third'));
      });
      expect(seen).toEqual(['first', 'third']);
      // A callback sees the committed state through the read stores.
      let committed: unknown;
      await tx(async (u) => {
        await u.intents.createExperiment('b', 'growth', T0);
        u.afterCommit(() => {
          committed = s.read.intents.getExperiment('b');
        });
      });
      expect(await committed).toBeDefined();
      await tx(async (u) => {
        u.afterCommit(() => seen.push('rolled back'));
        throw new Error('no');
      }).catch(() => {});
      expect(seen).toEqual(['first', 'third']);
    });

    it('units run one at a time: concurrent appends each chain to the one before', async () => {
      const n = 20;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          tx(async (u) => {
            const last = await u.audit.last();
            // A yield between the read and the write: another unit would slip in here if units interleaved.
            await new Promise<void>((r) => setImmediate(r));
            await u.audit.insert({ id: `ev${i}`, type: 't', experiment: null, version: null, service: null, actor: 'a', at: T0, data: {}, prevHash: last?.hash ?? 'genesis', hash: `h${i}` });
          }),
        ),
      );
      const all: { seq: number; prevHash: string; hash: string }[] = [];
      for await (const ev of s.read.audit.iterate()) all.push(ev);
      expect(all.map((x) => x.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      for (let i = 1; i < n; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(all[0]!.prevHash).toBe('genesis');
    });
  });

  describe('intents', () => {
    it('a second experiment with the same key is intent_exists, and the unit goes on after the caller catches it', async () => {
      await tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        await expect(u.intents.createExperiment('a', 'other', T0)).rejects.toMatchObject({ code: 'intent_exists', status: 409 });
        // PostgreSQL aborts a transaction at its first error: the store must not let one happen.
        await u.intents.createExperiment('b', 'growth', T0);
      });
      expect((await s.read.intents.getExperiment('a'))?.owner).toBe('growth');
      expect(await s.read.intents.getExperiment('b')).toBeDefined();
    });

    it('stores versions exactly as given and lists them by version', async () => {
      const body = { description: 'naïve “quotes” \u0000 nul, emoji 🧪, \\ backslash', tags: ['x'] };
      await tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        await u.intents.insertVersion(version('a', 2, { slice: { start: 10, end: 20 }, decisionId: 'd_2' }, body));
        await u.intents.insertVersion(version('a', 1, { status: 'denied' }));
        await u.intents.insertVersion({ ...version('a', 3), ship: 'treatment' });
      });
      const vs = await s.read.intents.listVersions('a');
      expect(vs.map((v) => v.version)).toEqual([1, 2, 3]);
      expect(vs[1]).toEqual({ ...version('a', 2, { slice: { start: 10, end: 20 }, decisionId: 'd_2' }, body), retiredAt: null, ship: null });
      expect(vs[2]!.ship).toBe('treatment');
      expect(await s.read.intents.getVersion('a', 9)).toBeUndefined();
      await tx((u) => u.intents.retire('a', 2, at(5)));
      expect((await s.read.intents.getVersion('a', 2))?.retiredAt).toBe(at(5));
    });

    it('lists experiments by key in code-point order, paged, filtered, archived left out unless asked', async () => {
      const keys = ['b', 'B', 'a', 'é', 'z', 'A-1'];
      await tx(async (u) => {
        for (const k of keys) await u.intents.createExperiment(k, k === 'z' ? 'crm' : 'growth', T0);
        expect(await u.intents.archive('a', at(1))).toBe(true);
        expect(await u.intents.archive('a', at(1))).toBe(false);
      });
      const all = await s.read.intents.listExperiments({ limit: 100 });
      expect(all.map((x) => x.key)).toEqual(['A-1', 'B', 'b', 'z', 'é']);
      expect((await s.read.intents.listExperiments({ limit: 2, after: 'B' })).map((x) => x.key)).toEqual(['b', 'z']);
      expect((await s.read.intents.listExperiments({ limit: 100, owner: 'crm' })).map((x) => x.key)).toEqual(['z']);
      expect((await s.read.intents.listExperiments({ limit: 100, state: 'archived' })).map((x) => x.key)).toEqual(['a']);
    });

    it('lists due experiments by (due, key), at or before now', async () => {
      await tx(async (u) => {
        for (const k of ['c', 'b', 'a', 'late']) await u.intents.createExperiment(k, 'growth', T0);
        await u.intents.setActive('c', 1, 'scheduled', at(10), T0);
        await u.intents.setActive('b', 1, 'scheduled', at(5), T0);
        await u.intents.setActive('a', 1, 'scheduled', at(10), T0);
        await u.intents.setActive('late', 1, 'scheduled', at(11), T0);
      });
      expect((await s.read.intents.listDue(at(10))).map((x) => x.key)).toEqual(['b', 'a', 'c']);
    });

    it('live flag claims: other experiments only, live versions only, by (key, version)', async () => {
      await tx(async (u) => {
        for (const k of ['me', 'x', 'y', 'done']) {
          await u.intents.createExperiment(k, 'growth', T0);
          await u.intents.insertVersion(version(k, 1, {}, { services: [{ service: 'web', flag: 'shared' }] }));
        }
        await u.intents.setActive('x', 1, 'running', null, T0);
        await u.intents.setActive('done', 1, 'completed', null, T0);
        // y: current version pending approval counts as live
        await u.intents.setStatus('y', 1, 'pending_approval');
      });
      const claims = await s.read.intents.liveFlagClaims('me', [{ service: 'web', flag: 'shared' }, { service: 'api', flag: 'shared' }]);
      expect(claims).toEqual([
        { key: 'x', version: 1, status: 'running', service: 'web', flag: 'shared' },
        { key: 'y', version: 1, status: 'pending_approval', service: 'web', flag: 'shared' },
      ]);
    });

    it('layer room, first fit and slice checks count other experiments\' live slices', async () => {
      await tx(async (u) => {
        for (const [k, start, end] of [['p', 0, 1000], ['q', 1500, 2000]] as const) {
          await u.intents.createExperiment(k, 'growth', T0);
          await u.intents.insertVersion(version(k, 1, { slice: { start, end } }, { layer: 'L', exposure: (end - start) / 100 }));
          await u.intents.setActive(k, 1, 'running', null, T0);
        }
        await u.intents.createExperiment('me', 'growth', T0);
        await u.intents.insertVersion(version('me', 1, { slice: { start: 1000, end: 1500 } }, { layer: 'L', exposure: 5 }));
      });
      const r = s.read.intents;
      expect(await r.layerFirstFit('me', 'L', 500)).toEqual({ start: 1000, end: 1500 });
      expect(await r.layerFirstFit('me', 'L', 501)).toEqual({ start: 2000, end: 2501 });
      expect(await r.layerFirstFit('other', 'L', 500)).toEqual({ start: 2000, end: 2500 });
      expect(await r.layerSliceFree('me', 'L', { start: 1000, end: 1500 })).toBe(true);
      expect(await r.layerSliceFree('me', 'L', { start: 999, end: 1500 })).toBe(false);
      expect((await r.liveLayerClaims('me', 'L')).map((m) => [m.key, m.start, m.end])).toEqual([['p', 0, 1000], ['q', 1500, 2000]]);
      expect((await r.liveLayerMembers('L')).map((m) => m.key)).toEqual(['p', 'me', 'q']);
      const room = await r.layerRoom('me', 'L');
      expect(room).toMatchObject({ layer: 'L' });
      // The room summary equals the one computed from the same members (shared pure function).
      const { layerRoom } = await import('../../src/flags/layer-allocator.js');
      expect(room).toEqual(layerRoom('L', await r.liveLayerClaims('me', 'L')));
      const live = await r.liveVersions();
      expect(live.map((v) => [v.key, v.liveStatus])).toEqual([['me', 'approved'], ['p', 'running'], ['q', 'running']]);
    });

    it('an approval by the same actor twice is stored once (false, never a throw); comments round-trip, U+0000 included', async () => {
      await tx(async (u) => {
        await u.intents.createExperiment('a', 'growth', T0);
        await u.intents.insertVersion(version('a', 1));
        expect(await u.intents.insertApproval({ key: 'a', version: 1, actor: 'zed', roles: ['sre'], comment: 'ok\u0000then “fine” 🧪', createdAt: at(1) })).toBe(true);
        expect(await u.intents.insertApproval({ key: 'a', version: 1, actor: 'zed', roles: ['x'], comment: null, createdAt: at(2) })).toBe(false);
        expect(await u.intents.insertApproval({ key: 'a', version: 1, actor: 'amy', roles: [], comment: null, createdAt: at(1) })).toBe(true);
      });
      expect(await s.read.intents.listApprovals('a', 1)).toEqual([
        { key: 'a', version: 1, actor: 'amy', roles: [], comment: null, createdAt: at(1) },
        { key: 'a', version: 1, actor: 'zed', roles: ['sre'], comment: 'ok\u0000then “fine” 🧪', createdAt: at(1) },
      ]);
    });

    it('a row that breaks a foreign key is a storage constraint error (500), the same on every engine', async () => {
      await expect(tx((u) => u.intents.insertVersion(version('nobody', 1)))).rejects.toMatchObject({ code: 'internal_error', status: 500 });
      expect(await s.read.intents.getVersion('nobody', 1)).toBeUndefined();
    });
  });

  describe('flags', () => {
    const doc = (service: string, v: number) => ({ service, version: v, json: `{"flags":{},"v":${v},"s":"${service}"}`, etag: `"${service}-${v}"`, createdAt: at(v) });

    it('numbers feed entries 1, 2, 3… in commit order, serves latest, at, allLatest and events', async () => {
      const seqs: number[] = [];
      await tx(async (u) => {
        seqs.push(await u.flags.insert(doc('web', 1), cause('a')));
        seqs.push(await u.flags.insert(doc('api', 1), cause('a')));
      });
      // A rolled-back insert hands out no number for good: the next commit takes it.
      await tx(async (u) => {
        await u.flags.insert(doc('web', 2), cause('b'));
        throw new Error('rolled back');
      }).catch(() => {});
      await tx(async (u) => {
        seqs.push(await u.flags.insert(doc('web', 2), cause('b')));
      });
      expect(seqs).toEqual([1, 2, 3]);
      expect(await s.read.flags.lastSeq()).toBe(3);
      expect(await s.read.flags.latest('web')).toEqual(doc('web', 2));
      expect(await s.read.flags.at('web', 1)).toEqual(doc('web', 1));
      expect(await s.read.flags.latest('none')).toBeUndefined();
      expect((await s.read.flags.allLatest()).sort((a, b) => a.service.localeCompare(b.service))).toEqual([doc('api', 1), doc('web', 2)]);
      expect(await s.read.flags.events(1, undefined, 10)).toEqual([
        { seq: 2, service: 'api', version: 1, etag: '"api-1"', at: at(1), cause: cause('a') },
        { seq: 3, service: 'web', version: 2, etag: '"web-2"', at: at(2), cause: cause('b') },
      ]);
      expect((await s.read.flags.events(0, 'web', 1)).map((x) => x.seq)).toEqual([1]);
    });

    it('a duplicate (service, version) is refused as a constraint error', async () => {
      await tx((u) => u.flags.insert(doc('web', 1), cause('a')));
      await expect(tx((u) => u.flags.insert(doc('web', 1), cause('a')))).rejects.toMatchObject({ code: 'internal_error' });
    });

    it('pruning drops bodies, keeps feed entries; a pruned version reads as absent', async () => {
      await tx(async (u) => {
        for (let v = 1; v <= 4; v++) await u.flags.insert(doc('web', v), cause('a'));
      });
      await tx((u) => u.flags.pruneVersion('web', 1));
      expect(await s.read.flags.at('web', 1)).toBeUndefined();
      expect(await tx((u) => u.flags.pruneBelow('web', 4))).toBe(2);
      expect(await s.read.flags.at('web', 3)).toBeUndefined();
      expect(await s.read.flags.at('web', 4)).toEqual(doc('web', 4));
      expect((await s.read.flags.events(0, 'web', 10)).length).toBe(4);
      expect(await tx((u) => u.flags.pruneBelow('web', 1))).toBe(0);
    });

    it('a feed entry cannot be deleted or changed in the database, only an old body emptied', async () => {
      await tx((u) => u.flags.insert(doc('web', 1), cause('a')));
      await expect(e.exec('DELETE FROM flag_documents')).rejects.toThrow(/append-only/);
      await expect(e.exec("UPDATE flag_documents SET etag = 'x'")).rejects.toThrow(/append-only/);
      await e.exec("UPDATE flag_documents SET document = ''");
      expect(await e.scalar('SELECT count(*) FROM flag_documents')).toBe(1);
    });
  });

  describe('audit', () => {
    const ev = (i: number, over: Record<string, unknown> = {}) => ({
      id: `e${i}`,
      type: 'submitted',
      experiment: 'a' as string | null,
      version: 1 as number | null,
      service: null as string | null,
      actor: 'alice',
      at: at(i),
      data: { i, note: 'x\u0000y' } as Record<string, unknown>,
      prevHash: `h${i - 1}`,
      hash: `h${i}`,
      ...over,
    });

    it('appends with increasing seq, answers last, query filters and iterate', async () => {
      await tx(async (u) => {
        expect(await u.audit.last()).toBeUndefined();
        expect(await u.audit.insert(ev(1))).toBe(1);
        expect(await u.audit.insert(ev(2, { type: 'approved', actor: 'bob', experiment: 'b' }))).toBe(2);
        expect(await u.audit.insert(ev(3, { experiment: null, version: null, service: 'web', data: {} }))).toBe(3);
        expect(await u.audit.insert(ev(4, { data: { services: ['api', 'web'] } }))).toBe(4);
      });
      expect(await s.read.audit.last()).toEqual({ seq: 4, ...ev(4, { data: { services: ['api', 'web'] } }) });
      const q = (x: Parameters<Storage['read']['audit']['query']>[0]) => s.read.audit.query(x).then((r) => r.map((a) => a.seq));
      expect(await q({ limit: 10 })).toEqual([1, 2, 3, 4]);
      expect(await q({ limit: 2, afterSeq: 1 })).toEqual([2, 3]);
      expect(await q({ limit: 10, experiment: 'a' })).toEqual([1, 4]);
      expect(await q({ limit: 10, service: 'web' })).toEqual([3, 4]);
      expect(await q({ limit: 10, actor: 'bob' })).toEqual([2]);
      expect(await q({ limit: 10, type: 'approved' })).toEqual([2]);
      expect(await q({ limit: 10, from: at(2), to: at(4) })).toEqual([2, 3]);
      expect((await s.read.audit.query({ limit: 1 }))[0]).toEqual({ seq: 1, ...ev(1) });
    });

    it('iterates the whole trail in order, across pages', async () => {
      const n = 1005;
      await tx(async (u) => {
        for (let i = 1; i <= n; i++) await u.audit.insert(ev(i, { data: {} }));
      });
      let expected = 1;
      for await (const a of s.read.audit.iterate()) expect(a.seq).toBe(expected++);
      expect(expected).toBe(n + 1);
    });

    it('is append-only in the database: UPDATE and DELETE issued through the driver fail', async () => {
      await tx((u) => u.audit.insert(ev(1)).then(() => undefined));
      await expect(e.exec("UPDATE audit_events SET actor = 'mallory'")).rejects.toThrow(/append-only/);
      await expect(e.exec('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
      expect((await s.read.audit.last())?.actor).toBe('alice');
      expect(await e.scalar('SELECT count(*) FROM audit_events')).toBe(1);
    });
  });

  describe('tokens', () => {
    const tok = (id: string, createdAt = T0) => ({ id, name: `n-${id}`, role: 'owner' as const, team: 'growth', approvalRoles: ['sre'], service: null, createdAt, createdBy: null });

    it('inserts once per hash, lists by (createdAt, id), revokes once', async () => {
      await tx(async (u) => {
        expect(await u.tokens.insert(tok('t2'), 'h2')).toBe(true);
        expect(await u.tokens.insert(tok('t1'), 'h1')).toBe(true);
        expect(await u.tokens.insert(tok('t3'), 'h1')).toBe(false);
        expect(await u.tokens.insert(tok('t0', at(1)), 'h0')).toBe(true);
      });
      expect((await s.read.tokens.list()).map((t) => t.id)).toEqual(['t1', 't2', 't0']);
      expect(await s.read.tokens.count()).toBe(3);
      expect(await s.read.tokens.get('t1')).toEqual({ ...tok('t1'), revokedAt: null });
      expect(await tx((u) => u.tokens.revoke('t1', at(2)))).toBe(true);
      expect(await tx((u) => u.tokens.revoke('t1', at(3)))).toBe(false);
      expect((await s.read.tokens.get('t1'))?.revokedAt).toBe(at(2));
      expect((await s.read.tokens.listActive()).map((x) => [x.hash, x.token.id])).toEqual([['h2', 't2'], ['h0', 't0']]);
    });
  });

  describe('idempotency', () => {
    const resp = (createdAt: string, body = '{"ok":true}') => ({ method: 'POST', path: '/v1/intents', requestHash: 'rh', status: 201, headers: { 'content-type': 'application/json' }, body, createdAt });

    it('the first answer stored wins; it replays until it expires, then is deleted by a later write', async () => {
      await tx((u) => u.idempotency.put('tok', 'k1', resp(T0)));
      await tx((u) => u.idempotency.put('tok', 'k1', resp(T0, '{"second":true}')));
      expect(await s.read.idempotency.get('tok', 'k1', new Date(T0))).toEqual(resp(T0));
      expect(await s.read.idempotency.get('other', 'k1', new Date(T0))).toBeUndefined();
      const expiry = new Date(Date.parse(T0) + IDEMPOTENCY_TTL_MS);
      expect(await s.read.idempotency.get('tok', 'k1', new Date(expiry.getTime() - 1))).toBeDefined();
      expect(await s.read.idempotency.get('tok', 'k1', expiry)).toBeUndefined();
      expect(await e.scalar('SELECT count(*) FROM idempotency_keys')).toBe(1);
      await tx((u) => u.idempotency.put('tok', 'k2', resp(expiry.toISOString())));
      expect(await e.scalar('SELECT count(*) FROM idempotency_keys')).toBe(1);
      // The key is free again once expired.
      await tx((u) => u.idempotency.put('tok', 'k1', resp(expiry.toISOString(), '{"again":true}')));
      expect((await s.read.idempotency.get('tok', 'k1', expiry))?.body).toBe('{"again":true}');
    });
  });

  describe('telemetry', () => {
    it('keeps one exposure per unit (the earliest time), units with U+0000 included', async () => {
      const unit = 'u\u00001 ünït';
      await tx(async (u) => {
        expect(await u.telemetry.addExposure('a', 1, unit, 'treatment', at(5))).toBe(true);
        expect(await u.telemetry.addExposure('a', 1, unit, 'control', at(3))).toBe(false);
        expect(await u.telemetry.addExposure('a', 1, unit, 'control', at(9))).toBe(false);
        expect(await u.telemetry.addExposure('a', 1, 'u1', 'control', at(1))).toBe(true);
      });
      expect(await s.read.telemetry.exposuresOf(unit)).toEqual([{ experiment: 'a', version: 1, arm: 'treatment', firstAt: at(3) }]);
    });

    it('unit metrics upsert, arm sums and mismatches add up', async () => {
      await tx(async (u) => {
        expect(await u.telemetry.unitMetric('a', 1, 'u', 'm')).toBeUndefined();
        await u.telemetry.putUnitMetric('a', 1, 'u', 'm', { agg: 1.5, count: 1 });
        await u.telemetry.putUnitMetric('a', 1, 'u', 'm', { agg: 2.25, count: 2 });
        await u.telemetry.addArmSums('a', 1, { arm: 'control', metric: 'm', n: 1, sum: 0.5, sumsq: 0.25 });
        await u.telemetry.addArmSums('a', 1, { arm: 'control', metric: 'm', n: 2, sum: 1.5, sumsq: 1.25 });
        await u.telemetry.addMismatches('a', 1, 3);
        await u.telemetry.addMismatches('a', 1, 2 ** 31);
      });
      expect(await s.read.telemetry.unitMetric('a', 1, 'u', 'm')).toEqual({ agg: 2.25, count: 2 });
      expect(await s.read.telemetry.armSums('a', 1)).toEqual([{ arm: 'control', metric: 'm', n: 3, sum: 2, sumsq: 1.5 }]);
      expect(await s.read.telemetry.mismatches('a', 1)).toBe(2 ** 31 + 3);
      expect(await s.read.telemetry.mismatches('a', 2)).toBe(0);
    });

    it('history appends changed points only and thins the older half at the cap', async () => {
      await tx(async (u) => {
        expect(await u.telemetry.appendPoint('a', 1, at(0), { v: 0 }, 4)).toBe(true);
        expect(await u.telemetry.appendPoint('a', 1, at(1), { v: 0 }, 4)).toBe(false);
        for (let i = 1; i <= 4; i++) expect(await u.telemetry.appendPoint('a', 1, at(i), { v: i }, 4)).toBe(true);
      });
      // At the 5th point (4 held, cap 4): the older half [0,1] minus every second one drops v=1.
      expect(await s.read.telemetry.history('a', 1)).toEqual([
        { at: at(0), v: 0 },
        { at: at(2), v: 2 },
        { at: at(3), v: 3 },
        { at: at(4), v: 4 },
      ]);
    });

    it('guarded lists running experiments whose active version has a rollout; prune drops ended experiments\' unit rows', async () => {
      await tx(async (u) => {
        for (const k of ['r', 'plain', 'ended']) await u.intents.createExperiment(k, 'growth', T0);
        await u.intents.insertVersion(version('r', 1, {}, { rollout: { stages: [{ exposure: 10, hold: 'PT0S' }], guardrails: [], auto_advance: false } }));
        await u.intents.insertVersion(version('plain', 1));
        await u.intents.insertVersion(version('ended', 1, {}, { rollout: null }));
        await u.intents.setActive('r', 1, 'running', null, T0);
        await u.intents.setActive('plain', 1, 'running', null, T0);
        await u.intents.setActive('ended', 1, 'completed', null, T0);
        for (const unit of ['u1', 'u2', 'u3']) {
          await u.telemetry.addExposure('ended', 1, unit, 'control', T0);
          await u.telemetry.putUnitMetric('ended', 1, unit, 'm', { agg: 1, count: 1 });
        }
        await u.telemetry.addExposure('r', 1, 'u1', 'control', T0);
        await u.telemetry.addArmSums('ended', 1, { arm: 'control', metric: 'm', n: 3, sum: 3, sumsq: 3 });
      });
      expect(await s.read.telemetry.guarded()).toEqual([{ key: 'r', version: 1 }]);
      expect(await tx((u) => u.telemetry.prune(at(1), 4))).toBe(4);
      expect(await tx((u) => u.telemetry.prune(at(1), 100))).toBe(2);
      expect(await tx((u) => u.telemetry.prune(at(1), 100))).toBe(0);
      expect(await s.read.telemetry.exposuresOf('u1')).toEqual([{ experiment: 'r', version: 1, arm: 'control', firstAt: T0 }]);
      expect((await s.read.telemetry.armSums('ended', 1)).length).toBe(1);
    });
  });

  describe('policies, decisions, rollouts', () => {
    it('bundles upsert (first upload time and actor kept), raw bytes exact, activations in order', async () => {
      const raw = Buffer.from([0, 1, 2, 255, 0, 10]);
      const meta = { revision: 'r1', manifestRevision: 'm1', wasmSha256: 'sha', entrypoints: ['switchyard/decision'], uploadedAt: T0, uploadedBy: 'gov' };
      expect(await s.read.policies.activeActivation()).toBeUndefined();
      await tx(async (u) => {
        await u.policies.saveBundle(meta, raw);
        await u.policies.saveBundle({ ...meta, manifestRevision: 'm2', uploadedAt: at(1), uploadedBy: 'other' }, Buffer.from('new'));
        await u.policies.recordActivation({ revision: 'r1', activatedAt: T0, activatedBy: 'gov' });
        await u.policies.recordActivation({ revision: 'r1', activatedAt: at(1), activatedBy: 'gov2' });
      });
      expect(await s.read.policies.bundleMeta('r1')).toEqual({ ...meta, manifestRevision: 'm2' });
      expect(await s.read.policies.bundleRaw('r1')).toEqual(Buffer.from('new'));
      expect(await s.read.policies.bundleRaw('nope')).toBeUndefined();
      expect(await s.read.policies.activeActivation()).toEqual({ revision: 'r1', activatedAt: at(1), activatedBy: 'gov2' });
      await tx((u) => u.policies.saveBundle({ ...meta, revision: 'r2' }, raw));
      expect(await s.read.policies.bundleRaw('r2')).toEqual(raw);
      await expect(tx((u) => u.policies.recordActivation({ revision: 'missing', activatedAt: T0, activatedBy: 'gov' }))).rejects.toMatchObject({ code: 'internal_error' });
    });

    it('decisions round-trip; a duplicate id is a constraint error', async () => {
      const d = { id: 'd_1', key: 'a', version: 1, policyRevision: 'r1', input: { a: [1, 'x\u0000'] }, result: { allow: true }, status: 'allowed', actor: 'alice', createdAt: T0 };
      await tx((u) => u.decisions.insert(d));
      expect(await s.read.decisions.get('d_1')).toEqual(d);
      expect(await s.read.decisions.get('d_2')).toBeUndefined();
      await expect(tx((u) => u.decisions.insert(d))).rejects.toMatchObject({ code: 'internal_error', status: 500 });
    });

    it('rollout progress upserts and lists auto-due keys by (due, key)', async () => {
      const p = (key: string, autoDueAt: string | null) => ({ key, stage: 0, stageStartedAt: T0, holdUntil: at(60), autoDueAt, pausedBy: null, updatedAt: T0 });
      await tx(async (u) => {
        for (const k of ['a', 'b', 'c']) await u.intents.createExperiment(k, 'growth', T0);
        await u.rollouts.put(p('a', at(10)));
        await u.rollouts.put(p('b', at(5)));
        await u.rollouts.put(p('c', null));
        await u.rollouts.put({ ...p('a', at(5)), stage: 1, pausedBy: 'guardrail' });
      });
      expect(await s.read.rollouts.get('a')).toEqual({ ...p('a', at(5)), stage: 1, pausedBy: 'guardrail' });
      expect(await s.read.rollouts.listAutoDue(at(5))).toEqual(['a', 'b']);
      expect(await s.read.rollouts.get('zz')).toBeUndefined();
    });
  });

  it('ping answers while open and refuses once closed', async () => {
    await expect(s.ping()).resolves.toBeUndefined();
    await s.close();
    await expect(s.ping()).rejects.toThrow();
  });
});
