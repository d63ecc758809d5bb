import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type TestServer } from '../helpers/harness.js';

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
});
