import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFlag } from '../../../src/evaluation/index.js';
import type { FlagState } from '../../../src/evaluation/types.js';
import type { TelemetryEvent } from '../../../src/telemetry/telemetry-service.js';
import { auditOf, errorOf, flagIn, flagOf, openDomain, people, refusalOf, webIntent, type Domain } from '../../helpers/domain.js';
import { simpleIntent } from '../../helpers/harness.js';
import { prng } from '../../helpers/prng.js';

/**
 * Staged rollouts and ship (SPEC §10 "Advance", "Ship", §10.2 automatic action) on the domain: the
 * lifecycle, the real telemetry analysis fed through `c.telemetry.ingest`, and the clock.
 */
describe('rollouts: advance, auto advance, guardrails, ship', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  /** A rollout on `recommendations` (experimental tier: no approval owed). */
  const rolloutIntent = (key: string, rollout: Record<string, unknown>, overrides: Record<string, unknown> = {}) => {
    const stages = rollout['stages'] as { exposure: number }[];
    return simpleIntent(key, {
      services: [{ service: 'recommendations', flag: flagOf(key) }],
      exposure: stages[stages.length - 1]!.exposure,
      rollout: { guardrails: [{ metric: 'error_rate', max_regression: 0.1 }], ...rollout },
      ...overrides,
    });
  };
  const served = async (key: string) => {
    const f = await flagIn(d.c, 'recommendations', flagOf(key));
    return f && ([f.allocation.exposure.start, f.allocation.exposure.end] as [number, number]);
  };
  const view = async (key: string) => (await d.c.intents.get(key)).rollout;

  /**
   * Exposures and error_rate events for `units` candidate units, placed where SPEC §6 puts them in the
   * document served now; control errs at `base` (5 %), treatment `ratio` times as often; `keepTreatment` drops the other treatment units' exposures.
   */
  const telemetry = async (key: string, opts: { units: number; ratio: number; prefix: string; base?: number; keepTreatment?: number }) => {
    const flag = flagOf(key);
    const doc = JSON.parse(d.c.flags.current('recommendations').json) as { flags: Record<string, FlagState> };
    const compiled = compileFlag(flag, doc.flags[flag]!);
    const rng = prng(11);
    const events: TelemetryEvent[] = [];
    for (let i = 0; i < opts.units; i++) {
      const unit = `${opts.prefix}-${i}`;
      const variant = compiled.place(unit);
      if (variant === undefined) continue;
      if (variant === 'treatment' && opts.keepTreatment !== undefined && rng() >= opts.keepTreatment) continue;
      events.push({ type: 'exposure', flag, unit, variant });
      const base = opts.base ?? 0.05;
      const p = variant === 'control' ? base : base * opts.ratio;
      events.push({ type: 'metric', metric: 'error_rate', unit, value: rng() < p ? 1 : 0 });
    }
    for (let i = 0; i < events.length; i += 5000) {
      const r = await d.c.telemetry.ingest('recommendations', events.slice(i, i + 5000));
      expect(r).toMatchObject({ rejected: [], assignment_mismatches: 0 });
    }
  };

  describe('advance', () => {
    it('moves stage by stage: the served slice grows from one start, a new document version each, an `advanced` event', async () => {
      const key = 'ramp';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 10 }, { exposure: 30 }, { exposure: 50 }] }), alice);
      expect(await served(key)).toEqual([0, 1000]);
      expect(await view(key)).toMatchObject({ stage: 0, stages: 3, exposure: 10 });
      const docBefore = d.c.flags.current('recommendations').version;

      await d.c.lifecycle.act(key, 'advance', 'first step', alice);
      expect(await served(key)).toEqual([0, 3000]);
      expect(d.c.flags.current('recommendations').version).toBe(docBefore + 1);
      expect((await auditOf(d.c, key)).at(-1)).toMatchObject({
        type: 'advanced',
        actor: 'alice',
        data: { from_state: 'running', to_state: 'running', reason: 'first step', from_stage: 0, to_stage: 1, from_exposure: 10, to_exposure: 30 },
      });
      await d.c.lifecycle.act(key, 'advance', undefined, oscar);
      expect(await served(key)).toEqual([0, 5000]);
      expect(await view(key)).toMatchObject({ stage: 2, stages: 3, exposure: 50, status: 'complete' });

      const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'more', oscar));
      expect(err).toMatchObject({ code: 'invalid_transition', status: 409 });
      expect(err.message).toContain('last stage (2, exposure 50%)');
    });

    it('409 hold_not_elapsed before hold_until (with the stage and the time); allowed from hold_until on', async () => {
      const key = 'holding';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 20 }] }), alice);
      const until = new Date(d.clock.now().getTime() + HOUR).toISOString();
      expect(await view(key)).toMatchObject({ stage: 0, hold_until: until, status: 'holding' });
      d.clock.advance(HOUR - 1);
      const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'too soon', alice));
      expect(err).toMatchObject({ code: 'hold_not_elapsed', status: 409, details: { stage: 0, hold_until: until } });
      expect(await served(key)).toEqual([0, 1000]);
      d.clock.advance(1);
      expect(await view(key)).toMatchObject({ status: 'ready' });
      await d.c.lifecycle.act(key, 'advance', 'now', alice);
      expect(await served(key)).toEqual([0, 2000]);
    });

    it('409 invalid_transition for a version without a rollout, naming why', async () => {
      await d.c.intents.submit(webIntent('plain'), alice);
      const err = await errorOf(() => d.c.lifecycle.act('plain', 'advance', 'x', oscar));
      expect(err).toMatchObject({ code: 'invalid_transition', details: { state: 'running', action: 'advance' } });
      expect(err.message).toContain('version 1 has no rollout');
    });

    it('409 guardrail_regressed while the analysis is regressed; nothing moves', async () => {
      const key = 'worse';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }] }), alice);
      await telemetry(key, { units: 8000, base: 0.2, ratio: 4, prefix: 'w' });
      expect(await d.c.analysis.analyse(key)).toMatchObject({ status: 'regressed' });
      const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'push on', oscar));
      expect(err).toMatchObject({ code: 'guardrail_regressed', status: 409, details: { stage: 0, analysis: 'regressed' } });
      expect(err.message).toContain('regressed');
      expect(await served(key)).toEqual([0, 5000]);
      expect(await view(key)).toMatchObject({ stage: 0, status: 'blocked' });
    });

    it('409 guardrail_regressed on a sample-ratio mismatch too, and says so', async () => {
      const key = 'lopsided';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }] }), alice);
      await telemetry(key, { units: 6000, ratio: 1, prefix: 's', keepTreatment: 0.5 });
      expect(await d.c.analysis.status(key)).toBe('srm');
      const err = await errorOf(() => d.c.lifecycle.act(key, 'advance', 'push on', oscar));
      expect(err).toMatchObject({ code: 'guardrail_regressed', details: { analysis: 'srm' } });
      expect(err.message).toContain('sample-ratio mismatch');
    });
  });

  describe('auto advance (tick)', () => {
    it('advances once the hold is over and the analysis is healthy, as the scheduler; never past the last stage', async () => {
      const key = 'auto';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50, hold: 'PT1H' }, { exposure: 100 }], auto_advance: true }), alice);
      // Hold not over.
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      d.clock.advance(HOUR);
      // Hold over, analysis still collecting.
      expect(await d.c.analysis.status(key)).toBe('collecting');
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      expect(await served(key)).toEqual([0, 5000]);
      await telemetry(key, { units: 6000, ratio: 1, prefix: 'a' });
      expect(await d.c.analysis.status(key)).toBe('healthy');
      expect((await d.c.lifecycle.tick()).advanced).toEqual([key]);
      expect(await served(key)).toEqual([0, 10000]);
      expect((await auditOf(d.c, key)).at(-1)).toMatchObject({
        type: 'advanced',
        actor: 'system:scheduler',
        data: { reason: 'auto_advance: hold over, analysis healthy', from_stage: 0, to_stage: 1, from_exposure: 50, to_exposure: 100 },
      });
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      expect(await view(key)).toMatchObject({ stage: 1, status: 'complete' });
    });

    it('a paused rollout is not advanced; once resumed it is', async () => {
      const key = 'auto-paused';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }], auto_advance: true }), alice);
      await telemetry(key, { units: 6000, ratio: 1, prefix: 'p' });
      await d.c.lifecycle.act(key, 'pause', 'hold on', oscar);
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      expect(await view(key)).toMatchObject({ stage: 0 });
      await d.c.lifecycle.act(key, 'resume', 'go', oscar);
      expect((await d.c.lifecycle.tick()).advanced).toContain(key);
      expect(await view(key)).toMatchObject({ stage: 1 });
    });

    it('without auto_advance the tick never advances, however healthy', async () => {
      const key = 'manual';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }] }), alice);
      await telemetry(key, { units: 6000, ratio: 1, prefix: 'm' });
      expect(await d.c.analysis.status(key)).toBe('healthy');
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      expect(await view(key)).toMatchObject({ stage: 0, status: 'ready' });
    });
  });

  describe('guardrail pause (SPEC §10.2)', () => {
    it('the guardrail pauses with the analysis as detail; the rollout is halted until a person resumes', async () => {
      const key = 'tripped';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 50 }, { exposure: 100 }] }), alice);
      await telemetry(key, { units: 8000, base: 0.2, ratio: 4, prefix: 't' });
      expect((await d.c.guardrails.tick()).tripped).toContain(key);
      expect(await view(key)).toMatchObject({ status: 'halted' });
      const paused = (await auditOf(d.c, key)).find((e) => e.type === 'paused')!;
      expect(paused).toMatchObject({ actor: 'guardrail', data: { detail: { status: 'regressed', key } } });
      const feed = (await d.c.flags.events(0, 'recommendations', 1000)) as unknown as { cause: Record<string, unknown> }[];
      expect(feed.at(-1)!.cause).toMatchObject({ type: 'paused', actor: 'guardrail', detail: { status: 'regressed' } });
      await d.c.lifecycle.act(key, 'resume', 'looked at it', oscar);
      expect(await view(key)).toMatchObject({ status: 'blocked' });
    });
  });

  describe('ship', () => {
    it('a ship waiting for approval leaves the running version serving; approved, every unit gets the variant', async () => {
      const key = 'ship-crit';
      await d.c.intents.submit(
        simpleIntent(key, { services: [{ service: 'checkout-api', flag: flagOf(key) }], exposure: 2 }),
        alice,
      );
      await d.c.intents.approve(key, people.sam);
      const before = await flagIn(d.c, 'checkout-api', flagOf(key));
      const r = await d.c.intents.ship(key, 'treatment', 'it wins', alice);
      expect(r).toMatchObject({ intent: { version: 2 }, status: 'pending_approval', state: 'running' });
      expect(await flagIn(d.c, 'checkout-api', flagOf(key))).toEqual(before);
      await d.c.intents.approve(key, people.sam);
      expect(await d.c.intents.get(key)).toMatchObject({ state: 'shipped', active_version: 2, ship: 'treatment' });
      const f = (await flagIn(d.c, 'checkout-api', flagOf(key)))!;
      expect(f).toMatchObject({ state: 'ENABLED', default_variant: 'treatment', experiment: { version: 2 } });
      expect(f['allocation'].exposure.end - f['allocation'].exposure.start).toBe(0);
      expect((await auditOf(d.c, key)).at(-1)).toMatchObject({ type: 'shipped', actor: 'sam', data: { from_state: 'running', to_state: 'shipped', variant: 'treatment' } });
    });

    it('a shipped rollout stops its stages: no advance, no auto advance; rollback resumes the stage reached', async () => {
      const key = 'ship-roll';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 10 }, { exposure: 20 }, { exposure: 30 }], auto_advance: true }), alice);
      await d.c.lifecycle.act(key, 'advance', 'step', alice);
      await d.c.intents.ship(key, 'control', 'neither wins', alice);
      expect((await d.c.intents.get(key)).state).toBe('shipped');
      expect(await refusalOf(() => d.c.lifecycle.act(key, 'advance', 'x', alice))).toBe('invalid_transition');
      expect((await d.c.lifecycle.tick()).advanced).not.toContain(key);
      await d.c.lifecycle.act(key, 'rollback', 'not yet', oscar);
      expect(await d.c.intents.get(key)).toMatchObject({ state: 'running', active_version: 1 });
      expect(await served(key)).toEqual([0, 2000]);
      expect(await view(key)).toMatchObject({ stage: 1 });
    });

    it('an unknown variant is 400 validation_failed naming the variants; nothing stored', async () => {
      await d.c.intents.submit(webIntent('ship-bad'), alice);
      const err = await errorOf(() => d.c.intents.ship('ship-bad', 'nope', 'x', alice));
      expect(err).toMatchObject({ code: 'validation_failed', status: 400 });
      expect((await d.c.intents.get('ship-bad')).version).toBe(1);
    });
  });

  describe('a new version of a running rollout', () => {
    it('keeps the stage reached, never past its own last stage', async () => {
      const key = 'reversion';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 10 }, { exposure: 20 }, { exposure: 30 }] }), alice);
      await d.c.lifecycle.act(key, 'advance', 'a', alice);
      await d.c.lifecycle.act(key, 'advance', 'b', alice);
      expect(await served(key)).toEqual([0, 3000]);
      await d.c.intents.update(key, rolloutIntent(key, { stages: [{ exposure: 5 }, { exposure: 15 }] }), alice);
      expect(await view(key)).toMatchObject({ stage: 1, stages: 2, exposure: 15, status: 'complete' });
      expect(await served(key)).toEqual([0, 1500]);
      await d.c.intents.update(key, rolloutIntent(key, { stages: [{ exposure: 5 }, { exposure: 15 }, { exposure: 25 }], auto_advance: true }), alice);
      expect(await view(key)).toMatchObject({ stage: 1, stages: 3, exposure: 15 });
    });

    it('a version without a rollout serves its whole exposure; the detail shows no rollout', async () => {
      const key = 'unroll';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 10 }, { exposure: 40 }] }), alice);
      await d.c.intents.update(key, simpleIntent(key, { services: [{ service: 'recommendations', flag: flagOf(key) }], exposure: 40 }), alice);
      expect(await served(key)).toEqual([0, 4000]);
      expect(await view(key)).toBeUndefined();
    });

    it('while a new version waits, the rollout view is the active version\'s', async () => {
      const key = 'waiting';
      await d.c.intents.submit(rolloutIntent(key, { stages: [{ exposure: 1 }, { exposure: 2 }] }, { services: [{ service: 'checkout-api', flag: flagOf(key) }] }), alice);
      await d.c.intents.approve(key, people.sam);
      await d.c.intents.update(key, simpleIntent(key, { services: [{ service: 'checkout-api', flag: flagOf(key) }], exposure: 2 }), alice);
      expect(await d.c.intents.get(key)).toMatchObject({ version: 2, status: 'pending_approval', active_version: 1, rollout: { stage: 0, stages: 2 } });
    });
  });
});
