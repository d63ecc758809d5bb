import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scaleHash } from '../../../src/evaluation/bucket.js';
import { bucket, MAX_BUCKETS, murmur3String } from '../../../src/evaluation/index.js';

describe('bucket', () => {
  it.each([
    ['exp/demo/user-1', 10000, 7838],
    ['exp/demo/user-2', 10000, 2542],
    ['layer/checkout/u42', 10000, 2634],
  ])('bucket(%j, %i) = %i (SPEC §6 public vector)', (s, n, expected) => {
    expect(bucket(s, n)).toBe(expected);
  });

  it('is (hash × n) >> 32 in unsigned 64-bit, on both sides of the exact-double limit', () => {
    const key = 'exp/checkout-redesign/user-77';
    const hash = BigInt(murmur3String(key));
    for (const n of [1, 2, 100, 10000, 2 ** 21 - 1, 2 ** 21, 2 ** 21 + 1, 1e9, MAX_BUCKETS]) {
      expect([n, bucket(key, n)]).toEqual([n, Number((hash * BigInt(n)) >> 32n)]);
    }
  });

  it('stays in [0, n)', () => {
    for (let i = 0; i < 1000; i++) {
      const b = bucket(`u${i}`, 7);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(7);
    }
    expect(bucket('anything', 1)).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, MAX_BUCKETS + 1])('refuses the bucket count %d', (n) => {
    expect(() => bucket('x', n)).toThrow(RangeError);
  });
});

describe('scaleHash: exact in unsigned 64-bit, not in floating point', () => {
  // (2347371897 × 123456789) / 2^32 is 67474086.99999… : a double rounds the product up to the
  // next integer quotient, the 64-bit integer arithmetic flagd uses does not.
  it('scaleHash(2347371897, 123456789) is 67474086 exactly (a double gives 67474087)', () => {
    expect(Math.floor((2347371897 * 123456789) / 2 ** 32)).toBe(67474087);
    expect(scaleHash(2347371897, 123456789)).toBe(67474086);
  });

  it('equals the BigInt formula for any 32-bit hash and any bucket count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: MAX_BUCKETS }), (hash, n) => {
        expect(scaleHash(hash, n)).toBe(Number((BigInt(hash) * BigInt(n)) >> 32n));
      }),
      { seed: 20261129, numRuns: 20_000 },
    );
  });
});
