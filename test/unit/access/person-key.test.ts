import { describe, expect, it } from 'vitest';
import { personKey, samePerson } from '../../../src/access/person-key.js';

/** SPEC §4: token names are compared after NFC normalisation, trimming and case folding. */
describe('personKey', () => {
  it.each([
    ['sam', ' Sam '],
    ['sam', 'SAM\t'],
    ['sam', '\u00a0sam\u3000'], // no-break and ideographic spaces trim too
    ['Jos\u00e9', 'JOSE\u0301'], // composed and decomposed é
    ['Straße', 'STRASSE'], // ß folds to ss
    ['STRAẞE', 'strasse'], // so does capital ẞ
    ['ΟΔΥΣΣΕΥΣ', 'οδυσσευς'], // final sigma
    ['ﬁona', 'FIONA'], // the fi ligature
  ])('%j and %j are one person', (a, b) => {
    expect(samePerson(a, b)).toBe(true);
    expect(personKey(a)).toBe(personKey(b));
  });

  it.each([
    ['sam', 'sama'],
    ['sam smith', 'samsmith'], // inner spaces are kept
    ['jose', 'josé'], // accents are not stripped
  ])('%j and %j are two people', (a, b) => {
    expect(samePerson(a, b)).toBe(false);
  });

  it('keys to the lower-case folded form (ß, ẞ and SS → ss, ﬁ → fi, NFC)', () => {
    // A word-final sigma keys as ς, not σ as full case folding would give: ECMAScript's toLowerCase
    // applies the final-sigma rule. Both spellings still key alike (the table above).
    expect([' Sam ', 'Straße', 'STRAẞE', 'STRASSE', 'ΟΔΥΣΣΕΥΣ', 'οδυσσευσ', 'ﬁona', 'JOSE\u0301'].map(personKey)).toEqual([
      'sam',
      'strasse',
      'strasse',
      'strasse',
      'οδυσσευς',
      'οδυσσευς',
      'fiona',
      'jos\u00e9',
    ]);
  });

  it('is a fixed point: a key keys to itself', () => {
    for (const name of [' Sam ', 'STRAẞE', 'JOSE\u0301', 'İstanbul']) expect(personKey(personKey(name))).toBe(personKey(name));
  });
});
