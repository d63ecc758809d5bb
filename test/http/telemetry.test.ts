import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFlag } from '../../src/evaluation/index.js';
import { prng, type Rng } from '../helpers/prng.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * SPEC §10.1–10.2 through the real server and compiled policy: telemetry in, analysis out, and the
 * guardrail loop pausing a regressed experiment. The loop's tick is driven directly.
 */

type Event = Record<string, unknown>;

/** A guarded experiment on `recommendations` (experimental tier: up to 100 % exposure, no approval). */
function guarded(key: string, overrides: Record<string, unknown> = {}) {
  return simpleIntent(key, {
    services: [{ service: 'recommendations', flag: `${key.replace(/-/g, '_')}_flag` }],
    exposure: 100,
    rollout: { stages: [{ exposure: 100 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] },
    ...overrides,
  });
}

const flagOf = (key: string) => `${key.replace(/-/g, '_')}_flag`;

/** Where SPEC §6 places each unit, computed from the served document like a service would. */
async function placer(api: Api, service: string, flag: string): Promise<(unit: string) => string | undefined> {
  const doc = (await api.get(`/v1/services/${service}/flags`)).body;
  const compiled = compileFlag(flag, doc.flags[flag]);
  return (unit) => compiled.place(unit);
}

/** Exposure and error events of `units` units, treatment erring `ratio` times as often as control. */
function simulate(rng: Rng, units: number, place: (u: string) => string | undefined, flag: string, base: number, ratio: number, prefix = 'u'): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < units; i++) {
    const unit = `${prefix}-${i}`;
    const variant = place(unit);
    if (variant === undefined) continue;
    events.push({ type: 'exposure', flag, unit, variant, at: '2026-11-25T12:00:00Z' });
    const p = variant === 'control' ? base : base * ratio;
    events.push({ type: 'metric', metric: 'error_rate', unit, value: rng() < p ? 1 : 0, at: '2026-11-25T12:00:01Z' });
  }
  return events;
}

describe('telemetry and guardrails', () => {
  let s: TestServer;
  let svc: Api;
  let web: Api;
  let owner: Api;

  beforeAll(async () => {
    s = await startServer();
    svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
    web = await s.token({ name: 'web', role: 'service', service: 'web' });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => s.close());

  it('a treatment erring 3× as often is paused by the loop, with the analysis in the audit event and on the feed', async () => {
    const key = 'tel-regress';
    const created = await owner.post('/v1/intents', guarded(key));
    expect(created.status).toBe(201);
    expect((await s.api.get(`/v1/intents/${key}`)).body.state).toBe('running');
    const flag = flagOf(key);
    const events = simulate(prng(42), 20_000, await placer(svc, 'recommendations', flag), flag, 0.02, 3);
    expect(events.length).toBe(40_000);

    let trippedAt = -1;
    for (let i = 0; i < events.length; i += 1000) {
      const res = await svc.post('/v1/services/recommendations/telemetry', { events: events.slice(i, i + 1000) });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ accepted: 1000, rejected: [], assignment_mismatches: 0 });
      const tick = await s.container.guardrails.tick();
      if (tick.tripped.length > 0) {
        expect(tick.tripped).toEqual([key]);
        trippedAt = i + 1000;
        break;
      }
    }
    expect(trippedAt).toBeGreaterThan(0);

    const detail = (await s.api.get(`/v1/intents/${key}`)).body;
    expect(detail.state).toBe('paused');
    expect(detail.rollout).toMatchObject({ stage: 0, stages: 1, status: 'halted' });
    const analysis = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(analysis.status).toBe('regressed');
    expect(analysis.srm.flagged).toBe(false);
    const g = analysis.guardrails[0];
    expect(g).toMatchObject({ metric: 'error_rate', arm: 'treatment', better: 'lower', status: 'regressed' });
    expect(g.interval[0]).toBeGreaterThan(0.1);
    expect(g.relative_change).toBeGreaterThan(g.interval[0]);

    const audit = (await s.api.get(`/v1/audit?experiment=${key}`)).body.events;
    const trip = audit.find((e: any) => e.type === 'guardrail_tripped');
    expect(trip).toMatchObject({ actor: 'guardrail', version: 1 });
    expect(trip.data.analysis).toMatchObject({ key, status: 'regressed', guardrails: [{ metric: 'error_rate', status: 'regressed' }] });
    expect(audit.find((e: any) => e.type === 'paused')).toMatchObject({ actor: 'guardrail' });

    const feed = (await s.api.get('/v1/events?after=0&service=recommendations')).body.events;
    const paused = feed.at(-1);
    expect(paused).toMatchObject({ type: 'paused', actor: 'guardrail', experiment: key });
    expect(paused.detail).toMatchObject({ status: 'regressed' });
    expect((await svc.get('/v1/services/recommendations/flags')).body.flags[flag].state).toBe('DISABLED');

    // Once per trip: the next tick finds nothing running to pause.
    expect((await s.container.guardrails.tick()).tripped).toEqual([]);
    // A person may resume; the loop does not overrule them for that version.
    const resumed = await owner.post(`/v1/intents/${key}/actions`, { action: 'resume', reason: 'known cause, fixed downstream' });
    expect(resumed.body.state).toBe('running');
    expect((await s.api.get(`/v1/intents/${key}`)).body.rollout.status).not.toBe('halted');
    expect((await s.container.guardrails.tick()).tripped).toEqual([]);
    expect((await s.api.get(`/v1/intents/${key}`)).body.state).toBe('running');
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('a 60/40 split on 50/50 weights is flagged srm and paused', async () => {
    const key = 'tel-srm';
    await owner.post('/v1/intents', guarded(key, { rollout: { stages: [{ exposure: 100 }], guardrails: [] } }));
    const flag = flagOf(key);
    const place = await placer(svc, 'recommendations', flag);
    // Drop a third of the treatment's exposures, as a service that loses them would: 60/40 remains.
    const events: Event[] = [];
    let t = 0;
    for (let i = 0; events.length < 5000; i++) {
      const unit = `s-${i}`;
      const variant = place(unit)!;
      if (variant === 'treatment' && t++ % 3 === 2) continue;
      events.push({ type: 'exposure', flag, unit, variant });
    }
    for (let i = 0; i < events.length; i += 1000) await svc.post('/v1/services/recommendations/telemetry', { events: events.slice(i, i + 1000) });
    const a = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(a.units.control / (a.units.control + a.units.treatment)).toBeCloseTo(0.6, 1);
    expect(a.srm.flagged).toBe(true);
    expect(a.srm.p_value).toBeLessThan(0.001);
    expect(a.status).toBe('srm');
    expect((await s.container.guardrails.tick()).tripped).toEqual([key]);
    expect((await s.api.get(`/v1/intents/${key}`)).body.state).toBe('paused');
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('a service that buckets differently shows assignment mismatches, which are not used', async () => {
    const key = 'tel-mismatch';
    await owner.post('/v1/intents', guarded(key, { exposure: 50, rollout: { stages: [{ exposure: 50 }], guardrails: [] } }));
    const flag = flagOf(key);
    const place = await placer(svc, 'recommendations', flag);
    const events: Event[] = [];
    let wrong = 0;
    for (let i = 0; i < 2000; i++) {
      const unit = `m-${i}`;
      const right = place(unit);
      // This service hashes with modulo instead of SPEC §6, so it often disagrees.
      const its = i % 2 === 0 ? 'control' : 'treatment';
      if (right !== its) wrong++;
      events.push({ type: 'exposure', flag, unit, variant: its });
    }
    const res = await svc.post('/v1/services/recommendations/telemetry', { events });
    expect(res.status).toBe(202);
    expect(wrong).toBeGreaterThan(500);
    expect(res.body.assignment_mismatches).toBe(wrong);
    expect(res.body.accepted).toBe(2000);
    const a = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(a.assignment_mismatches).toBe(wrong);
    expect(a.units.control + a.units.treatment).toBe(2000 - wrong);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`switchyard_telemetry_events_total\\{outcome="mismatched"\\} ${wrong}`));
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('rejects events one by one; a malformed batch is 400 and nothing of it is kept', async () => {
    const key = 'tel-reject';
    await owner.post('/v1/intents', guarded(key));
    const flag = flagOf(key);
    const place = await placer(svc, 'recommendations', flag);
    const unit = 'r-1';
    const res = await svc.post('/v1/services/recommendations/telemetry', {
      events: [
        { type: 'exposure', flag: 'no_such_flag', unit, variant: 'control' },
        { type: 'exposure', flag, unit, variant: place(unit) },
        { type: 'metric', metric: 'no_such_metric', unit, value: 1 },
        { type: 'metric', metric: 'error_rate', unit, value: 1 },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    expect(res.body.rejected.map((r: any) => [r.index, r.code])).toEqual([
      [0, 'unknown_flag'],
      [2, 'unknown_metric'],
    ]);
    const before = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(before.units[place(unit)!]).toBe(1);

    const bad = await svc.post('/v1/services/recommendations/telemetry', {
      events: [
        { type: 'exposure', flag, unit: 'r-2', variant: place('r-2') },
        { type: 'metric', metric: 'error_rate', unit: 'r-2', value: 'high' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors.map((e: any) => e.path)).toContain('events.1.value');
    expect((await owner.get(`/v1/intents/${key}/analysis`)).body).toEqual(before);

    const tooMany = await svc.post('/v1/services/recommendations/telemetry', {
      events: Array.from({ length: 10_001 }, (_, i) => ({ type: 'metric', metric: 'error_rate', unit: `x${i}`, value: 0 })),
    });
    expect(tooMany.status).toBe(400);
    expect((await owner.get(`/v1/intents/${key}/analysis`)).body).toEqual(before);

    // A full batch of 10,000 events fits the telemetry route's body limit.
    const full = await svc.post('/v1/services/recommendations/telemetry', {
      events: Array.from({ length: 10_000 }, (_, i) => ({ type: 'metric', metric: 'error_rate', unit: `unexposed-unit-${i}`, value: 0, at: '2026-11-25T12:00:00.000Z' })),
    });
    expect(full.status).toBe(202);
    expect(full.body.accepted).toBe(10_000);

    // Only the service's own token (or admin) may send; another service's token is refused.
    expect((await web.post('/v1/services/recommendations/telemetry', { events: [] })).status).toBe(403);
    expect((await owner.post('/v1/services/recommendations/telemetry', { events: [] })).status).toBe(403);
    expect((await s.api.post('/v1/services/recommendations/telemetry', { events: [] })).status).toBe(202);
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('a metric counts only for exposures at or before it, and a mean metric is the mean of a unit’s values', async () => {
    const key = 'tel-timing';
    await owner.post('/v1/intents', guarded(key, { rollout: { stages: [{ exposure: 100 }], guardrails: [{ metric: 'latency_ms', max_regression: 0.05 }] } }));
    const flag = flagOf(key);
    const place = await placer(svc, 'recommendations', flag);
    const a = 't-a';
    const b = 't-b';
    await svc.post('/v1/services/recommendations/telemetry', {
      events: [
        // Metrics before the exposure in the batch still count: exposures are applied first.
        { type: 'metric', metric: 'latency_ms', unit: a, value: 100, at: '2026-11-25T12:00:02Z' },
        { type: 'metric', metric: 'latency_ms', unit: a, value: 300, at: '2026-11-25T12:00:03Z' },
        { type: 'exposure', flag, unit: a, variant: place(a), at: '2026-11-25T12:00:01Z' },
        // Before its unit's exposure: not counted.
        { type: 'metric', metric: 'latency_ms', unit: b, value: 999, at: '2026-11-25T11:00:00Z' },
        { type: 'exposure', flag, unit: b, variant: place(b), at: '2026-11-25T12:00:00Z' },
      ],
    });
    const an = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    const g = an.guardrails[0];
    const stats = place(a) === 'control' ? g.control : g.arm_stats;
    expect(stats).toEqual({ units: 1, mean: 200 });
    expect(g.control.units + g.arm_stats.units).toBe(1);
    expect(g.status).toBe('collecting');
    expect(an.status).toBe('collecting');
    // A later batch changes the unit's mean: its old contribution to the arm is replaced, not added to.
    await svc.post('/v1/services/recommendations/telemetry', { events: [{ type: 'metric', metric: 'latency_ms', unit: a, value: 500, at: '2026-11-25T12:00:04Z' }] });
    const g2 = (await owner.get(`/v1/intents/${key}/analysis`)).body.guardrails[0];
    expect(place(a) === 'control' ? g2.control : g2.arm_stats).toEqual({ units: 1, mean: 300 });
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('concurrent batches share one transaction (group commit), each with its own answer', async () => {
    const key = 'tel-group';
    await owner.post('/v1/intents', guarded(key));
    const flag = flagOf(key);
    const place = await placer(svc, 'recommendations', flag);
    const batch = (b: number, n: number) => ({
      events: [
        ...Array.from({ length: n }, (_, i) => ({ type: 'exposure', flag, unit: `g${b}-${i}`, variant: place(`g${b}-${i}`) })),
        ...Array.from({ length: b }, () => ({ type: 'metric', metric: 'nope', unit: 'x', value: 1 })),
      ],
    });
    const txCount = async () => Number(/switchyard_sqlite_transaction_duration_seconds_count (\d+)/.exec(await (await fetch(`${s.base}/metrics`)).text())![1]);
    const before = await txCount();
    // Four batches handed over in one turn, as concurrent requests are: one transaction, four answers.
    const answers = await Promise.all([0, 1, 2, 3].map((b) => s.container.telemetry.submit('recommendations', batch(b, 100 + b).events as any)));
    expect(await txCount()).toBe(before + 1);
    answers.forEach((res, b) => {
      expect(res.accepted).toBe(100 + b);
      expect(res.rejected).toHaveLength(b);
    });
    const a = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(a.units.control + a.units.treatment).toBe(406);
    await owner.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'done' });
  });

  it('an exposure to a paused experiment is unknown_flag', async () => {
    const key = 'tel-paused';
    await owner.post('/v1/intents', guarded(key));
    await owner.post(`/v1/intents/${key}/actions`, { action: 'pause', reason: 'hold' });
    const res = await svc.post('/v1/services/recommendations/telemetry', { events: [{ type: 'exposure', flag: flagOf(key), unit: 'p', variant: 'control' }] });
    expect(res.body.rejected[0].code).toBe('unknown_flag');
    expect((await owner.get('/v1/intents/no-such-intent/analysis')).status).toBe(404);
  });
});
