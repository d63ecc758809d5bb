import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlag } from '../../../src/evaluation/index.js';
import type { FlagState } from '../../../src/evaluation/types.js';

const flag = (start: number, end: number, weights: number[]): FlagState =>
  ({
    state: 'ENABLED',
    default_variant: 'v0',
    variants: Object.fromEntries(weights.map((_, i) => [`v${i}`, i])),
    audience: [],
    allocation: {
      unit: 'user_id',
      exposure: { seed: 'layer/t', start, end, total: 10000 },
      variants: { seed: 'exp/t', buckets: weights.map((w, i) => [`v${i}`, w]) },
    },
    experiment: { key: 't', version: 1 },
    provenance: { decision_id: 'd', policy_revision: 'r', actor: 'a', at: '2026-01-01T00:00:00Z' },
  }) as unknown as FlagState;

describe('place: SPEC §6 steps 4–5 alone, as telemetry checks an exposure', () => {
  it('agrees with the full evaluation for every unit: the split variant, or undefined outside the slice', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10000 }),
        fc.integer({ min: 0, max: 10000 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 5 }).filter((w) => w.some((x) => x > 0)),
        fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 30 }),
        (a, b, weights, units) => {
          const f = compileFlag('f', flag(Math.min(a, b), Math.max(a, b), weights));
          for (const u of units) {
            const r = f.evaluate({ user_id: u });
            expect(f.place(u)).toBe(r.reason === 'SPLIT' ? r.variant : undefined);
          }
        },
      ),
    );
  });

  it('a malformed flag places no unit', () => {
    expect(compileFlag('bad', { state: 'ENABLED' } as unknown as FlagState).place('u1')).toBeUndefined();
  });
});
