import { describe, it, expect } from 'vitest';
import { compileFlag, type FlagState } from '../../../src/evaluation/index.js';

/**
 * The bucketing's distribution over many units. Kept out of the mutation group (stryker.modules.mjs):
 * each test evaluates 100,000 units, which under Stryker's instrumentation costs seconds per mutant,
 * and the concrete tests of evaluate/bucket/murmur3 pin the same code exactly.
 */

/** The SPEC §5 example flag, with its 4.5 % slice of layer "checkout". */
function flag(overrides: Partial<FlagState> = {}, allocation: Partial<FlagState['allocation']> = {}): FlagState {
  return {
    state: 'ENABLED',
    default_variant: 'control',
    variants: { control: false, treatment: true },
    audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
    allocation: {
      unit: 'user_id',
      exposure: { seed: 'layer/checkout', start: 0, end: 450, total: 10000 },
      variants: { seed: 'exp/checkout-redesign', buckets: [['control', 50], ['treatment', 50]] },
      ...allocation,
    },
    experiment: { key: 'checkout-redesign', version: 1 },
    provenance: { decision_id: 'd_01J', policy_revision: 'sha256:abc', actor: 'alice', at: '2026-12-01T00:00:00Z' },
    ...overrides,
  };
}

/** A flag that exposes everyone, to test the variant split alone. */
function everyone(buckets: [string, number][], variants: Record<string, unknown>): FlagState {
  return flag(
    { audience: [], variants, default_variant: buckets[0]![0] },
    {
      exposure: { seed: 'exp/split/exposure', start: 0, end: 10000, total: 10000 },
      variants: { seed: 'exp/split', buckets },
    },
  );
}

describe('statistics over 100,000 synthetic users', () => {
  const users = Array.from({ length: 100_000 }, (_, i) => ({ user_id: `user-${i}` }));

  /** Pearson's chi-square statistic of observed counts against expected shares. */
  function chiSquare(observed: number[], shares: number[]): number {
    const n = observed.reduce((a, b) => a + b, 0);
    return observed.reduce((sum, o, i) => sum + (o - n * shares[i]!) ** 2 / (n * shares[i]!), 0);
  }

  it('a 45 % slice exposes 45 ± 0.5 % of units, split 50/50 between arms', () => {
    const f = compileFlag('f', flag({ audience: [] }, { exposure: { seed: 'layer/stats', start: 1000, end: 5500, total: 10000 } }));
    const counts = { control: 0, treatment: 0 };
    let exposed = 0;
    for (const u of users) {
      const res = f.evaluate(u);
      if (res.reason === 'SPLIT') {
        exposed++;
        counts[res.variant as keyof typeof counts]++;
      } else {
        expect(res.reason).toBe('DEFAULT');
      }
    }
    expect(Math.abs(exposed / users.length - 0.45)).toBeLessThanOrEqual(0.005);
    // Critical value of chi-square with 1 degree of freedom at p = 0.001.
    expect(chiSquare([counts.control, counts.treatment], [0.5, 0.5])).toBeLessThan(10.828);
  });

  it('uneven weights are honoured (20/30/50 with a zero-weight arm)', () => {
    const f = compileFlag('f', everyone([['a', 20], ['z', 0], ['b', 30], ['c', 50]], { a: 1, z: 0, b: 2, c: 3 }));
    const counts: Record<string, number> = { a: 0, z: 0, b: 0, c: 0 };
    for (const u of users) counts[f.evaluate(u).variant!]!++;
    expect(counts['z']).toBe(0);
    // Critical value of chi-square with 2 degrees of freedom at p = 0.001.
    expect(chiSquare([counts['a']!, counts['b']!, counts['c']!], [0.2, 0.3, 0.5])).toBeLessThan(13.816);
  });

  it('experiments sharing a layer never expose the same unit', () => {
    const first = compileFlag('a', flag({ audience: [] }, { exposure: { seed: 'layer/checkout', start: 0, end: 4500, total: 10000 } }));
    const second = compileFlag('b', flag({ audience: [] }, { exposure: { seed: 'layer/checkout', start: 4500, end: 9000, total: 10000 } }));
    let both = 0;
    let either = 0;
    for (const u of users) {
      const inFirst = first.evaluate(u).reason === 'SPLIT';
      const inSecond = second.evaluate(u).reason === 'SPLIT';
      if (inFirst && inSecond) both++;
      if (inFirst || inSecond) either++;
    }
    expect(both).toBe(0);
    expect(Math.abs(either / users.length - 0.9)).toBeLessThanOrEqual(0.005);
  });
});
