import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateFlag } from '../../src/evaluation/index.js';
import { Scheduler } from '../../src/intents/scheduler.js';
import { openSse } from '../fixtures/sse-client.js';
import { exampleIntent, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

type Doc = { service: string; version: number; flags: Record<string, any> };
const HOUR = 3_600_000;

describe('staged rollouts (SPEC §10) through the server', () => {
  let s: TestServer;
  let owner: Awaited<ReturnType<TestServer['token']>>;
  let sre: Api;
  let operator: Api;
  let otherTeam: Api;
  const flags = async (service: string): Promise<Doc> => (await s.api.get(`/v1/services/${service}/flags`)).body;
  const act = (api: Api, key: string, body: Record<string, unknown>) => api.post(`/v1/intents/${key}/actions`, body);
  const audit = async (key: string, type: string) => (await s.api.get(`/v1/audit?experiment=${key}&type=${type}`)).body.events;

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'olga', role: 'operator' });
    otherTeam = await s.token({ name: 'carol', role: 'owner', team: 'crm' });
  });
  afterAll(async () => s.close());

  it('the policy judges the rollout: guardrail_required and unknown_metric, caps on the final exposure', async () => {
    const stages = [{ exposure: 1, hold: 'PT1H' }, { exposure: 4.5 }];
    const noGuard = await owner.post('/v1/intents:evaluate', exampleIntent({ rollout: { stages } }));
    expect(noGuard.body.decision.violations.map((v: any) => v.code)).toEqual(['guardrail_required']);
    const unknown = await owner.post('/v1/intents:evaluate', exampleIntent({ rollout: { stages, guardrails: [{ metric: 'error_rate' }, { metric: 'joy' }] } }));
    expect(unknown.body.decision.violations.map((v: any) => v.code)).toEqual(['unknown_metric']);
    const guarded = await owner.post('/v1/intents:evaluate', exampleIntent({ rollout: { stages, guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] } }));
    expect(guarded.body.decision.allow).toBe(true);
    const tooBig = await owner.post('/v1/intents:evaluate', exampleIntent({ exposure: 6, rollout: { stages: [{ exposure: 1 }, { exposure: 6 }], guardrails: [{ metric: 'error_rate' }] } }));
    expect(tooBig.body.decision.violations.map((v: any) => v.code)).toEqual(['max_exposure']);
    // the stored decision's input carries the whole rollout, and replay reproduces it
    const stored = await owner.post('/v1/intents', exampleIntent({ key: 'judged-rollout', services: [{ service: 'checkout-api', flag: 'judged' }], layer: undefined, rollout: { stages } }));
    expect(stored.body.status).toBe('denied');
    const decision = (await s.api.get(`/v1/decisions/${stored.body.decision.id}`)).body;
    expect(decision.input.intent.rollout.stages).toEqual(stages.map((st) => ({ hold: 'PT0S', ...st })));
    const replay = await s.api.post(`/v1/decisions/${stored.body.decision.id}:replay`, {});
    expect(replay.body.matches).toBe(true);
    expect(replay.body.replayed.violations.map((v: any) => v.code)).toEqual(['guardrail_required']);
  });

  it('advance: each stage serves a longer prefix of one slice; 409 codes; audit, feed and SSE carry it', async () => {
    const rollout = { stages: [{ exposure: 2, hold: 'PT1H' }, { exposure: 5, hold: 'PT2H' }, { exposure: 10 }] };
    const body = simpleIntent('staged', { services: [{ service: 'web', flag: 'staged_web' }, { service: 'search', flag: 'staged_search' }], layer: 'staged-layer', rollout });
    // another experiment in the layer first, so the slice does not start at 0
    await owner.post('/v1/intents', simpleIntent('layer-mate', { layer: 'staged-layer', exposure: 7 }));
    const submitted = await owner.post('/v1/intents', body);
    expect(submitted.body.state).toBe('running');
    const detail = (await s.api.get('/v1/intents/staged')).body;
    // the layer reserves the final exposure from the start
    expect(detail.versions[0].slice).toEqual({ start: 700, end: 1700 });
    expect(detail.rollout).toEqual({ stage: 0, stages: 3, exposure: 2, hold_until: new Date(s.clock.now().getTime() + HOUR).toISOString(), status: 'holding' });
    const v0 = await flags('web');
    expect(v0.flags['staged_web'].allocation.exposure).toEqual({ seed: 'layer/staged-layer', start: 700, end: 900, total: 10000 });
    expect((await flags('search')).flags['staged_search'].allocation.exposure).toEqual(v0.flags['staged_web'].allocation.exposure);

    const sse = await openSse(`${s.base}/v1/events/stream?service=web&after=${(await s.api.get('/v1/events?service=web')).body.events.at(-1).id}`, {
      authorization: `Bearer ${owner.secret}`,
    });
    try {
      // hold not over
      const early = await act(owner, 'staged', { action: 'advance' });
      expect(early.status).toBe(409);
      expect(early.body).toMatchObject({ code: 'hold_not_elapsed', hold_until: detail.rollout.hold_until });
      expect((await flags('web')).version).toBe(v0.version);
      // another team may not
      expect((await act(otherTeam, 'staged', { action: 'advance' })).status).toBe(403);

      s.clock.advance(HOUR);
      expect((await s.api.get('/v1/intents/staged')).body.rollout.status).toBe('ready');
      const advanced = await act(owner, 'staged', { action: 'advance', reason: 'stage 0 looks fine' });
      expect(advanced.status).toBe(200);
      expect(advanced.body.rollout).toMatchObject({ stage: 1, exposure: 5, status: 'holding' });
      const v1 = await flags('web');
      expect(v1.version).toBe(v0.version + 1);
      expect(v1.flags['staged_web'].allocation.exposure).toEqual({ seed: 'layer/staged-layer', start: 700, end: 1200, total: 10000 });
      expect((await flags('search')).flags['staged_search'].allocation.exposure.end).toBe(1200);
      const live = JSON.parse((await sse.nextEvent()).data);
      expect(live).toMatchObject({ service: 'web', version: v1.version, type: 'advanced', experiment: 'staged', actor: 'alice' });

      // the operator advances to the last stage; then there is nowhere to go
      s.clock.advance(2 * HOUR);
      expect((await act(operator, 'staged', { action: 'advance' })).status).toBe(200);
      const last = await flags('web');
      expect(last.flags['staged_web'].allocation.exposure).toMatchObject({ start: 700, end: 1700 });
      expect((await s.api.get('/v1/intents/staged')).body.rollout).toMatchObject({ stage: 2, exposure: 10, status: 'complete' });
      const beyond = await act(owner, 'staged', { action: 'advance' });
      expect(beyond.status).toBe(409);
      expect(beyond.body.code).toBe('invalid_transition');
    } finally {
      sse.close();
    }
    const events = await audit('staged', 'advanced');
    expect(events.map((e: any) => [e.actor, e.data.from_exposure, e.data.to_exposure, e.data.to_stage, e.data.reason ?? null])).toEqual([
      ['alice', 2, 5, 1, 'stage 0 looks fine'],
      ['olga', 5, 10, 2, null],
    ]);
    const feed = (await s.api.get('/v1/events?service=search')).body.events.filter((e: any) => e.experiment === 'staged');
    expect(feed.map((e: any) => e.type)).toEqual(['started', 'advanced', 'advanced']);

    // not running: invalid_transition
    await act(owner, 'staged', { action: 'pause', reason: 'look' });
    const pausedAdvance = await act(owner, 'staged', { action: 'advance' });
    expect(pausedAdvance.body.code).toBe('invalid_transition');
    // no rollout: invalid_transition
    const plain = await act(owner, 'layer-mate', { action: 'advance' });
    expect(plain.status).toBe(409);
    expect(plain.body.code).toBe('invalid_transition');
  });

  it('auto_advance: the scheduler advances a healthy rollout through every stage, once per stage, across a restart', async () => {
    const rollout = { stages: [{ exposure: 1, hold: 'PT30M' }, { exposure: 3, hold: 'PT1H' }, { exposure: 6 }], auto_advance: true };
    await owner.post('/v1/intents', simpleIntent('auto-roll', { rollout, exposure: 6 }));
    const ends = async () => (await flags('web')).flags['auto_roll_flag'].allocation.exposure.end;
    let scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
    expect((await scheduler.tick()).advanced).toEqual([]);
    expect(await ends()).toBe(100);
    s.clock.advance(30 * 60_000);
    expect((await scheduler.tick()).advanced).toEqual(['auto-roll']);
    expect((await scheduler.tick()).advanced).toEqual([]);
    expect(await ends()).toBe(300);
    // down over the next hold: the boot tick of the new process advances it, once
    await s.restart();
    s.clock.advance(HOUR);
    scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
    expect((await scheduler.tick()).advanced).toEqual(['auto-roll']);
    expect((await new Scheduler(s.container.lifecycle, s.container.logger).tick()).advanced).toEqual([]);
    expect(await ends()).toBe(600);
    expect((await s.api.get('/v1/intents/auto-roll')).body.rollout).toMatchObject({ stage: 2, status: 'complete' });
    s.clock.advance(24 * HOUR);
    expect((await scheduler.tick()).advanced).toEqual([]);
    const events = await audit('auto-roll', 'advanced');
    expect(events.map((e: any) => [e.actor, e.data.to_exposure])).toEqual([
      ['system:scheduler', 3],
      ['system:scheduler', 6],
    ]);
  });

  it('auto_advance waits while a guardrail is collecting, and while paused', async () => {
    const rollout = { stages: [{ exposure: 1 }, { exposure: 6 }], guardrails: [{ metric: 'error_rate' }], auto_advance: true };
    await owner.post('/v1/intents', simpleIntent('auto-guarded', { rollout, exposure: 6 }));
    const scheduler = new Scheduler(s.container.lifecycle, s.container.logger);
    s.clock.advance(HOUR);
    expect((await scheduler.tick()).advanced).toEqual([]);
    expect((await s.api.get('/v1/intents/auto-guarded')).body.rollout).toMatchObject({ stage: 0, status: 'ready' });
    await owner.post('/v1/intents', simpleIntent('auto-paused', { rollout: { stages: [{ exposure: 1 }, { exposure: 6 }], auto_advance: true }, exposure: 6 }));
    await act(owner, 'auto-paused', { action: 'pause', reason: 'wait' });
    s.clock.advance(HOUR);
    expect((await scheduler.tick()).advanced).toEqual([]);
    await act(owner, 'auto-paused', { action: 'resume', reason: 'go' });
    expect((await scheduler.tick()).advanced).toEqual(['auto-paused']);
  });

  it('a guardrail pause makes the rollout halted; a person resuming clears it', async () => {
    await owner.post('/v1/intents', simpleIntent('halt-me', { rollout: { stages: [{ exposure: 1 }, { exposure: 10 }] } }));
    await s.container.lifecycle.act('halt-me', 'pause', 'error_rate regressed', { tokenId: 'guardrail', name: 'guardrail', role: 'admin', team: null, approvalRoles: [], service: null });
    expect((await s.api.get('/v1/intents/halt-me')).body.rollout.status).toBe('halted');
    await act(operator, 'halt-me', { action: 'resume', reason: 'false alarm' });
    expect((await s.api.get('/v1/intents/halt-me')).body.rollout.status).toBe('ready');
    await act(operator, 'halt-me', { action: 'pause', reason: 'by hand' });
    expect((await s.api.get('/v1/intents/halt-me')).body.rollout.status).toBe('ready');
  });

  it('ship → approve → every unit gets the variant in every service → rollback → the running version again', async () => {
    const intent = exampleIntent({
      key: 'ship-it',
      services: [{ service: 'web', flag: 'ship_web' }, { service: 'checkout-api', flag: 'ship_api' }],
      layer: 'ship-layer',
      schedule: undefined,
      rollout: { stages: [{ exposure: 2 }, { exposure: 4.5 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] },
    });
    await owner.post('/v1/intents', intent);
    await sre.post('/v1/intents/ship-it/approvals', {});
    const before = { web: await flags('web'), api: await flags('checkout-api') };
    expect(before.web.flags['ship_web'].allocation.exposure).toMatchObject({ start: 0, end: 200 });

    expect((await act(owner, 'ship-it', { action: 'ship', variant: 'nope', reason: 'x' })).body.code).toBe('validation_failed');
    expect((await act(otherTeam, 'ship-it', { action: 'ship', variant: 'treatment', reason: 'x' })).status).toBe(403);
    expect((await act(sre, 'ship-it', { action: 'ship', variant: 'treatment', reason: 'x' })).status).toBe(403);
    const asked = await act(owner, 'ship-it', { action: 'ship', variant: 'treatment', reason: 'treatment wins' });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ intent: { key: 'ship-it', version: 2 }, status: 'pending_approval', state: 'running' });
    expect(asked.body.decision.obligations.approvals).toEqual([{ role: 'sre', count: 1 }]);
    const decision = (await s.api.get(`/v1/decisions/${asked.body.decision.id}`)).body;
    expect(decision.input.ship).toBe('treatment');
    // still running version 1 while the ship waits
    expect((await flags('web')).version).toBe(before.web.version);

    const approved = await sre.post('/v1/intents/ship-it/approvals', {});
    expect(approved.body.state).toBe('shipped');
    const after = { web: await flags('web'), api: await flags('checkout-api') };
    expect(after.web.version).toBe(before.web.version + 1);
    expect(after.api.version).toBe(before.api.version + 1);
    for (const [doc, flag, value] of [[after.web, 'ship_web', true], [after.api, 'ship_api', 'v2']] as const) {
      const f = doc.flags[flag];
      expect(f.default_variant).toBe('treatment');
      expect(f.allocation.exposure.start).toBe(f.allocation.exposure.end);
      for (let i = 0; i < 300; i++) {
        const r = evaluateFlag(flag, f, { targetingKey: `u-${i}`, user_id: `u-${i}`, locale: i % 2 ? 'en-US' : 'fr-FR' });
        expect(r).toMatchObject({ variant: 'treatment', value });
      }
    }
    const shipped = (await s.api.get('/v1/intents/ship-it')).body;
    expect(shipped).toMatchObject({ state: 'shipped', active_version: 2, ship: 'treatment' });
    // the shipped version holds no layer room
    expect(shipped.versions[1].slice).toBeUndefined();
    expect((await audit('ship-it', 'shipped')).map((e: any) => [e.actor, e.data.variant])).toEqual([['sam', 'treatment']]);
    expect((await s.api.get('/v1/events?service=checkout-api')).body.events.at(-1)).toMatchObject({ type: 'shipped', experiment: 'ship-it' });

    // advance and ship again are refused while shipped
    expect((await act(owner, 'ship-it', { action: 'advance' })).body.code).toBe('invalid_transition');
    expect((await act(owner, 'ship-it', { action: 'ship', variant: 'control', reason: 'x' })).body.code).toBe('invalid_transition');

    const back = await act(operator, 'ship-it', { action: 'rollback', reason: 'revenue dipped' });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ state: 'running', active_version: 1 });
    const restored = { web: await flags('web'), api: await flags('checkout-api') };
    expect(restored.web.flags['ship_web']).toEqual({ ...before.web.flags['ship_web'] });
    expect(restored.api.flags['ship_api']).toEqual({ ...before.api.flags['ship_api'] });
    expect((await act(owner, 'ship-it', { action: 'complete', reason: 'done' })).body.state).toBe('completed');
  });

  it('ship without a rollout, from paused: no approval owed, so shipped at once and enabled; a draft cannot ship', async () => {
    await owner.post('/v1/intents', simpleIntent('ship-plain'));
    await act(owner, 'ship-plain', { action: 'pause', reason: 'decide' });
    const asked = await act(owner, 'ship-plain', { action: 'ship', variant: 'control', reason: 'no effect' });
    expect(asked.body).toMatchObject({ status: 'approved', state: 'shipped' });
    const f = (await flags('web')).flags['ship_plain_flag'];
    expect(f).toMatchObject({ state: 'ENABLED', default_variant: 'control' });
    expect(evaluateFlag('ship_plain_flag', f, { targetingKey: 'u1' })).toMatchObject({ variant: 'control', value: 'off' });
    const draftShip = await owner.post('/v1/intents', simpleIntent('never-ran', { services: [{ service: 'payments', flag: 'nr' }], exposure: 1 }));
    expect(draftShip.body.state).toBe('draft');
    expect((await act(owner, 'never-ran', { action: 'ship', variant: 'control', reason: 'x' })).body.code).toBe('invalid_transition');
  });
});
