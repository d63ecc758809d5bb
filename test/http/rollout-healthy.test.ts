import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFlag } from '../../src/evaluation/index.js';
import { Scheduler } from '../../src/intents/scheduler.js';
import { prng } from '../helpers/prng.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * SPEC §10 end to end: a guarded rollout with `auto_advance` whose telemetry is healthy (both arms
 * err at the same rate) advances through every stage by itself, each stage only once its hold is
 * over and its analysis is `healthy` (enough units in both arms, no regression, no SRM).
 */
describe('a healthy guarded rollout with auto_advance', () => {
  let s: TestServer;
  let owner: Api;
  let svc: Api;

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
  });
  afterAll(async () => s?.close());

  it('advances through all stages, waiting for each hold and for enough healthy telemetry', async () => {
    const key = 'healthy-ramp';
    const flag = 'healthy_ramp_flag';
    const rollout = {
      stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 30, hold: 'PT1H' }, { exposure: 100 }],
      guardrails: [{ metric: 'error_rate', max_regression: 0.1 }],
      auto_advance: true,
    };
    const created = await owner.post('/v1/intents', simpleIntent(key, { services: [{ service: 'recommendations', flag }], exposure: 100, rollout }));
    expect(created.status, created.text).toBe(201);
    const scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
    const rng = prng(7);
    let sent = 0;

    /** Telemetry for the next `n` candidate units, placed as the served document places them. */
    const report = async (n: number) => {
      const doc = (await svc.get('/v1/services/recommendations/flags')).body;
      const compiled = compileFlag(flag, doc.flags[flag]);
      const events: Record<string, unknown>[] = [];
      for (let i = sent; i < sent + n; i++) {
        const unit = `u-${i}`;
        const variant = compiled.place(unit);
        if (variant === undefined) continue;
        events.push({ type: 'exposure', flag, unit, variant });
        events.push({ type: 'metric', metric: 'error_rate', unit, value: rng() < 0.05 ? 1 : 0 });
      }
      sent += n;
      for (let i = 0; i < events.length; i += 5000) {
        const res = await svc.post('/v1/services/recommendations/telemetry', { events: events.slice(i, i + 5000) });
        expect(res.body).toMatchObject({ rejected: [], assignment_mismatches: 0 });
      }
    };
    const rolloutNow = async () => (await owner.get(`/v1/intents/${key}`)).body.rollout;

    // Stage 0: the hold is not over, and the guardrail is still collecting: no advance.
    expect((await scheduler.tick()).advanced).toEqual([]);
    s.clock.advance(3_600_000);
    expect((await scheduler.tick()).advanced).toEqual([]);
    expect((await owner.get(`/v1/intents/${key}/analysis`)).body.status).toBe('collecting');

    for (const [stage, exposure] of [[1, 30], [2, 100]] as const) {
      await report(6000);
      const analysis = (await owner.get(`/v1/intents/${key}/analysis`)).body;
      expect(analysis.status, JSON.stringify(analysis)).toBe('healthy');
      expect((await scheduler.tick()).advanced).toEqual([key]);
      expect(await rolloutNow()).toMatchObject({ stage, exposure });
      // The next stage holds for an hour before the scheduler moves it again.
      expect((await scheduler.tick()).advanced).toEqual([]);
      s.clock.advance(3_600_000);
    }
    expect(await rolloutNow()).toMatchObject({ stage: 2, stages: 3, status: 'complete' });
    const advanced = (await owner.get(`/v1/audit?experiment=${key}&type=advanced`)).body.events;
    expect(advanced.map((e: any) => [e.actor, e.data.to_exposure])).toEqual([
      ['system:scheduler', 30],
      ['system:scheduler', 100],
    ]);
    // Nothing tripped along the way.
    expect((await s.container.guardrails.tick()).tripped).toEqual([]);
  });
});
