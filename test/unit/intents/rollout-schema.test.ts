import { describe, expect, it } from 'vitest';
import { holdMs, IntentSchema, MAX_HOLD_MS } from '../../../src/intents/intent-schema.js';
import { zodFieldErrors } from '../../../src/intents/validation.js';

/** SPEC §10's `rollout` field: its validation, without a server. */
const intent = (rollout: unknown, exposure = 4.5) => ({
  key: 'ramp',
  owner: 'growth',
  services: [{ service: 'web', flag: 'ramp_flag' }],
  variants: [
    { key: 'control', weight: 50, value: false },
    { key: 'treatment', weight: 50, value: true },
  ],
  exposure,
  rollout,
});

const errors = (rollout: unknown, exposure?: number) => {
  const r = IntentSchema.safeParse(intent(rollout, exposure));
  return r.success ? [] : zodFieldErrors(r.error).map((e) => e.path);
};

describe('rollout', () => {
  it('takes the SPEC example and fills the defaults', () => {
    const r = IntentSchema.parse(
      intent({
        stages: [{ exposure: 1, hold: 'PT1H' }, { exposure: 2.5, hold: 'PT12H' }, { exposure: 4.5 }],
        guardrails: [{ metric: 'error_rate', max_regression: 0.1 }, { metric: 'latency_ms' }],
      }),
    );
    expect(r.rollout).toEqual({
      stages: [
        { exposure: 1, hold: 'PT1H' },
        { exposure: 2.5, hold: 'PT12H' },
        { exposure: 4.5, hold: 'PT0S' },
      ],
      guardrails: [
        { metric: 'error_rate', max_regression: 0.1 },
        { metric: 'latency_ms', max_regression: 0 },
      ],
      auto_advance: false,
    });
    expect(IntentSchema.parse(intent(undefined)).rollout).toBeUndefined();
  });

  it.each([
    ['no stages', { stages: [] }, ['rollout.stages']],
    ['eleven stages', { stages: Array.from({ length: 11 }, (_, i) => ({ exposure: i + 1 })) }, ['rollout.stages']],
    ['exposures not increasing', { stages: [{ exposure: 2 }, { exposure: 2 }, { exposure: 4.5 }] }, ['rollout.stages.1.exposure']],
    ['last stage not the intent exposure', { stages: [{ exposure: 1 }, { exposure: 4 }] }, ['rollout.stages.1.exposure']],
    ['three decimals', { stages: [{ exposure: 1.001 }, { exposure: 4.5 }] }, ['rollout.stages.0.exposure']],
    ['zero exposure', { stages: [{ exposure: 0 }, { exposure: 4.5 }] }, ['rollout.stages.0.exposure']],
    ['a bad hold', { stages: [{ exposure: 4.5, hold: '1 hour' }] }, ['rollout.stages.0.hold']],
    ['a hold in months', { stages: [{ exposure: 4.5, hold: 'P1M' }] }, ['rollout.stages.0.hold']],
    ['a hold over 90 days', { stages: [{ exposure: 4.5, hold: 'P91D' }] }, ['rollout.stages.0.hold']],
    ['a duplicate guardrail', { stages: [{ exposure: 4.5 }], guardrails: [{ metric: 'error_rate' }, { metric: 'error_rate' }] }, ['rollout.guardrails.1.metric']],
    ['a negative max_regression', { stages: [{ exposure: 4.5 }], guardrails: [{ metric: 'error_rate', max_regression: -0.1 }] }, ['rollout.guardrails.0.max_regression']],
    ['eleven guardrails', { stages: [{ exposure: 4.5 }], guardrails: Array.from({ length: 11 }, (_, i) => ({ metric: `m${i}` })) }, ['rollout.guardrails']],
    ['a control character in a metric', { stages: [{ exposure: 4.5 }], guardrails: [{ metric: 'error\u0007rate' }] }, ['rollout.guardrails.0.metric']],
    ['an unknown field', { stages: [{ exposure: 4.5 }], auto_advnce: true }, ['rollout.auto_advnce']],
    ['an unknown stage field', { stages: [{ exposure: 4.5, hould: 'PT1H' }] }, ['rollout.stages.0.hould']],
    ['auto_advance not a boolean', { stages: [{ exposure: 4.5 }], auto_advance: 'yes' }, ['rollout.auto_advance']],
  ])('refuses %s', (_name, rollout, paths) => {
    expect(errors(rollout)).toEqual(paths);
  });

  it('reads holds in weeks, days, hours, minutes and seconds', () => {
    expect(holdMs('PT0S')).toBe(0);
    expect(holdMs('PT30M')).toBe(30 * 60_000);
    expect(holdMs('P1DT2H')).toBe(26 * 3600_000);
    expect(holdMs('P2W')).toBe(14 * 24 * 3600_000);
    expect(holdMs('PT1.5S')).toBe(1500);
    expect(holdMs('P90D')).toBe(MAX_HOLD_MS);
    for (const bad of ['', 'P', 'PT', '-PT1H', 'P1Y', 'PT1H ', 'T1H', 'P91D']) expect(typeof holdMs(bad), bad).toBe('string');
  });
});
