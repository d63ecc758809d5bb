import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditOf, errorOf, flagIn, flagOf, ingestErrorRates, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';
import { simpleIntent } from '../../helpers/harness.js';
import { guardedIntent } from '../../helpers/rollout-telemetry.js';

/**
 * Guards of src/intents/lifecycle.ts that the state machine table does not reach: when an action
 * reads the rollout analysis (Lifecycle.actionFacts), a hold that ends exactly now, a storage fault
 * inside the scheduler's unit, and a flags document at its cap when a stage would grow it.
 */

/** A rollout on `recommendations` (experimental tier: approved at once), guarded on error_rate unless told otherwise. */
const rolloutIntent = (key: string, rollout: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
  guardedIntent(key, { guardrails: [{ metric: 'error_rate', max_regression: 0.1 }], ...rollout }, overrides);

describe('what an action asks of the rollout analysis', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** How many times `act` reads the analysis (a telemetry read) to decide. */
  const analysisReadsOf = async (fn: () => Promise<unknown>) => {
    const status = vi.spyOn(d.c.analysis, 'status');
    await fn();
    const n = status.mock.calls.length;
    status.mockRestore();
    return n;
  };

  it('reads it only when an advance could be next: running, before the last stage, the hold over', async () => {
    // Running, stage 0 of 2, no hold: an advance could be next, so the action's check reads it (once).
    await d.c.intents.submit(rolloutIntent('ready', { stages: [{ exposure: 10 }, { exposure: 20 }] }), alice);
    expect(await analysisReadsOf(() => d.c.lifecycle.act('ready', 'pause', 'p', oscar))).toBe(1);
    // Paused, hold over, before the last stage: not running, so no advance; resuming reads nothing.
    expect(await analysisReadsOf(() => d.c.lifecycle.act('ready', 'resume', 'r', oscar))).toBe(0);

    // Running at its last stage (no hold): nothing to advance to.
    await d.c.intents.submit(rolloutIntent('at-last', { stages: [{ exposure: 10 }, { exposure: 20 }] }), alice);
    await d.c.lifecycle.act('at-last', 'advance', 'up', oscar);
    expect((await d.c.intents.get('at-last')).rollout).toMatchObject({ stage: 1, status: 'complete' });
    expect(await analysisReadsOf(() => d.c.lifecycle.act('at-last', 'pause', 'p', oscar))).toBe(0);

    // Running, stage 0 of 2, its hold not over.
    await d.c.intents.submit(rolloutIntent('held', { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 20 }] }), alice);
    expect(await analysisReadsOf(() => d.c.lifecycle.act('held', 'pause', 'p', oscar))).toBe(0);
  });

  it('a hold that ends exactly now is over: a regressed analysis refuses the advance then', async () => {
    const key = 'edge-hold';
    await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50, hold: 'PT1H' }, { exposure: 100 }] }), alice);
    await ingestErrorRates(d, key, { units: 8000, base: 0.2, ratio: 4, prefix: 'e', seed: 17 });
    expect(await d.c.analysis.status(key)).toBe('regressed');
    d.clock.advance(HOUR);
    const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'hold over', oscar));
    expect(err).toMatchObject({ code: 'guardrail_regressed', details: { stage: 0, analysis: 'regressed' } });
    expect((await d.c.intents.get(key)).rollout).toMatchObject({ stage: 0, status: 'blocked' });
  });

  it('a scheduled rollout (no progress yet) lists its actions without reading the analysis', async () => {
    const start = new Date(d.clock.now().getTime() + HOUR).toISOString();
    await d.c.intents.submit(rolloutIntent('later-roll', { stages: [{ exposure: 10 }, { exposure: 20 }] }, { schedule: { start } }), alice);
    const status = vi.spyOn(d.c.analysis, 'status');
    const detail = await d.c.intents.get('later-roll', alice);
    expect(detail).toMatchObject({ state: 'scheduled', rollout: { stage: 0, hold_until: null, status: 'holding' } });
    expect(detail.allowed_actions).not.toContain('advance');
    expect(detail.allowed_actions).toEqual(expect.arrayContaining(['rollback', 'complete']));
    // Only the rollout view of the detail read it; the action rule did not.
    expect(status.mock.calls.length).toBe(1);
  });
});

describe('a storage fault inside the scheduler\'s unit', () => {
  let d: Domain;
  const { alice } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('fails the tick (it is not a size refusal, so nothing is reported blocked); the start is applied by the next tick', async () => {
    const start = new Date(d.clock.now().getTime() + HOUR).toISOString();
    await d.c.intents.submit(webIntent('faulted-start', { schedule: { start } }), alice);
    d.clock.set(start);
    // The unit re-reads the experiment through the writer's store: that read fails once.
    vi.spyOn(d.c.sqlite.writer.intents, 'getExperiment').mockRejectedValueOnce(new Error('disk I/O error'));
    await expect(d.c.lifecycle.tick()).rejects.toThrow('disk I/O error');
    expect((await d.c.intents.get('faulted-start')).state).toBe('scheduled');
    expect(await d.c.lifecycle.tick()).toMatchObject({ started: ['faulted-start'], blocked: [] });
  });

  it('fails the tick in an automatic advance too, and the advance is made by the next tick', async () => {
    const key = 'faulted-advance';
    await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }], auto_advance: true }), alice);
    await ingestErrorRates(d, key, { units: 6000, base: 0.05, ratio: 1, prefix: 'f', seed: 17 });
    expect(await d.c.analysis.status(key)).toBe('healthy');
    // Nothing else is due: the first read of the tick's units is the advance's.
    vi.spyOn(d.c.sqlite.writer.intents, 'getExperiment').mockRejectedValueOnce(new Error('disk I/O error'));
    await expect(d.c.lifecycle.tick()).rejects.toThrow('disk I/O error');
    expect((await d.c.intents.get(key)).rollout).toMatchObject({ stage: 0 });
    expect(await d.c.lifecycle.tick()).toMatchObject({ advanced: [key], blocked: [] });
  });
});

describe('a stage that would push a flags document past its cap', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const CAP = 2000;

  beforeAll(async () => {
    d = await openDomain({ storage: { maxDocumentBytes: CAP } });
  });
  afterAll(() => d?.close());

  const bytes = () => Buffer.byteLength(d.c.flags.current('recommendations').json, 'utf8');

  it('is refused (document_too_large) by hand and blocked in the scheduler, nothing changed; it goes through once there is room', async () => {
    const key = 'grows';
    // 99 % → 100 %: the served slice's end goes from 9900 to 10000 buckets, one byte more.
    await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 99 }, { exposure: 100 }], auto_advance: true }), alice);
    await ingestErrorRates(d, key, { units: 3000, base: 0.05, ratio: 1, prefix: 'g', seed: 17 });
    expect(await d.c.analysis.status(key)).toBe('healthy');
    // Another experiment fills the document exactly to the cap.
    const filler = (value: string) =>
      simpleIntent('filler', { services: [{ service: 'recommendations', flag: 'filler' }], variants: [{ key: 'control', weight: 50, value }, { key: 'treatment', weight: 50, value: 'b' }] });
    await d.c.intents.submit(filler('a'), alice);
    await d.c.intents.update('filler', filler('a'.repeat(1 + CAP - bytes())), alice);
    expect(bytes()).toBe(CAP);
    const docBefore = d.c.flags.current('recommendations').version;

    const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'by hand', oscar));
    expect(err).toMatchObject({ code: 'document_too_large', details: { service: 'recommendations', limit: CAP, bytes: CAP + 1 } });
    expect(await d.c.lifecycle.tick()).toMatchObject({ advanced: [], blocked: [key] });
    expect((await d.c.intents.get(key)).rollout).toMatchObject({ stage: 0, exposure: 99 });
    expect(d.c.flags.current('recommendations').version).toBe(docBefore);
    expect((await auditOf(d.c, key)).map((e) => e.type)).not.toContain('advanced');

    await d.c.lifecycle.act('filler', 'complete', 'make room', oscar);
    expect(await d.c.lifecycle.tick()).toMatchObject({ advanced: [key], blocked: [] });
    expect((await flagIn(d.c, 'recommendations', flagOf(key)))!['allocation'].exposure).toMatchObject({ start: 0, end: 10000 });
  });
});

describe('the size check of a ship version counts the document as it would be shipped', () => {
  let d: Domain;
  const { alice, oscar, sam } = people;
  const CAP = 1500;

  beforeAll(async () => {
    d = await openDomain({ storage: { maxDocumentBytes: CAP } });
  });
  afterAll(() => d?.close());

  const bytes = (service: string) => Buffer.byteLength(d.c.flags.current(service).json, 'utf8');

  it('a ship that makes the default a longer-named variant is refused at submission at the cap (document_too_large), nothing stored', async () => {
    // On a critical service (one sre approval), so the ship would otherwise be stored to wait for approval.
    const key = 'long-winner';
    const intent = (value: string) =>
      simpleIntent(key, {
        services: [{ service: 'checkout-api', flag: flagOf(key) }],
        exposure: 1,
        variants: [
          { key: 'a', weight: 50, value },
          { key: 'a-variant-with-a-long-name', weight: 50, value: 'b' },
        ],
      });
    await d.c.intents.submit(intent('x'), alice);
    await d.c.intents.approve(key, sam);
    await d.c.intents.update(key, intent('x'.repeat(1 + CAP - bytes('checkout-api'))), alice);
    await d.c.intents.approve(key, sam);
    expect(bytes('checkout-api')).toBe(CAP);
    // Shipped, the default variant's name is 25 bytes longer and the served slice's end 2 digits shorter.
    const err = await errorOf(() => d.c.intents.ship(key, 'a-variant-with-a-long-name', 'it wins', alice));
    expect(err).toMatchObject({ code: 'document_too_large', details: { service: 'checkout-api', bytes: CAP + 23, limit: CAP } });
    expect(await d.c.intents.get(key)).toMatchObject({ state: 'running', version: 2, active_version: 2, status: 'approved' });
  });

  it('a layered experiment ships: sized without a slice (a ship holds no layer room), then served to every unit', async () => {
    const key = 'layered-ship';
    await d.c.intents.submit(simpleIntent(key, { services: [{ service: 'search', flag: flagOf(key) }], layer: 'l-ship', exposure: 30 }), alice);
    expect(await d.c.intents.ship(key, 'treatment', 'it wins', oscar)).toMatchObject({ status: 'approved', state: 'shipped' });
    const f = (await flagIn(d.c, 'search', flagOf(key)))!;
    expect(f).toMatchObject({ default_variant: 'treatment', experiment: { version: 2 } });
    expect(f['allocation'].exposure.end - f['allocation'].exposure.start).toBe(0);
  });
});

describe('a version approved while paused', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  it('keeps its own schedule.end: still paused, it expires then', async () => {
    await d.c.intents.submit(webIntent('paused-new-end'), alice);
    await d.c.lifecycle.act('paused-new-end', 'pause', 'incident', oscar);
    const end = new Date(d.clock.now().getTime() + HOUR).toISOString();
    await d.c.intents.update('paused-new-end', webIntent('paused-new-end', { exposure: 20, schedule: { end } }), alice);
    expect(await d.c.intents.get('paused-new-end')).toMatchObject({ state: 'paused', active_version: 2 });
    // No audit event of its own (no transition): the change feed names the state it is served in.
    const causes = (await d.c.flags.events(0, 'web', 100_000)).filter((e) => e.cause.experiment === 'paused-new-end').map((e) => e.cause);
    expect(causes.map((c) => [c.type, c.experiment_version, c.actor])).toEqual([
      ['started', 1, 'alice'],
      ['paused', 1, 'oscar'],
      ['paused', 2, 'alice'],
    ]);
    d.clock.set(end);
    expect(await d.c.lifecycle.tick()).toMatchObject({ expired: ['paused-new-end'], lagMs: 0 });
    expect(await d.c.intents.get('paused-new-end')).toMatchObject({ state: 'completed', active_version: 2 });
  });
});

describe('reserveSlice', () => {
  let d: Domain;
  const { alice } = people;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  it('reserves nothing for an intent without a layer, and the first fit in its layer for one with a layer', async () => {
    await d.c.intents.submit(webIntent('no-layer', { exposure: 30 }), alice);
    await d.c.intents.submit(webIntent('in-layer', { layer: 'l-reserve', exposure: 30 }), alice);
    const plain = (await d.c.intents.get('no-layer')).intent;
    const layered = (await d.c.intents.get('in-layer')).intent;
    // 'in-layer' holds [0, 3000) of l-reserve; another key's 30 % goes after it.
    const other = { ...layered, key: 'next-in-layer' };
    expect(await d.c.lifecycle.transaction((u) => d.c.lifecycle.reserveSlice(u, plain))).toBeNull();
    expect(await d.c.lifecycle.transaction((u) => d.c.lifecycle.reserveSlice(u, other))).toEqual({ start: 3000, end: 6000 });
  });
});
