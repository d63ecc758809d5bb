import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bucketAfter, scaleHash } from '../../../src/evaluation/bucket.js';
import { murmur3Prefix } from '../../../src/evaluation/murmur3.js';
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
    expect(() => bucket('x', n)).toThrow(`bucket count must be an integer in [1, 4294967295], got ${n}`);
  });

  it('accepts the bucket counts at both ends, 1 and 2^32 − 1', () => {
    expect(MAX_BUCKETS).toBe(4294967295);
    expect(bucket('exp/demo/user-1', 1)).toBe(0);
    // murmur3("exp/demo/user-1") × (2^32 − 1) >> 32 is the hash minus one (the hash is not 0).
    expect(bucket('exp/demo/user-1', MAX_BUCKETS)).toBe(murmur3String('exp/demo/user-1') - 1);
  });

  it('bucketAfter(prefix, s, n) is bucket(prefix + s, n), on both sides of the exact-double limit', () => {
    for (const prefix of ['', 'l', 'la', 'lay', 'layer/checkout/', 'exp/ü/']) {
      const absorbed = murmur3Prefix(prefix);
      for (const s of ['u42', 'user-1', 'é😀', '']) {
        for (const n of [1, 100, 10000, 2 ** 21 + 1, MAX_BUCKETS]) {
          expect([prefix, s, n, bucketAfter(absorbed, s, n)]).toEqual([prefix, s, n, bucket(prefix + s, n)]);
        }
      }
    }
  });
});

describe('scaleHash: exact in unsigned 64-bit, not in floating point', () => {
  // (2347371897 × 123456789) / 2^32 is 67474086.99999… : a double rounds the product up to the
  // next integer quotient, the 64-bit integer arithmetic flagd uses does not.
  it('scaleHash(2347371897, 123456789) is 67474086 exactly (a double gives 67474087)', () => {
    expect(Math.floor((2347371897 * 123456789) / 2 ** 32)).toBe(67474087);
    expect(scaleHash(2347371897, 123456789)).toBe(67474086);
  });

  // Products just below a multiple of 2^32 and above 2^53: a double rounds each up to that multiple.
  it.each([
    [2347371897, 123456789, 67474086],
    [4192462275, 123456789, 120510330],
    [2609383525, 10000019, 6075455],
    [2226617417, 1000000007, 518424769],
    [2863311531, 4294967293, 2863311528],
    [1212964351, 3000000001, 847245811],
  ])('scaleHash(%i, %i) is %i, one below what a double gives', (hash, n, exact) => {
    expect(scaleHash(hash, n)).toBe(exact);
    expect(Math.floor((hash * n) / 2 ** 32)).toBe(exact + 1);
  });

  it('is exact with doubles below 2^21 buckets and with BigInt from 2^21 up, for the largest hash', () => {
    for (const n of [1, 2, 3, 10000, 2 ** 21 - 1, 2 ** 21, 2 ** 21 + 1, 2 ** 32 - 1]) {
      expect([n, scaleHash(0xffffffff, n)]).toEqual([n, n - 1]);
      expect([n, scaleHash(0, n)]).toEqual([n, 0]);
      expect([n, scaleHash(0x80000000, n)]).toEqual([n, Math.floor(n / 2)]);
    }
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
