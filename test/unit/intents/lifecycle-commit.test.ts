import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FlagsChange } from '../../../src/flags/flag-state-service.js';
import { flagIn, flagOf, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';

/**
 * What `Lifecycle.transaction` promises (src/intents/lifecycle.ts): the flag changes a transition
 * makes are published to listeners (streams, the change feed) once the outermost transaction has
 * committed, never for one that rolled back; the layer spaces forget what a rolled-back transaction
 * claimed; the commit hook (metrics) hears of each committed advance and ship, with its actor.
 */
describe('lifecycle transactions: publish after commit, forget on rollback', () => {
  let d: Domain;
  let heard: { change: FlagsChange; inTransaction: boolean }[];
  const { alice, oscar } = people;

  beforeAll(async () => {
    d = await openDomain();
    d.c.flags.subscribe((change) => heard.push({ change, inTransaction: d.c.db.inTransaction }));
  });
  beforeEach(() => {
    heard = [];
  });
  afterAll(() => d?.close());

  it('a transition is heard once, after its commit, with its cause', async () => {
    await d.c.intents.submit(webIntent('heard'), alice);
    expect(heard.map((h) => [h.change.service, h.change.cause.type, h.inTransaction])).toEqual([['web', 'started', false]]);
    heard.length = 0;
    await d.c.lifecycle.act('heard', 'pause', 'incident', oscar);
    expect(heard.map((h) => [h.change.service, h.change.cause.type, h.change.cause.actor, h.inTransaction])).toEqual([['web', 'paused', 'oscar', false]]);
    expect(JSON.parse(heard[0]!.change.json).flags[flagOf('heard')].state).toBe('DISABLED');
  });

  it('a transition inside an outer transaction is heard only when the outer one commits', async () => {
    await d.c.intents.submit(webIntent('nested'), alice);
    heard.length = 0;
    let heardInside = -1;
    await d.c.lifecycle.transaction(async () => {
      await d.c.lifecycle.act('nested', 'pause', 'inner', oscar);
      heardInside = heard.length;
    });
    expect(heardInside).toBe(0);
    expect(heard.map((h) => [h.change.cause.type, h.inTransaction])).toEqual([['paused', false]]);
  });

  it('a rolled-back transaction is never heard, and its changes are not published by the next one', async () => {
    await d.c.intents.submit(webIntent('aborted'), alice);
    heard.length = 0;
    const abort = new Error('abort after the pause');
    await expect(async () =>
      d.c.lifecycle.transaction(async () => {
        await d.c.lifecycle.act('aborted', 'pause', 'never', oscar);
        throw abort;
      }),
    ).rejects.toBe(abort);
    expect(heard).toEqual([]);
    expect((await d.c.intents.get('aborted')).state).toBe('running');
    expect(await flagIn(d.c, 'web', flagOf('aborted'))).toMatchObject({ state: 'ENABLED' });

    await d.c.lifecycle.act('aborted', 'complete', 'done', oscar);
    expect(heard.map((h) => h.change.cause.type)).toEqual(['completed']);
  });

  it('a layer slice claimed in a rolled-back transaction is free again afterwards', async () => {
    await expect(async () =>
      d.c.lifecycle.transaction(async () => {
        await d.c.intents.submit(webIntent('ghost', { layer: 'l-abort', exposure: 30 }), alice);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await expect(async () => d.c.intents.get('ghost')).rejects.toMatchObject({ code: 'intent_not_found' });
    await d.c.intents.submit(webIntent('real', { layer: 'l-abort', exposure: 30 }), alice);
    expect((await flagIn(d.c, 'web', flagOf('real')))!['allocation'].exposure).toMatchObject({ seed: 'layer/l-abort', start: 0, end: 3000 });
  });

  it('the commit hook counts each committed advance by who made it, and each ship; a rolled-back one not at all', async () => {
    const count = async () => {
      const byWho = Object.fromEntries((await d.c.metrics.rolloutAdvances.get()).values.map((v) => [String(v.labels['by']), v.value]));
      return { person: byWho['person'] ?? 0, scheduler: byWho['scheduler'] ?? 0, ships: (await d.c.metrics.ships.get()).values[0]?.value ?? 0 };
    };
    const start = await count();
    const since = async () => {
      const now = await count();
      return { person: now.person - start.person, scheduler: now.scheduler - start.scheduler, ships: now.ships - start.ships };
    };
    const key = 'counted';
    await d.c.intents.submit(
      webIntent(key, { services: [{ service: 'recommendations', flag: flagOf(key) }], exposure: 30, rollout: { stages: [{ exposure: 10 }, { exposure: 20 }, { exposure: 30 }] } }),
      alice,
    );
    await expect(async () =>
      d.c.lifecycle.transaction(async () => {
        await d.c.lifecycle.act(key, 'advance', 'never', alice);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await since()).toEqual({ person: 0, scheduler: 0, ships: 0 });
    await d.c.lifecycle.act(key, 'advance', 'step', alice);
    expect(await since()).toEqual({ person: 1, scheduler: 0, ships: 0 });
    await d.c.intents.ship(key, 'treatment', 'wins', alice);
    expect(await since()).toEqual({ person: 1, scheduler: 0, ships: 1 });
  });
});
