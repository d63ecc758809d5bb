import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagOf, ingestErrorRates, openDomain, people, type Domain } from '../../helpers/domain.js';
import { simpleIntent } from '../../helpers/harness.js';

/**
 * When a rollout's stage 0 begins (its hold counts from there), and when the scheduler's automatic
 * advance becomes due, across schedules, pauses and new versions (Lifecycle.syncProgress).
 */
describe('rollout progress across schedules, pauses and versions', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();
  const intent = (key: string, rollout?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    simpleIntent(key, {
      services: [{ service: 'recommendations', flag: flagOf(key) }],
      exposure: 100,
      ...(rollout ? { rollout: { guardrails: [{ metric: 'error_rate', max_regression: 0.1 }], ...rollout } } : {}),
      ...extra,
    });
  const view = async (key: string) => (await d.c.intents.get(key)).rollout;

  /** Healthy telemetry (both arms err at 5 %) for the units the served document exposes. */
  const healthy = async (key: string, prefix: string) => {
    await ingestErrorRates(d, key, { units: 3000, base: 0.05, ratio: 1, seed: 3, prefix });
    expect(await d.c.analysis.status(key)).toBe('healthy');
  };

  it('a scheduled rollout enters stage 0 when it starts, not when it is approved: the hold counts from the start', async () => {
    const start = at(2 * HOUR);
    await d.c.intents.submit(intent('sched-roll', { stages: [{ exposure: 50, hold: 'PT1H' }, { exposure: 100 }] }, { schedule: { start } }), alice);
    expect(await view('sched-roll')).toMatchObject({ stage: 0, hold_until: null });
    d.clock.set(start);
    expect((await d.c.lifecycle.tick()).started).toContain('sched-roll');
    expect(await view('sched-roll')).toMatchObject({ stage: 0, hold_until: new Date(new Date(start).getTime() + HOUR).toISOString(), status: 'holding' });
  });

  it('a rollout version approved while paused enters stage 0 then: its hold counts from the approval, not the resume', async () => {
    await d.c.intents.submit(intent('pause-roll'), alice);
    await d.c.lifecycle.act('pause-roll', 'pause', 'wait', oscar);
    const approvedAt = d.clock.now().getTime();
    await d.c.intents.update('pause-roll', intent('pause-roll', { stages: [{ exposure: 50, hold: 'PT1H' }, { exposure: 100 }] }), alice);
    expect(await d.c.intents.get('pause-roll')).toMatchObject({ state: 'paused', active_version: 2 });
    const until = new Date(approvedAt + HOUR).toISOString();
    expect(await view('pause-roll')).toMatchObject({ stage: 0, hold_until: until });
    d.clock.advance(HOUR / 2);
    await d.c.lifecycle.act('pause-roll', 'resume', 'go', oscar);
    expect(await view('pause-roll')).toMatchObject({ stage: 0, hold_until: until });
  });

  it('a new version that turns auto_advance on makes the next stage due; one that turns it off stops that', async () => {
    const stages = [{ exposure: 50 }, { exposure: 75 }, { exposure: 100 }];
    await d.c.intents.submit(intent('auto-later', { stages }), alice);
    await d.c.intents.update('auto-later', intent('auto-later', { stages, auto_advance: true }), alice);
    await d.c.intents.update('auto-later', intent('auto-later', { stages }), alice);
    await healthy('auto-later', 'off');
    expect((await d.c.lifecycle.tick()).advanced).not.toContain('auto-later');
    await d.c.intents.update('auto-later', intent('auto-later', { stages, auto_advance: true }), alice);
    await healthy('auto-later', 'on');
    expect((await d.c.lifecycle.tick()).advanced).toContain('auto-later');
    expect(await view('auto-later')).toMatchObject({ stage: 1 });
  });
});
