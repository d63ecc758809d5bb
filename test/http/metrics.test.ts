import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/intents/scheduler.js';
import { simpleIntent, startServer, type TestServer } from '../helpers/harness.js';
import { guardedIntent } from '../helpers/rollout-telemetry.js';

describe('/metrics', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s.close());

  it('counts decisions by outcome and violation, flag reads by status, and names the policy revision', async () => {
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    await owner.post('/v1/intents', simpleIntent('metric-ok'));
    await owner.post('/v1/intents', simpleIntent('metric-bad', { exposure: 90 }));
    const first = await s.api.get('/v1/services/web/flags');
    await s.api.get('/v1/services/web/flags', { 'if-none-match': first.headers.get('etag')! });
    const res = await fetch(`${s.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/switchyard_decisions_total\{outcome="approved",failed_closed="false"\} 1/);
    expect(text).toMatch(/switchyard_decisions_total\{outcome="denied",failed_closed="false"\} 1/);
    expect(text).toMatch(/switchyard_decision_violations_total\{code="max_exposure"\} 1/);
    expect(text).toMatch(/switchyard_flag_reads_total\{service="web",status="200"\} 1/);
    expect(text).toMatch(/switchyard_flag_reads_total\{service="web",status="304"\} 1/);
    const revision = (await s.api.get('/v1/policy')).body.revision;
    expect(text).toContain(`switchyard_policy_info{revision="${revision}"} 1`);
    expect(text).toMatch(/switchyard_decision_duration_seconds_count 2/);
    expect(text).toMatch(/switchyard_sqlite_transaction_duration_seconds_count \d+/);
  });

  it('counts committed rollout advances by who advanced (person, scheduler) and ships; a refused advance counts nothing', async () => {
    const owner = await s.token({ name: 'bob', role: 'owner', team: 'growth' });
    const scrape = async () => (await fetch(`${s.base}/metrics`)).text();
    const count = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = await scrape();
    expect(before).toContain('# TYPE switchyard_rollout_advances_total counter');
    expect(before).toContain('# TYPE switchyard_ships_total counter');

    expect((await owner.post('/v1/intents', guardedIntent('metric-manual', { stages: [{ exposure: 10 }, { exposure: 20, hold: 'PT1H' }, { exposure: 30 }] }))).status).toBe(201);
    expect((await owner.post('/v1/intents/metric-manual/actions', { action: 'advance' })).status).toBe(200);
    expect((await owner.post('/v1/intents/metric-manual/actions', { action: 'advance' })).status).toBe(409);
    expect((await owner.post('/v1/intents', guardedIntent('metric-auto', { stages: [{ exposure: 10 }, { exposure: 20 }], auto_advance: true }))).status).toBe(201);
    expect((await new Scheduler(s.container.lifecycle, s.container.logger).tick()).advanced).toEqual(['metric-auto']);
    expect((await owner.post('/v1/intents/metric-manual/actions', { action: 'ship', variant: 'treatment', reason: 'wins' })).body.state).toBe('shipped');

    const after = await scrape();
    expect(count(after, 'switchyard_rollout_advances_total{by="person"}')).toBe(count(before, 'switchyard_rollout_advances_total{by="person"}') + 1);
    expect(count(after, 'switchyard_rollout_advances_total{by="scheduler"}')).toBe(count(before, 'switchyard_rollout_advances_total{by="scheduler"}') + 1);
    expect(count(after, 'switchyard_ships_total')).toBe(count(before, 'switchyard_ships_total') + 1);
  });
});
