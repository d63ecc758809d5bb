import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/intents/scheduler.js';
import { exampleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

type Flags = { service: string; version: number; flags: Record<string, any> };

describe('an experiment through its whole life', () => {
  let s: TestServer;
  let owner: Api;
  let sre: Api;
  let operator: Api;
  const flags = async (service: string): Promise<Flags> => (await s.api.get(`/v1/services/${service}/flags`)).body;
  const act = (api: Api, action: string, reason = `${action} for the test`) =>
    api.post('/v1/intents/checkout-redesign/actions', { action, reason });

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'olga', role: 'operator' });
  });
  afterAll(async () => s.close());

  it('submit → pending → approve → scheduled → running → pause → resume → v2 pending → approve → rollback → complete', async () => {
    // submit: pending sre approval, nothing live yet
    const submitted = await owner.post('/v1/intents', exampleIntent());
    expect(submitted.status).toBe(201);
    expect(submitted.body.status).toBe('pending_approval');
    expect((await flags('web')).version).toBe(0);

    // approve: scheduled for 2026-12-01, still no flags
    const approved = await sre.post('/v1/intents/checkout-redesign/approvals', { comment: 'looks safe' });
    expect(approved.status).toBe(201);
    expect(approved.body.status).toBe('approved');
    expect(approved.body.state).toBe('scheduled');
    expect((await flags('web')).flags).toEqual({});

    // start: the clock reaches schedule.start, the scheduler starts it, once
    s.clock.set('2026-12-01T00:00:00Z');
    const scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
    expect((await scheduler.tick()).started).toEqual(['checkout-redesign']);
    expect((await scheduler.tick()).started).toEqual([]);
    let web = await flags('web');
    expect(web.version).toBe(1);
    expect(web.flags['checkout_redesign'].state).toBe('ENABLED');
    expect(web.flags['checkout_redesign'].experiment).toEqual({ key: 'checkout-redesign', version: 1 });
    expect((await flags('checkout-api')).flags['checkout_v2'].variants).toEqual({ control: false, treatment: 'v2' });
    expect((await s.api.get('/v1/intents/checkout-redesign')).body.state).toBe('running');

    // pause: kill switch, everyone gets the default
    s.clock.advance(3_600_000);
    const paused = await operator.post('/v1/intents/checkout-redesign/actions', { action: 'pause', reason: 'error rate up' });
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    web = await flags('web');
    expect(web.version).toBe(2);
    expect(web.flags['checkout_redesign'].state).toBe('DISABLED');
    // provenance names the decision (its submitter); who paused is in the feed
    expect(web.flags['checkout_redesign'].provenance.actor).toBe('alice');
    expect((await s.api.get('/v1/events?after=0')).body.events.at(-1)).toMatchObject({ type: 'paused', actor: 'olga', service: 'web' });

    // pausing twice is an illegal transition
    const again = await act(operator, 'pause');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_transition');

    // resume
    expect((await act(owner, 'resume')).body.state).toBe('running');
    web = await flags('web');
    expect(web.version).toBe(3);
    expect(web.flags['checkout_redesign'].state).toBe('ENABLED');

    // a new version waits for approval while version 1 keeps running unchanged
    const v2 = await owner.put('/v1/intents/checkout-redesign', exampleIntent({ exposure: 3 }));
    expect(v2.status).toBe(200);
    expect(v2.body.intent).toEqual({ key: 'checkout-redesign', version: 2 });
    expect(v2.body.status).toBe('pending_approval');
    web = await flags('web');
    expect(web.version).toBe(3);
    expect(web.flags['checkout_redesign'].experiment.version).toBe(1);
    const got = (await s.api.get('/v1/intents/checkout-redesign')).body;
    expect(got).toMatchObject({ version: 2, status: 'pending_approval', state: 'running', active_version: 1 });

    // approve v2: it replaces v1 in every service
    expect((await sre.post('/v1/intents/checkout-redesign/approvals', {})).body.status).toBe('approved');
    web = await flags('web');
    expect(web.version).toBe(4);
    expect(web.flags['checkout_redesign'].experiment.version).toBe(2);
    expect(web.flags['checkout_redesign'].allocation.exposure.end - web.flags['checkout_redesign'].allocation.exposure.start).toBe(300);

    // rollback: back to version 1
    const rolled = await act(operator, 'rollback');
    expect(rolled.body).toMatchObject({ state: 'running', active_version: 1 });
    web = await flags('web');
    expect(web.version).toBe(5);
    expect(web.flags['checkout_redesign'].experiment.version).toBe(1);
    expect(web.flags['checkout_redesign'].allocation.exposure.end - web.flags['checkout_redesign'].allocation.exposure.start).toBe(450);

    // complete: the flags are gone everywhere
    expect((await act(owner, 'complete')).body.state).toBe('completed');
    web = await flags('web');
    expect(web.version).toBe(6);
    expect(web.flags).toEqual({});
    expect((await flags('checkout-api')).flags).toEqual({});
    expect((await act(owner, 'resume')).status).toBe(409);

    // every step is in the audit trail, in order, and the chain verifies
    const audit = (await s.api.get('/v1/audit?experiment=checkout-redesign&limit=100')).body.events.map((e: any) => e.type);
    expect(audit).toEqual([
      'submitted', 'decided', 'approved', 'started', 'paused', 'resumed',
      'submitted', 'decided', 'approved', 'started', 'rolled_back', 'completed',
    ]);
    expect((await s.api.get('/v1/audit/verify')).body.ok).toBe(true);
  });
});

describe('schedules survive restarts', () => {
  it('a start and an end that fall due while the server is down are applied at boot, once', async () => {
    const s = await startServer();
    try {
      const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
      const res = await owner.post('/v1/intents', {
        key: 'search-ranking',
        owner: 'growth',
        services: [{ service: 'search', flag: 'ranking_v2' }],
        variants: [{ key: 'control', weight: 1, value: 'v1' }, { key: 'treatment', weight: 1, value: 'v2' }],
        exposure: 20,
        schedule: { start: '2026-11-26T00:00:00Z', end: '2026-11-28T00:00:00Z' },
      });
      expect(res.body).toMatchObject({ status: 'approved', state: 'scheduled' });

      // down over the start: the boot tick starts it
      await s.restart();
      s.clock.set('2026-11-26T06:00:00Z');
      // The boot tick, awaited: start() does not wait for it, and a GET sent at once would race it.
      expect((await new Scheduler(s.container.lifecycle, s.container.logger).tick()).started).toEqual(['search-ranking']);
      expect((await s.api.get('/v1/intents/search-ranking')).body.state).toBe('running');
      expect((await s.api.get('/v1/services/search/flags')).body.flags.ranking_v2.state).toBe('ENABLED');

      // down over the end: the boot tick expires it and removes the flags
      await s.restart();
      s.clock.set('2026-11-29T00:00:00Z');
      const scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
      expect((await scheduler.tick()).expired).toEqual(['search-ranking']);
      expect((await scheduler.tick()).expired).toEqual([]);
      expect((await s.api.get('/v1/intents/search-ranking')).body.state).toBe('completed');
      expect((await s.api.get('/v1/services/search/flags')).body.flags).toEqual({});
      const types = (await s.api.get('/v1/audit?experiment=search-ranking')).body.events.map((e: any) => e.type);
      expect(types.filter((t: string) => t === 'started')).toHaveLength(1);
      expect(types.filter((t: string) => t === 'expired')).toHaveLength(1);
    } finally {
      await s.close();
    }
  });
});
