import { describe, it, expect } from 'vitest';
import { murmur3String, murmur3x86_32 } from '../../../src/evaluation/index.js';
import { murmur3Prefix, murmur3StringAfter } from '../../../src/evaluation/murmur3.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('murmur3x86_32', () => {
  // Reference vectors of the canonical C++ implementation (SMHasher's MurmurHash3_x86_32).
  it.each([
    ['empty, seed 0', bytes(), 0, 0],
    ['empty, seed 1', bytes(), 1, 0x514e28b7],
    ['empty, seed 0xffffffff', bytes(), 0xffffffff, 0x81f16f39],
    ['four zero bytes', bytes(0, 0, 0, 0), 0, 0x2362f9de],
    ['four 0xff bytes', bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
    ['"!Ce\\x87"', bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
    ['"!Ce\\x87", seed 0x5082edee', bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
    ['3-byte tail', bytes(0x21, 0x43, 0x65), 0, 0x7e4a8634],
    ['2-byte tail', bytes(0x21, 0x43), 0, 0xa0f7b07a],
    ['1-byte tail', bytes(0x21), 0, 0x72661cf4],
    ['"aaaa"', utf8('aaaa'), 0x9747b28c, 0x5a97808a],
    ['"aaa"', utf8('aaa'), 0x9747b28c, 0x283e0130],
    ['"aa"', utf8('aa'), 0x9747b28c, 0x5d211726],
    ['"a"', utf8('a'), 0x9747b28c, 0x7fa09ea6],
    ['"abcd"', utf8('abcd'), 0x9747b28c, 0xf0478627],
    ['"Hello, world!"', utf8('Hello, world!'), 0x9747b28c, 0x24884cba],
    ['"ππππππππ"', utf8('ππππππππ'), 0x9747b28c, 0xd58063c1],
    ['"hello"', utf8('hello'), 0, 0x248bfa47],
    ['the quick brown fox', utf8('The quick brown fox jumps over the lazy dog'), 0, 0x2e4ff723],
    ['the quick brown fox, seed 0x9747b28c', utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
  ])('%s', (_name, input, seed, expected) => {
    expect(murmur3x86_32(input, seed)).toBe(expected);
  });

  it('returns an unsigned integer when the top bit is set', () => {
    expect(murmur3x86_32(bytes(0x21, 0x43, 0x65, 0x87))).toBe(4116402539);
  });
});

describe('murmur3String', () => {
  it('matches the public vector for non-ASCII text', () => {
    expect(murmur3String('héllo wörld')).toBe(0x97f7f274);
  });

  it('hashes the empty string and plain ASCII like the byte version', () => {
    expect(murmur3String('')).toBe(0);
    expect(murmur3String('hello')).toBe(0x248bfa47);
  });

  it('encodes every kind of character as TextEncoder does', () => {
    const samples = [
      'a', 'ab', 'abc', 'abcd', 'abcde', 'user-123456789',
      'é', 'aé', 'abé', 'abcé', 'éabcdefgh', 'ππππππππ', '€uro', '日本語のテキスト',
      '😀', 'a😀', 'ab😀cd', '😀😀😀', '\u{10ffff}', '\u{ffff}\u{e000}',
      'lone \ud800 high', 'lone \udc00 low', 'end \ud83d', '\udc00\ud800',
      '\u0000\u007f\u0080\u07ff\u0800',
    ];
    for (const s of samples) expect([s, murmur3String(s)]).toEqual([s, murmur3x86_32(utf8(s))]);
  });

  it('agrees with the byte version on random strings of every length', () => {
    const alphabet = ['a', 'Z', '0', '/', '-', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff'];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const length = next() % 24;
      for (let i = 0; i < length; i++) s += alphabet[next() % alphabet.length];
      expect(murmur3String(s)).toBe(murmur3x86_32(utf8(s)));
    }
  });
});

/**
 * Seed-0 hashes of UTF-8 text, computed independently with Python's mmh3 5.3 (the C reference
 * code) over `s.encode('utf-8')`, lone surrogates replaced by U+FFFD as TextEncoder does. Lengths
 * in bytes cover tails of 0–3 bytes, two-, three- and four-byte characters (the first and last
 * code point of each width), and ASCII runs after a multi-byte character (the fast path with a
 * partial block pending).
 */
const UTF8_VECTORS: [string, number, number][] = [
    ['', 0, 0x00000000],
    ['a', 1, 0x3c2569b2],
    ['ab', 2, 0x9bbfd75f],
    ['abc', 3, 0xb3dd93fa],
    ['abcd', 4, 0x43ed676a],
    ['abcde', 5, 0xe89b9af6],
    ['\u00e9', 2, 0x10110787],
    ['a\u00e9', 3, 0x031a0ccf],
    ['ab\u00e9', 4, 0xcf3a077c],
    ['abc\u00e9', 5, 0xcca13541],
    ['\u20ac', 3, 0x5b43fca5],
    ['\u00e9\u20ac', 5, 0x1d23cd9f],
    ['\u{1f600}', 4, 0xbeb42efa],
    ['a\u{1f600}', 5, 0xe325d8b4],
    ['ab\u{1f600}', 6, 0x352f858b],
    ['abc\u{1f600}', 7, 0xdc1dac21],
    ['\u{1f600}abcd', 8, 0xa74fe22f],
    ['\u00e9/abcdefg', 10, 0x7a442bba],
    ['ab/cdefgh\u{1f600}ijklm', 18, 0x09ad9806],
    ['\u0080\u0000\u0000\u0000', 5, 0x80854a62],
    ['\u0080', 2, 0x4b961288],
    ['\u007f\u0080', 3, 0xa150d79e],
    ['\u07ff', 2, 0x8ca7f27d],
    ['\u0800', 3, 0x7aa3d41f],
    ['\ud7ff', 3, 0x43e3f269],
    ['\ue000', 3, 0x1ae2e2da],
    ['\uffff', 3, 0x3f4aff5c],
    ['\u{10000}', 4, 0x61c178ff],
    ['\u{10ffff}', 4, 0x2bc506da],
    ['a\u{10000}bcd', 8, 0x2ff0c1c4],
    ['\u65e5\u672c\u8a9e', 9, 0xa5a47297],
    ['Zo\u00eb', 4, 0x86712d1a],
    ['exp/checkout-redesign/user-77', 29, 0xdba7aee2],
    ['layer/checkout/u42', 18, 0x43744681],
    ['a\ud800b', 5, 0xcb694923],
    ['end\udbff', 6, 0xcdad9120],
    ['\udc00\ud800', 6, 0x8edd077a],
    ['\udbff\udfff', 4, 0x2bc506da],
    // a low surrogate never starts a pair; a high one pairs only with a low one
    ['\udc00\udc00', 6, 0x8edd077a],
    ['\ud800\ue000', 6, 0x2fe3aaad],
    ['\udbff\uffff', 6, 0x665ee27b],
    ['a\udfff\udfffb', 8, 0xa7a0caf7],
];

describe('murmur3String against published UTF-8 vectors (seed 0)', () => {
  /** The string as a JS literal with every character outside printable ASCII escaped (test names stay plain text). */
  const label = (s: string) => `'${[...s].map((c) => (/[\x20-\x7e]/.test(c) ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`)).join('')}'`;
  it.each(UTF8_VECTORS.map(([s, n, h]) => [label(s), n, h, s] as const))('%s (%i bytes) hashes to %i', (_label, byteLength, expected, s) => {
    expect(utf8(s).length).toBe(byteLength);
    expect(murmur3String(s)).toBe(expected);
    expect(murmur3x86_32(utf8(s))).toBe(expected);
  });
});

describe('murmur3Prefix / murmur3StringAfter', () => {
  it('hashes prefix + rest as one string, whatever the split (every code point boundary of every vector)', () => {
    for (const [s, , expected] of UTF8_VECTORS) {
      const points = Array.from(s);
      for (let k = 0; k <= points.length; k++) {
        const prefix = points.slice(0, k).join('');
        const rest = points.slice(k).join('');
        expect([s, k, murmur3StringAfter(murmur3Prefix(prefix), rest)]).toEqual([s, k, expected]);
      }
    }
  });

  it('keeps the running state of the prefix: bytes absorbed, a pending partial block', () => {
    expect(murmur3Prefix('')).toEqual({ h: 0, tail: 0, tailLength: 0, byteLength: 0 });
    // "é/" is c3 a9 2f: three bytes pending, little-endian, no block mixed yet.
    expect(murmur3Prefix('\u00e9/')).toEqual({ h: 0, tail: 0x2fa9c3, tailLength: 3, byteLength: 3 });
    expect(murmur3Prefix('abcd')).toMatchObject({ tail: 0, tailLength: 0, byteLength: 4 });
    expect(murmur3Prefix('abcd😀')).toMatchObject({ tail: 0, tailLength: 0, byteLength: 8 });
  });

  it('hands out a frozen state: a compiled flag shares it with every evaluation', () => {
    const prefix = murmur3Prefix('layer/checkout/');
    expect(Object.isFrozen(prefix)).toBe(true);
    expect(murmur3StringAfter(prefix, 'u42')).toBe(murmur3String('layer/checkout/u42'));
  });
});
