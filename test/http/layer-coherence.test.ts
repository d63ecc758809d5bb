import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/access/actor.js';
import { createContainer } from '../../src/container.js';
import { firstFit, layerRoom, overlaps, type LayerRoom, type Slice } from '../../src/flags/layer-allocator.js';
import { LayerSpaces, SqliteIntentStore } from '../../src/storage/sqlite/intent-store.js';
import { simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const LAYER = 'coh';

/**
 * The server keeps each layer's room in memory (docs/layers.md). After every kind of write that
 * moves a slice or a member's liveness, the next decision must see exactly what SQLite holds: the
 * room summary the policy got (stored with the decision) equals the summary computed from scratch
 * from the rows, and the slice the allocator gave equals first fit over those rows.
 */
describe('the kept layer room follows every write', () => {
  let s: TestServer;
  let alice: Api;
  let sre: Api;
  let operator: Api;
  let probes = 0;

  /** The truth, straight from SQLite: the summary for an intent of `key`, and the other slices. */
  const truth = async (key: string): Promise<{ room: LayerRoom; slices: Slice[] }> => {
    const claims = await new SqliteIntentStore(s.container.db, new LayerSpaces(s.container.db)).liveLayerClaims(key, LAYER);
    return { room: layerRoom(LAYER, claims), slices: claims.flatMap((c) => (c.start !== undefined && c.end !== undefined ? [{ start: c.start, end: c.end }] : [])) };
  };
  const roomGiven = async (res: ApiResponse) => (await alice.get(`/v1/decisions/${res.body.decision.id}`)).body.input.live.layer_room as LayerRoom;
  const sliceOf = async (key: string, version: number) =>
    ((await alice.get(`/v1/intents/${key}`)).body.versions as { version: number; slice?: Slice }[]).find((v) => v.version === version)?.slice;

  /** POST or PUT an intent; its decision saw the room SQLite held just before, and its slice is first fit. */
  async function decide(method: 'POST' | 'PUT', body: Record<string, any>, step: string): Promise<ApiResponse> {
    const before = await truth(body['key']);
    const res = await alice.request(method, method === 'POST' ? '/v1/intents' : `/v1/intents/${body['key']}`, body);
    expect([200, 201], `${step}: ${res.text}`).toContain(res.status);
    expect(await roomGiven(res), step).toEqual(before.room);
    if (res.body.status !== 'denied') {
      expect(await sliceOf(body['key'], res.body.intent.version), step).toEqual(firstFit(before.slices, Math.round(body['exposure'] * 100)));
    }
    return res;
  }

  /** After a write that decides nothing: a new intent's decision (denied on its flag, so it takes nothing) sees the room SQLite holds. */
  async function probe(step: string): Promise<void> {
    const key = `probe-${++probes}`;
    const res = await decide('POST', simpleIntent(key, { layer: LAYER, exposure: 1, services: [{ service: 'web', flag: 'anchor_flag' }] }), step);
    expect(res.body.decision.violations.map((v: { code: string }) => v.code), step).toContain('flag_conflict');
    // Live slices of different experiments never overlap.
    const live = (await new SqliteIntentStore(s.container.db, new LayerSpaces(s.container.db)).liveLayerMembers(LAYER)).filter((m) => m.start !== undefined);
    for (const a of live) for (const b of live) if (a.key < b.key) expect(overlaps(a as Slice, b as Slice), `${step}: ${a.key} and ${b.key}`).toBe(false);
  }

  const act = async (key: string, action: string) => {
    const res = await operator.post(`/v1/intents/${key}/actions`, { action, reason: 'coherence test' });
    expect(res.status, `${action} ${key}: ${res.text}`).toBe(200);
    return res.body;
  };
  const critical = (key: string, exposure: number) => simpleIntent(key, { layer: LAYER, exposure, services: [{ service: 'checkout-api', flag: `${key}_flag` }] });

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'oscar', role: 'operator' });
    expect((await alice.post('/v1/intents', simpleIntent('anchor', { exposure: 1, services: [{ service: 'web', flag: 'anchor_flag' }] }))).body.state).toBe('running');
  });
  afterAll(async () => s?.close());

  it('submit, approve, pause, resume, new version, rollback with a slice move, complete, schedule start and end, archive, denial', async () => {
    await probe('empty layer');
    expect((await decide('POST', simpleIntent('exp-a', { layer: LAYER, exposure: 10 }), 'submit a')).body.state).toBe('running');
    await probe('after submit');
    expect((await decide('POST', critical('exp-p', 5), 'submit p')).body.status).toBe('pending_approval');
    await probe('after a pending submission');
    expect((await sre.post('/v1/intents/exp-p/approvals', {})).body.status).toBe('approved');
    await probe('after approval (goes live)');
    expect((await act('exp-a', 'pause')).state).toBe('paused');
    await probe('after pause');
    expect((await act('exp-a', 'resume')).state).toBe('running');
    await probe('after resume');

    // A new version narrows w; n takes part of w's old slice; rolling back moves w's old version.
    expect((await decide('POST', simpleIntent('exp-w', { layer: LAYER, exposure: 30 }), 'submit w')).body.state).toBe('running');
    expect((await decide('PUT', simpleIntent('exp-w', { layer: LAYER, exposure: 10 }), 'narrow w')).body.status).toBe('approved');
    await probe('after a new version');
    expect((await decide('POST', simpleIntent('exp-n', { layer: LAYER, exposure: 40 }), 'submit n')).body.state).toBe('running');
    const before = (await sliceOf('exp-w', 1))!;
    expect((await act('exp-w', 'rollback')).active_version).toBe(1);
    expect(await sliceOf('exp-w', 1)).not.toEqual(before);
    await probe('after rollback with a slice move');
    // w's next version is judged without w's own live version in the room.
    expect((await decide('PUT', critical('exp-w', 3), 'new pending version of a rolled-back w')).body.status).toBe('pending_approval');
    await probe('after a pending version beside a running one');

    expect((await act('exp-p', 'complete')).state).toBe('completed');
    await probe('after complete');

    const at = (minutes: number) => new Date(s.clock.now().getTime() + minutes * 60_000).toISOString();
    const t = await decide('POST', simpleIntent('exp-t', { layer: LAYER, exposure: 7, schedule: { start: at(30), end: at(180) } }), 'submit scheduled t');
    expect(t.body.state).toBe('scheduled');
    await probe('after a scheduled submission');
    s.clock.advance(60 * 60_000);
    expect((await s.container.lifecycle.tick()).started).toEqual(['exp-t']);
    await probe('after schedule start');
    s.clock.advance(3 * 60 * 60_000);
    expect((await s.container.lifecycle.tick()).expired).toEqual(['exp-t']);
    await probe('after schedule end');

    expect((await decide('POST', critical('exp-d', 2), 'submit d')).body.status).toBe('pending_approval');
    expect((await alice.del('/v1/intents/exp-d')).body.state).toBe('archived');
    await probe('after archive');

    expect((await decide('POST', simpleIntent('too-big', { layer: LAYER, exposure: 60 }), 'denied for room')).body.status).toBe('denied');
    await probe('after a denial');
  });

  it('a decision inside a transaction sees its own writes, and a rolled-back one leaves no trace', async () => {
    const owner: Actor = { tokenId: 't', name: 'alice', role: 'owner', team: 'growth', approvalRoles: [], service: null };
    const { intents, lifecycle } = s.container;
    const expected = (await truth('probe-next')).room;
    await expect(
      lifecycle.transaction(async (u) => {
        const x = await intents.submit(simpleIntent('tx-x', { layer: LAYER, exposure: 5 }), owner);
        const y = await intents.submit(simpleIntent('tx-y', { layer: LAYER, exposure: 5 }), owner);
        expect(x.status).toBe('approved');
        expect(y.status).toBe('approved');
        // Inside the unit, read through it: the unit's own writes (intents.get reads committed rows).
        const [sx, sy] = [(await u.intents.getVersion('tx-x', 1))!.slice!, (await u.intents.getVersion('tx-y', 1))!.slice!];
        expect(overlaps(sx, sy)).toBe(false);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await truth('probe-next')).room).toEqual(expected);
    await probe('after a rolled-back transaction');
  });

  it('sees a commit by another connection on the same file (a second process)', async () => {
    await probe('before the other writer');
    const other = await createContainer({ dbPath: s.dbPath, policyBundlePath: BUNDLE_PATH, clock: s.clock, logger: pino({ level: 'silent' }) });
    try {
      const owner: Actor = { tokenId: 't', name: 'alice', role: 'owner', team: 'growth', approvalRoles: [], service: null };
      expect((await other.intents.submit(simpleIntent('elsewhere', { layer: LAYER, exposure: 4 }), owner)).status).toBe('approved');
    } finally {
      await other.close();
    }
    await probe('after another connection took a slice');
  });
});
