/**
 * MurmurHash3, x86 32-bit variant.
 *
 * Switchyard buckets units with this hash because flagd's `fractional` does: a flagd provider in
 * any language must put a unit in the same bucket as the server and the SDK (SPEC §6). Everything
 * is done on signed 32-bit integers with `Math.imul` and `>>> 0` only at the end, which keeps V8
 * in small-integer arithmetic.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function scrambleBlock(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= scrambleBlock(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** `tail` holds the last 0–3 bytes little-endian, `tailLength` how many there are. */
function finish(h: number, tail: number, tailLength: number, byteLength: number): number {
  if (tailLength > 0) h ^= scrambleBlock(tail);
  h ^= byteLength;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes raw bytes; the reference implementation the string fast path is tested against. */
export function murmur3x86_32(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const length = bytes.length;
  const blockEnd = length & ~3;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  let tail = 0;
  const tailLength = length & 3;
  if (tailLength === 3) tail |= bytes[i + 2]! << 16;
  if (tailLength >= 2) tail |= bytes[i + 1]! << 8;
  if (tailLength >= 1) tail |= bytes[i]!;
  return finish(h, tail, tailLength, length);
}

/**
 * The hash state after absorbing a string that has not been finalised yet.
 *
 * Bucketing hashes `seed + "/" + unit`; the seed part is the same for every unit of a flag, so the
 * compiled flag absorbs it once and each evaluation only hashes the unit, without building the
 * concatenated string.
 */
export interface Murmur3Prefix {
  readonly h: number;
  readonly tail: number;
  readonly tailLength: number;
  readonly byteLength: number;
}

const EMPTY_PREFIX: Murmur3Prefix = { h: 0, tail: 0, tailLength: 0, byteLength: 0 };

/**
 * Feeds the UTF-8 encoding of `s` into the hash, encoding by hand so that no buffer is allocated
 * per call. Lone surrogates become U+FFFD, as `TextEncoder` and every UTF-8 encoder of the other
 * languages a flagd provider runs in would do. Returns the finalised hash, or writes the running
 * state into `out` when one is given (prefix precomputation).
 */
function absorb(s: string, from: Murmur3Prefix, out: { -readonly [K in keyof Murmur3Prefix]: number } | null): number {
  let h = from.h;
  let tail = from.tail;
  let tailLength = from.tailLength;
  let byteLength = from.byteLength;
  const length = s.length;
  let i = 0;
  while (i < length) {
    // ASCII fast path: four one-byte characters complete exactly one block, whatever the tail
    // holds (a prefix such as "exp/checkout-redesign/" usually leaves a partial block).
    if (i + 4 <= length) {
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const c = s.charCodeAt(i + 2);
      const d = s.charCodeAt(i + 3);
      if ((a | b | c | d) < 0x80) {
        const word = a | (b << 8) | (c << 16) | (d << 24);
        if (tailLength === 0) {
          h = mixBlock(h, word);
        } else {
          const shift = tailLength << 3;
          h = mixBlock(h, tail | (word << shift));
          tail = word >>> (32 - shift);
        }
        byteLength += 4;
        i += 4;
        continue;
      }
    }
    let code = s.charCodeAt(i++);
    // `packed` holds the character's UTF-8 bytes little-endian; `count` how many.
    let packed: number;
    let count: number;
    if (code < 0x80) {
      packed = code;
      count = 1;
    } else if (code < 0x800) {
      packed = (0xc0 | (code >>> 6)) | ((0x80 | (code & 0x3f)) << 8);
      count = 2;
    } else {
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i < length ? s.charCodeAt(i) : 0;
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        } else {
          code = 0xfffd;
        }
      }
      if (code < 0x10000) {
        packed = (0xe0 | (code >>> 12)) | ((0x80 | ((code >>> 6) & 0x3f)) << 8) | ((0x80 | (code & 0x3f)) << 16);
        count = 3;
      } else {
        packed =
          (0xf0 | (code >>> 18)) |
          ((0x80 | ((code >>> 12) & 0x3f)) << 8) |
          ((0x80 | ((code >>> 6) & 0x3f)) << 16) |
          ((0x80 | (code & 0x3f)) << 24);
        count = 4;
      }
    }
    byteLength += count;
    for (; count > 0; count--) {
      tail |= (packed & 0xff) << (tailLength << 3);
      packed >>>= 8;
      if (++tailLength === 4) {
        h = mixBlock(h, tail);
        tail = 0;
        tailLength = 0;
      }
    }
  }
  if (out === null) return finish(h, tail, tailLength, byteLength);
  out.h = h;
  out.tail = tail;
  out.tailLength = tailLength;
  out.byteLength = byteLength;
  return 0;
}

/** MurmurHash3 x86_32 (seed 0) of the UTF-8 bytes of `s`, without encoding it into a buffer. */
export function murmur3String(s: string): number {
  return absorb(s, EMPTY_PREFIX, null);
}

/** Absorbs `prefix` (seed 0) so that {@link murmur3StringAfter} can hash `prefix + s` quickly. */
export function murmur3Prefix(prefix: string): Murmur3Prefix {
  const state = { h: 0, tail: 0, tailLength: 0, byteLength: 0 };
  absorb(prefix, EMPTY_PREFIX, state);
  return Object.freeze(state);
}

/** Equals `murmur3String(prefixString + s)` for the `prefix` made from `prefixString`. */
export function murmur3StringAfter(prefix: Murmur3Prefix, s: string): number {
  return absorb(s, prefix, null);
}
