import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, errorOf, flagIn, flagOf, openDomain, people, refusalOf, webIntent, type Domain } from '../../helpers/domain.js';

/**
 * Rollback (SPEC §4): back to the newest approved, not rolled-back, non-ship version before the
 * active one, or to no flags at all. Domain calls on a real SQLite file, the real compiled policy.
 */
describe('rollback', () => {
  let d: Domain;
  const { alice, oscar } = people;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const submit = async (key: string, overrides: Record<string, unknown> = {}) => {
    const r = await d.c.intents.submit(webIntent(key, overrides), alice);
    expect(r.status, JSON.stringify(r.decision.violations)).toBe('approved');
    return r;
  };
  const update = async (key: string, overrides: Record<string, unknown> = {}) => {
    const r = await d.c.intents.update(key, webIntent(key, overrides), alice);
    expect(r.status, JSON.stringify(r.decision.violations)).toBe('approved');
    return r;
  };
  const slice = async (key: string, flag = flagOf(key)) => {
    const f = await flagIn(d.c, 'web', flag);
    return f && { seed: f.allocation.exposure.seed as string, start: f.allocation.exposure.start as number, end: f.allocation.exposure.end as number };
  };
  const rollback = (key: string, reason = 'it misbehaves') => d.c.lifecycle.act(key, 'rollback', reason, oscar);

  describe('layer slices', () => {
    it('moves the returning version off a slice another experiment took (setSlice), so slices never overlap', async () => {
      await submit('wide', { layer: 'l-move', exposure: 30 });
      expect(await slice('wide')).toEqual({ seed: 'layer/l-move', start: 0, end: 3000 });
      await update('wide', { layer: 'l-move', exposure: 10 });
      expect(await slice('wide')).toMatchObject({ start: 0, end: 1000 });
      await submit('neighbour', { layer: 'l-move', exposure: 50 });
      expect(await slice('neighbour')).toMatchObject({ start: 1000, end: 6000 });

      const exp = await rollback('wide');
      expect(exp).toMatchObject({ state: 'running', activeVersion: 1 });
      expect(await slice('wide')).toMatchObject({ start: 6000, end: 9000 });
      expect(await slice('neighbour')).toMatchObject({ start: 1000, end: 6000 });
      // The version itself now holds its new slice (the detail shows it, the next reader uses it).
      expect((await d.c.intents.get('wide')).versions[0]).toMatchObject({ version: 1, slice: { start: 6000, end: 9000 } });
    });

    it('keeps its old slice when that slice is still free, even where a first fit would place it elsewhere', async () => {
      await submit('l-keep-a', { layer: 'l-keep', exposure: 10 });
      await submit('keeper', { layer: 'l-keep', exposure: 20 });
      expect(await slice('keeper')).toMatchObject({ start: 1000, end: 3000 });
      await d.c.lifecycle.act('l-keep-a', 'complete', 'done', oscar);
      await update('keeper', { layer: 'l-keep', exposure: 5 });
      expect(await slice('keeper')).toMatchObject({ start: 0, end: 500 });
      await rollback('keeper');
      expect(await slice('keeper')).toMatchObject({ start: 1000, end: 3000 });
      expect((await d.c.intents.get('keeper')).versions[0]).toMatchObject({ slice: { start: 1000, end: 3000 } });
    });

    it('409 layer_capacity when the layer has no room for the returning version; nothing changes', async () => {
      await submit('crowded', { layer: 'l-full', exposure: 30 });
      await update('crowded', { layer: 'l-full', exposure: 10 });
      // recommendations (experimental tier) may take 90 %.
      await submit('crowder', { layer: 'l-full', exposure: 90, services: [{ service: 'recommendations', flag: 'crowder_flag' }] });
      const before = await d.c.intents.get('crowded');
      const events = (await auditOf(d.c, 'crowded')).length;
      expect(await refusalOf(() => rollback('crowded'))).toBe('layer_capacity');
      expect(await d.c.intents.get('crowded')).toEqual(before);
      expect((await auditOf(d.c, 'crowded')).length).toBe(events);
      expect(await slice('crowded')).toMatchObject({ start: 0, end: 1000 });
    });
  });

  it('409 flag_conflict when another live experiment took a flag the returning version drives; nothing changes', async () => {
    await submit('drifter', { services: [{ service: 'web', flag: 'shared_flag' }] });
    await update('drifter', { services: [{ service: 'web', flag: 'drifter_other' }] });
    await submit('taker', { services: [{ service: 'web', flag: 'shared_flag' }] });
    const before = await d.c.intents.get('drifter');
    const err = await errorOf(() => d.c.lifecycle.act('drifter', 'rollback', 'undo', oscar));
    expect(err).toMatchObject({ code: 'flag_conflict', status: 409 });
    expect(err.message).toContain('web/shared_flag is driven by taker');
    expect(await d.c.intents.get('drifter')).toEqual(before);
    expect((await flagIn(d.c, 'web', 'shared_flag'))!['experiment']).toEqual({ key: 'taker', version: 1 });
  });

  it("restores the previous version's flags in every service, removes the services only the rolled-back version had", async () => {
    await submit('restore', { variants: [{ key: 'control', weight: 50, value: 'a' }, { key: 'treatment', weight: 50, value: 'b' }] });
    await update('restore', {
      services: [{ service: 'web', flag: flagOf('restore') }, { service: 'search', flag: 'restore_search' }],
      variants: [{ key: 'control', weight: 20, value: 'x' }, { key: 'treatment', weight: 80, value: 'y' }],
      exposure: 20,
    });
    expect(await flagIn(d.c, 'search', 'restore_search')).toBeDefined();
    await rollback('restore');
    const f = (await flagIn(d.c, 'web', flagOf('restore')))!;
    expect(f).toMatchObject({
      state: 'ENABLED',
      variants: { control: 'a', treatment: 'b' },
      experiment: { key: 'restore', version: 1 },
      allocation: { exposure: { start: 0, end: 1000 }, variants: { buckets: [['control', 50], ['treatment', 50]] } },
    });
    expect(await flagIn(d.c, 'search', 'restore_search')).toBeUndefined();
  });

  it('writes a rolled_back audit event with the actor, the reason, the versions and the states; retires the version', async () => {
    await submit('audited');
    await update('audited', { exposure: 20 });
    d.clock.advance(1000);
    const at = d.clock.now().toISOString();
    await rollback('audited', 'v2 errs');
    const e = (await auditOf(d.c, 'audited')).at(-1)!;
    expect(e).toMatchObject({
      type: 'rolled_back',
      actor: 'oscar',
      experiment: 'audited',
      version: 1,
      data: { from_state: 'running', to_state: 'running', reason: 'v2 errs', from_version: 2, to_version: 1, services: ['web'] },
    });
    expect(Object.keys(e.data['flags_versions'] as object)).toEqual(['web']);
    const detail = await d.c.intents.get('audited');
    expect(detail.versions.map((v) => v.rolled_back_at ?? null)).toEqual([null, at]);
    expect(detail.active_version).toBe(1);
  });

  it('to nothing: the only version rolled back leaves a draft with no flags, and the event says so', async () => {
    await submit('only-one');
    const exp = await rollback('only-one', 'pull it');
    expect(exp).toMatchObject({ state: 'draft', activeVersion: null });
    expect(await flagIn(d.c, 'web', flagOf('only-one'))).toBeUndefined();
    expect((await auditOf(d.c, 'only-one')).at(-1)).toMatchObject({
      type: 'rolled_back',
      actor: 'oscar',
      version: 1,
      data: { from_state: 'running', to_state: 'draft', reason: 'pull it', from_version: 1, to_version: null },
    });
  });

  it('never returns to a rolled-back, denied, pending or ship version: each rollback goes one approved version further back', async () => {
    await submit('chain', { exposure: 10 });
    await update('chain', { exposure: 11 });
    await update('chain', { exposure: 12 });
    // v4 denied (the web cap is 50), v5 pending cannot exist on web; v4 must be skipped.
    const denied = await d.c.intents.update('chain', webIntent('chain', { exposure: 60 }), alice);
    expect(denied.status).toBe('denied');
    await update('chain', { exposure: 13 });
    expect((await rollback('chain')).activeVersion).toBe(3);
    expect((await rollback('chain')).activeVersion).toBe(2);
    expect((await rollback('chain')).activeVersion).toBe(1);
    expect(await rollback('chain')).toMatchObject({ activeVersion: null, state: 'draft' });
    expect(await refusalOf(() => rollback('chain'))).toBe('invalid_transition');
  });

  it('from a shipped experiment: back to the last running version, not to the ship, with its slice again', async () => {
    await submit('shipper', { exposure: 10 });
    await update('shipper', { exposure: 15 });
    await d.c.intents.ship('shipper', 'treatment', 'wins', oscar);
    expect((await d.c.intents.get('shipper')).state).toBe('shipped');
    const exp = await rollback('shipper');
    expect(exp).toMatchObject({ state: 'running', activeVersion: 2 });
    expect(await flagIn(d.c, 'web', flagOf('shipper'))).toMatchObject({ default_variant: 'control', allocation: { exposure: { start: 0, end: 1500 } } });
    // The ship version was retired: rolling back again goes to version 1.
    expect((await rollback('shipper')).activeVersion).toBe(1);
  });

  it('from paused: the earlier version comes back paused (the kill switch holds)', async () => {
    await submit('paused-rb');
    await update('paused-rb', { exposure: 20 });
    await d.c.lifecycle.act('paused-rb', 'pause', 'incident', oscar);
    const exp = await rollback('paused-rb');
    expect(exp).toMatchObject({ state: 'paused', activeVersion: 1 });
    expect(await flagIn(d.c, 'web', flagOf('paused-rb'))).toMatchObject({ state: 'DISABLED', experiment: { version: 1 } });
  });

  it('to a version whose start is still ahead: scheduled, no flags, and it starts at that start', async () => {
    const now = d.clock.now().getTime();
    const start = new Date(now + 3_600_000).toISOString();
    await submit('later', { schedule: { start } });
    expect((await d.c.intents.get('later')).state).toBe('scheduled');
    await update('later', { exposure: 20 });
    // v2 has no start: it replaced the schedule and runs now.
    expect((await d.c.intents.get('later')).state).toBe('running');
    const exp = await rollback('later');
    expect(exp).toMatchObject({ state: 'scheduled', activeVersion: 1 });
    expect(await flagIn(d.c, 'web', flagOf('later'))).toBeUndefined();
    d.clock.set(new Date(now + 3_600_000 - 1));
    expect((await d.c.lifecycle.tick()).started).not.toContain('later');
    d.clock.set(start);
    expect((await d.c.lifecycle.tick()).started).toContain('later');
    expect((await d.c.intents.get('later')).state).toBe('running');
  });

  it('to a version with an end: that end applies again (the experiment expires then)', async () => {
    const now = d.clock.now().getTime();
    const end = new Date(now + 2 * 3_600_000).toISOString();
    await submit('ending', { schedule: { end } });
    await update('ending', { exposure: 20 });
    await rollback('ending');
    d.clock.set(new Date(now + 2 * 3_600_000 - 1));
    expect((await d.c.lifecycle.tick()).expired).not.toContain('ending');
    d.clock.set(end);
    expect((await d.c.lifecycle.tick()).expired).toContain('ending');
    expect((await d.c.intents.get('ending')).state).toBe('completed');
  });
});
