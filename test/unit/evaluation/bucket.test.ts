import { describe, it, expect } from 'vitest';
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
