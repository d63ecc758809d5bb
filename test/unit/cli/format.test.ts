import { describe, expect, it } from 'vitest';
import { escapeDeep, escapeLines, escapeText } from '../../../src/cli/format.js';

describe('escapeText: what the CLI shows people never drives their terminal', () => {
  it('escapes C0 (newline included), DEL, C1 and the bidi overrides and isolates as \\uXXXX', () => {
    const unsafe = [0x00, 0x07, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x9b, 0x9f, 0x202a, 0x202e, 0x2066, 0x2069];
    for (const cp of unsafe) {
      expect(escapeText(`a${String.fromCodePoint(cp)}b`)).toBe(`a\\u${cp.toString(16).padStart(4, '0')}b`);
    }
    expect(escapeText('\u001b[31mred\u001b[0m')).toBe('\\u001b[31mred\\u001b[0m');
  });

  it('leaves everything else alone, byte for byte', () => {
    for (const s of ['checkout-redesign', 'héllo wörld', '✓ → …', '日本語', '😀', ' \u00a0\u00a0', '\u200f\u2067'.slice(0, 1), '\u202f\u2065\u206a']) {
      expect(escapeText(s)).toBe(s);
    }
  });

  it('escapeLines keeps the CLI’s own newlines; escapeDeep escapes every string and key of an answer', () => {
    expect(escapeLines('one\u001b\ntwo\r')).toBe('one\\u001b\ntwo\\u000d');
    expect(escapeDeep({ 'k\u001b': ['a\nb', 1, null, { c: '\u202e' }], n: 2 })).toEqual({ 'k\\u001b': ['a\\u000ab', 1, null, { c: '\\u202e' }], n: 2 });
  });
});
