import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent } from '../../helpers/harness.js';
import { auditOf, criticalIntent, errorOf, flagIn, flagOf, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';

/**
 * Schedules (SPEC §4): an approved version goes live at `schedule.start` (now if absent) and its
 * flags are removed at `schedule.end`. `Lifecycle.tick()` applies what is due at the clock's time;
 * the clock is a ManualClock, moved by the test.
 */
describe('scheduling: tick() with the clock', () => {
  let d: Domain;
  const { alice, sam, oscar } = people;
  const HOUR = 3_600_000;

  // One domain: tick() applies whatever is due, so each test looks only at its own keys in what a
  // tick reports (the lag, a global figure, is tested on a domain of its own below).
  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();
  const state = async (key: string) => (await d.c.intents.get(key)).state;
  const served = async (key: string) => flagIn(d.c, 'web', flagOf(key));

  it('an approved version with a start ahead is scheduled, serves nothing, and starts at that start (once)', async () => {
    const start = at(HOUR);
    await d.c.intents.submit(webIntent('sched-start', { schedule: { start } }), alice);
    expect(await state('sched-start')).toBe('scheduled');
    expect(await served('sched-start')).toBeUndefined();

    d.clock.advance(HOUR - 1);
    expect((await d.c.lifecycle.tick()).started).not.toContain('sched-start');
    expect(await state('sched-start')).toBe('scheduled');

    d.clock.advance(1);
    const t = await d.c.lifecycle.tick();
    expect(t.started).toContain('sched-start');
    expect(t.expired).not.toContain('sched-start');
    expect(await state('sched-start')).toBe('running');
    expect(await served('sched-start')).toMatchObject({ state: 'ENABLED', experiment: { key: 'sched-start', version: 1 } });
    expect((await auditOf(d.c, 'sched-start')).at(-1)).toMatchObject({
      type: 'started',
      actor: 'system:scheduler',
      version: 1,
      data: { from_state: 'scheduled', to_state: 'running', services: ['web'] },
    });
    // Safe to call again: nothing (of any experiment) is due twice.
    expect(await d.c.lifecycle.tick()).toEqual({ started: [], expired: [], advanced: [], blocked: [], lagMs: 0 });
  });

  it('at schedule.end a running experiment expires: completed, flags removed, an `expired` event by the scheduler', async () => {
    const end = at(2 * HOUR);
    await d.c.intents.submit(webIntent('sched-end', { schedule: { end } }), alice);
    expect(await state('sched-end')).toBe('running');
    d.clock.advance(2 * HOUR - 1);
    expect((await d.c.lifecycle.tick()).expired).not.toContain('sched-end');
    d.clock.advance(1);
    expect((await d.c.lifecycle.tick()).expired).toContain('sched-end');
    expect(await state('sched-end')).toBe('completed');
    expect(await served('sched-end')).toBeUndefined();
    expect((await auditOf(d.c, 'sched-end')).at(-1)).toMatchObject({
      type: 'expired',
      actor: 'system:scheduler',
      data: { from_state: 'running', to_state: 'completed', reason: 'schedule.end reached' },
    });
  });

  it('a paused experiment expires too', async () => {
    await d.c.intents.submit(webIntent('paused-end', { schedule: { end: at(HOUR) } }), alice);
    await d.c.lifecycle.act('paused-end', 'pause', 'hold', oscar);
    d.clock.advance(HOUR);
    expect((await d.c.lifecycle.tick()).expired).toContain('paused-end');
    expect(await state('paused-end')).toBe('completed');
  });

  it('a scheduled experiment whose end has also passed by the tick expires without ever starting', async () => {
    await d.c.intents.submit(webIntent('missed', { schedule: { start: at(HOUR), end: at(2 * HOUR) } }), alice);
    d.clock.advance(3 * HOUR);
    const t = await d.c.lifecycle.tick();
    expect(t.started).not.toContain('missed');
    expect(t.expired).toContain('missed');
    expect(await state('missed')).toBe('completed');
    expect((await auditOf(d.c, 'missed')).map((e) => e.type)).toEqual(['submitted', 'decided', 'expired']);
  });

  it('approved with no start, or a start already past: running at once, `started` by the approver', async () => {
    await d.c.intents.submit(criticalIntent('now-start', { schedule: { start: at(-HOUR) } }), alice);
    expect(await state('now-start')).toBe('draft');
    await d.c.intents.approve('now-start', sam);
    expect(await state('now-start')).toBe('running');
    expect((await auditOf(d.c, 'now-start')).at(-1)).toMatchObject({ type: 'started', actor: 'sam', data: { from_state: 'draft', to_state: 'running' } });
    // Its end is the due time: none here, so no tick expires it.
    d.clock.advance(1000 * HOUR);
    expect((await d.c.lifecycle.tick()).expired).not.toContain('now-start');
  });

  it('a start exactly now is not ahead: running at once', async () => {
    await d.c.intents.submit(webIntent('start-now', { schedule: { start: at(0) } }), alice);
    expect(await state('start-now')).toBe('running');
  });

  it('a new version approved while paused stays paused: DISABLED at the new version, no `started`', async () => {
    await d.c.intents.submit(webIntent('kill-holds'), alice);
    await d.c.lifecycle.act('kill-holds', 'pause', 'incident', oscar);
    const events = (await auditOf(d.c, 'kill-holds')).length;
    await d.c.intents.update('kill-holds', webIntent('kill-holds', { exposure: 20 }), alice);
    expect(await d.c.intents.get('kill-holds')).toMatchObject({ state: 'paused', active_version: 2 });
    expect(await served('kill-holds')).toMatchObject({ state: 'DISABLED', experiment: { version: 2 } });
    expect((await auditOf(d.c, 'kill-holds')).slice(events).map((e) => e.type)).toEqual(['submitted', 'decided']);
  });

  it('a new version with a start ahead, approved while paused, stays paused (the kill switch holds past its start); a resume after it runs it', async () => {
    await d.c.intents.submit(webIntent('kill-future'), alice);
    await d.c.lifecycle.act('kill-future', 'pause', 'incident', oscar);
    const start = at(HOUR);
    await d.c.intents.update('kill-future', webIntent('kill-future', { exposure: 20, schedule: { start } }), alice);
    expect(await d.c.intents.get('kill-future')).toMatchObject({ state: 'paused', active_version: 2 });
    expect(await served('kill-future')).toMatchObject({ state: 'DISABLED', experiment: { version: 2 } });
    d.clock.advance(HOUR);
    expect((await d.c.lifecycle.tick()).started).not.toContain('kill-future');
    expect(await state('kill-future')).toBe('paused');
    expect(await served('kill-future')).toMatchObject({ state: 'DISABLED' });
    // A person's resume after the start: running at once.
    await d.c.lifecycle.act('kill-future', 'resume', 'fixed', oscar);
    expect(await served('kill-future')).toMatchObject({ state: 'ENABLED', experiment: { version: 2 } });
  });

  it('a rollback while paused to a version whose start is ahead stays paused', async () => {
    await d.c.intents.submit(webIntent('kill-back', { schedule: { start: at(-HOUR), end: at(100 * HOUR) } }), alice);
    await d.c.intents.update('kill-back', webIntent('kill-back', { exposure: 20 }), alice);
    // v1's start moved ahead of the clock: the clock set back, as an operator restoring a backup would see.
    d.clock.advance(-2 * HOUR);
    await d.c.lifecycle.act('kill-back', 'pause', 'incident', oscar);
    await d.c.lifecycle.act('kill-back', 'rollback', 'v2 misbehaves', oscar);
    expect(await d.c.intents.get('kill-back')).toMatchObject({ state: 'paused', active_version: 1 });
    expect(await served('kill-back')).toMatchObject({ state: 'DISABLED', experiment: { version: 1 } });
    d.clock.advance(2 * HOUR);
    expect((await d.c.lifecycle.tick()).started).not.toContain('kill-back');
    expect(await state('kill-back')).toBe('paused');
  });

  it('resume before the active version\'s start (the clock set back) returns it to scheduled, not running', async () => {
    const start = at(HOUR);
    await d.c.intents.submit(webIntent('early-resume', { schedule: { start } }), alice);
    d.clock.set(start);
    await d.c.lifecycle.tick();
    await d.c.lifecycle.act('early-resume', 'pause', 'hold', oscar);
    d.clock.advance(-1);
    const exp = await d.c.lifecycle.act('early-resume', 'resume', 'go', oscar);
    expect(exp).toMatchObject({ state: 'scheduled', dueAt: new Date(start).toISOString() });
    expect(await served('early-resume')).toBeUndefined();
    expect((await auditOf(d.c, 'early-resume')).at(-1)).toMatchObject({ type: 'resumed', data: { from_state: 'paused', to_state: 'scheduled', reason: 'go' } });
    d.clock.advance(1);
    expect((await d.c.lifecycle.tick()).started).toContain('early-resume');
  });

  it('resume keeps the end: the resumed experiment still expires at schedule.end', async () => {
    const end = at(HOUR);
    await d.c.intents.submit(webIntent('resume-end', { schedule: { end } }), alice);
    await d.c.lifecycle.act('resume-end', 'pause', 'hold', oscar);
    const exp = await d.c.lifecycle.act('resume-end', 'resume', 'go', oscar);
    expect(exp).toMatchObject({ state: 'running', dueAt: new Date(end).toISOString() });
    expect(await served('resume-end')).toMatchObject({ state: 'ENABLED' });
  });

  it('pause, resume and complete are audit events with actor and reason, and complete removes the flags', async () => {
    await d.c.intents.submit(webIntent('steps'), alice);
    await d.c.lifecycle.act('steps', 'pause', 'r1', oscar);
    await d.c.lifecycle.act('steps', 'resume', 'r2', alice);
    await d.c.lifecycle.act('steps', 'complete', 'r3', oscar);
    const tail = (await auditOf(d.c, 'steps')).slice(-3).map((e) => ({ type: e.type, actor: e.actor, reason: e.data['reason'], from: e.data['from_state'], to: e.data['to_state'] }));
    expect(tail).toEqual([
      { type: 'paused', actor: 'oscar', reason: 'r1', from: 'running', to: 'paused' },
      { type: 'resumed', actor: 'alice', reason: 'r2', from: 'paused', to: 'running' },
      { type: 'completed', actor: 'oscar', reason: 'r3', from: 'running', to: 'completed' },
    ]);
    expect(await served('steps')).toBeUndefined();
  });

  it('an action without a reason writes no reason field', async () => {
    await d.c.intents.submit(webIntent('no-reason'), alice);
    await d.c.lifecycle.act('no-reason', 'pause', undefined, oscar);
    expect((await auditOf(d.c, 'no-reason')).at(-1)!.data).not.toHaveProperty('reason');
  });

  it('an owner of another team may not act; an unknown key is 404 intent_not_found', async () => {
    await d.c.intents.submit(webIntent('guarded'), alice);
    await expect(async () => d.c.lifecycle.act('guarded', 'pause', 'x', people.bob)).rejects.toMatchObject({ code: 'forbidden_team', status: 403 });
    await expect(async () => d.c.lifecycle.act('no-such-key', 'pause', 'x', oscar)).rejects.toMatchObject({ code: 'intent_not_found', status: 404 });
    expect(await state('guarded')).toBe('running');
  });
});

describe('scheduling: the lag tick() reports', () => {
  let d: Domain;
  const { alice } = people;
  const HOUR = 3_600_000;
  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  it('reports how late the tick came (lagMs), the largest lag among what was due', async () => {
    await d.c.intents.submit(webIntent('lag-a', { schedule: { start: at(HOUR) } }), alice);
    await d.c.intents.submit(webIntent('lag-b', { schedule: { start: at(HOUR + 2000) } }), alice);
    d.clock.advance(HOUR + 5000);
    const t = await d.c.lifecycle.tick();
    expect([...t.started].sort()).toEqual(['lag-a', 'lag-b']);
    expect(t.lagMs).toBe(5000);
  });

  it('a scheduled experiment whose start and end were both missed lags from its due time, the start', async () => {
    await d.c.intents.submit(webIntent('lag-missed', { schedule: { start: at(HOUR), end: at(2 * HOUR) } }), alice);
    d.clock.advance(3 * HOUR);
    expect(await d.c.lifecycle.tick()).toMatchObject({ started: [], expired: ['lag-missed'], lagMs: 2 * HOUR });
  });
});

describe('scheduling: a due start that would overflow a flags document', () => {
  let d: Domain;
  const { alice, oscar } = people;

  beforeAll(async () => {
    // Room for one flag in a document (one is ~590 bytes, two ~1150).
    d = await openDomain({ storage: { maxDocumentBytes: 900 } });
  });
  afterAll(() => d?.close());

  it('stays scheduled and is reported blocked, then starts once there is room', async () => {
    const start = new Date(d.clock.now().getTime() + 3_600_000).toISOString();
    // Checked at submission against the document as it is then (empty): it fits.
    await d.c.intents.submit(webIntent('big-later', { schedule: { start } }), alice);
    await d.c.intents.submit(webIntent('filler'), alice);
    expect((await d.c.intents.get('filler')).state).toBe('running');
    d.clock.set(start);
    expect(await d.c.lifecycle.tick()).toMatchObject({ started: [], blocked: ['big-later'] });
    expect((await d.c.intents.get('big-later')).state).toBe('scheduled');
    expect(await flagIn(d.c, 'web', flagOf('big-later'))).toBeUndefined();

    await d.c.lifecycle.act('filler', 'complete', 'make room', oscar);
    expect(await d.c.lifecycle.tick()).toMatchObject({ started: ['big-later'], blocked: [] });
    expect((await d.c.intents.get('big-later')).state).toBe('running');
  });

  it('a scheduled version whose flags alone exceed the cap is refused at submission (document_too_large), nothing stored', async () => {
    const start = new Date(d.clock.now().getTime() + 3_600_000).toISOString();
    const huge = simpleIntent('too-big', {
      services: [{ service: 'email-service', flag: 'too_big' }],
      variants: [{ key: 'control', weight: 50, value: 'x'.repeat(1000) }, { key: 'treatment', weight: 50, value: 'y' }],
      schedule: { start },
    });
    const err = await errorOf(() => d.c.intents.submit(huge, alice));
    expect(err).toMatchObject({ code: 'document_too_large' });
    await expect(async () => d.c.intents.get('too-big')).rejects.toMatchObject({ code: 'intent_not_found' });
  });

  it('the kill switch is never refused for size: pause works on a document exactly at the cap', async () => {
    const intent = (value: string) =>
      simpleIntent('at-cap', { services: [{ service: 'search', flag: 'c' }], variants: [{ key: 'control', weight: 50, value }, { key: 'treatment', weight: 50, value: 'b' }] });
    await d.c.intents.submit(intent('a'), alice);
    const bytes = async () => Buffer.byteLength(d.c.flags.current('search').json, 'utf8');
    // Pad the control value so the next version's document is exactly at the cap.
    await d.c.intents.update('at-cap', intent('a'.repeat(1 + 900 - (await bytes()))), alice);
    expect(await bytes()).toBe(900);
    // DISABLED is one byte longer than ENABLED: 901 bytes, over the cap, and still allowed.
    expect(await d.c.lifecycle.act('at-cap', 'pause', 'incident', oscar)).toMatchObject({ state: 'paused' });
    expect(await flagIn(d.c, 'search', 'c')).toMatchObject({ state: 'DISABLED' });
    expect(await bytes()).toBe(901);
    // Resuming is no kill switch: ENABLED again shrinks the document, so it is allowed too.
    await d.c.lifecycle.act('at-cap', 'resume', 'over', oscar);
    expect(await bytes()).toBe(900);
  });
});
