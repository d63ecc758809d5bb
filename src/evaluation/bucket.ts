import { murmur3String, murmur3StringAfter, type Murmur3Prefix } from './murmur3.js';

/**
 * The largest bucket count accepted: the hash is 32-bit, so with at most 2^32 − 1 buckets the
 * product `hash × n` always fits the unsigned 64-bit integer flagd's `fractional` computes in.
 */
export const MAX_BUCKETS = 0xffffffff;

const TWO_POW_32 = 4294967296;
/** Below this, `hash × n` < 2^53 and plain doubles are exact; above it BigInt is. */
const EXACT_NUMBER_LIMIT = 2 ** 21;

/**
 * Maps a 32-bit hash onto `[0, n)` as `(hash × n) >> 32`. Multiply-and-shift rather than modulo
 * because it is what flagd's high-precision `fractional` does, and because it spreads hashes over
 * contiguous ranges, which is what lets a layer hand out disjoint `[start, end)` slices.
 * `n` must already be validated.
 */
export function scaleHash(hash: number, n: number): number {
  if (n < EXACT_NUMBER_LIMIT) return Math.floor((hash * n) / TWO_POW_32);
  return Number((BigInt(hash) * BigInt(n)) >> 32n);
}

function assertBucketCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BUCKETS) {
    throw new RangeError(`bucket count must be an integer in [1, ${MAX_BUCKETS}], got ${n}`);
  }
}

/** SPEC §6: `bucket(s, n) = (murmur3_x86_32(utf8(s), seed 0) × n) >> 32` in unsigned 64-bit. */
export function bucket(s: string, n: number): number {
  assertBucketCount(n);
  return scaleHash(murmur3String(s), n);
}

/**
 * `bucket(prefixString + s, n)` for a prefix absorbed once with `murmur3Prefix`; the evaluation hot
 * path uses it so the seed is never re-hashed nor concatenated. `n` is trusted (validated when the
 * flag was compiled).
 */
export function bucketAfter(prefix: Murmur3Prefix, s: string, n: number): number {
  return scaleHash(murmur3StringAfter(prefix, s), n);
}
