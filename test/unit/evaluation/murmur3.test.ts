import { describe, it, expect } from 'vitest';
import { murmur3String, murmur3x86_32 } from '../../../src/evaluation/index.js';

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
