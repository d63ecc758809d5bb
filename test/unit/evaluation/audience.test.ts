import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compareCodePoints } from '../../../src/evaluation/audience.js';
import { audienceProblems, matchesAudience, type AudienceCondition, type EvaluationContext } from '../../../src/evaluation/index.js';

const ctx: EvaluationContext = {
  targetingKey: 'u1',
  locale: 'en-US',
  country: 'FR',
  age: 30,
  score: 0,
  beta: true,
  plan: 'gold',
  app_version: '2.4.1',
  prerelease: '2.5.0-beta.1',
  name: 'Zoë',
  emoji: '😀',
  nothing: null,
  tags: ['a'],
  nested: { plan: 'gold' },
  nan: Number.NaN,
};

type Case = [string, AudienceCondition, boolean];

const cases: Case[] = [
  // eq / neq: strict, typed equality
  ['eq string', { attribute: 'plan', op: 'eq', value: 'gold' }, true],
  ['eq string differs', { attribute: 'plan', op: 'eq', value: 'silver' }, false],
  ['eq number', { attribute: 'age', op: 'eq', value: 30 }, true],
  ['eq zero', { attribute: 'score', op: 'eq', value: 0 }, true],
  ['eq boolean', { attribute: 'beta', op: 'eq', value: true }, true],
  ['eq boolean vs string "true"', { attribute: 'beta', op: 'eq', value: 'true' }, false],
  ['eq number vs numeric string', { attribute: 'age', op: 'eq', value: '30' }, false],
  ['eq is case-sensitive', { attribute: 'plan', op: 'eq', value: 'Gold' }, false],
  ['neq string', { attribute: 'plan', op: 'neq', value: 'silver' }, true],
  ['neq same value', { attribute: 'plan', op: 'neq', value: 'gold' }, false],
  ['neq number', { attribute: 'age', op: 'neq', value: 31 }, true],
  ['neq type mismatch fails', { attribute: 'beta', op: 'neq', value: 'false' }, false],
  // in / not_in
  ['in', { attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }, true],
  ['in, not listed', { attribute: 'locale', op: 'in', values: ['fr-FR'] }, false],
  ['in numbers', { attribute: 'age', op: 'in', values: [18, 30] }, true],
  ['in, type mismatch', { attribute: 'age', op: 'in', values: ['30'] }, false],
  ['in empty list', { attribute: 'locale', op: 'in', values: [] }, false],
  ['not_in', { attribute: 'country', op: 'not_in', values: ['US', 'CA'] }, true],
  ['not_in, listed', { attribute: 'country', op: 'not_in', values: ['FR', 'DE'] }, false],
  ['not_in, type mismatch fails', { attribute: 'age', op: 'not_in', values: ['31'] }, false],
  ['not_in empty list', { attribute: 'country', op: 'not_in', values: [] }, true],
  // ordering: numbers numerically, strings by code point
  ['gt number', { attribute: 'age', op: 'gt', value: 29 }, true],
  ['gt number, equal', { attribute: 'age', op: 'gt', value: 30 }, false],
  ['gte number, equal', { attribute: 'age', op: 'gte', value: 30 }, true],
  ['gte number, above', { attribute: 'age', op: 'gte', value: 31 }, false],
  ['lt number', { attribute: 'age', op: 'lt', value: 31 }, true],
  ['lt number, equal', { attribute: 'age', op: 'lt', value: 30 }, false],
  ['lte number, equal', { attribute: 'age', op: 'lte', value: 30 }, true],
  ['lte number, below', { attribute: 'age', op: 'lte', value: 29.5 }, false],
  ['gt numeric string is not parsed', { attribute: 'age', op: 'gt', value: '3' }, false],
  ['gt string', { attribute: 'plan', op: 'gt', value: 'bronze' }, true],
  ['lt string', { attribute: 'plan', op: 'lt', value: 'bronze' }, false],
  ['gte string, equal', { attribute: 'plan', op: 'gte', value: 'gold' }, true],
  ['lte string, equal', { attribute: 'plan', op: 'lte', value: 'gold' }, true],
  ['strings are not numbers: "10" < "9"', { attribute: 'app_version', op: 'lt', value: '9' }, true],
  // U+1F600 sorts after U+FFFD by code point, although its UTF-16 surrogates sort before.
  ['strings order by code point', { attribute: 'emoji', op: 'gt', value: '\ufffd' }, true],
  // starts_with / ends_with
  ['starts_with', { attribute: 'locale', op: 'starts_with', value: 'en-' }, true],
  ['starts_with, no', { attribute: 'locale', op: 'starts_with', value: 'fr-' }, false],
  ['ends_with', { attribute: 'locale', op: 'ends_with', value: '-US' }, true],
  ['ends_with, no', { attribute: 'locale', op: 'ends_with', value: '-GB' }, false],
  ['ends_with non-ASCII', { attribute: 'name', op: 'ends_with', value: 'ë' }, true],
  ['starts_with on a number fails', { attribute: 'age', op: 'starts_with', value: '3' }, false],
  // semver
  ['semver_gte, above', { attribute: 'app_version', op: 'semver_gte', value: '2.4.0' }, true],
  ['semver_gte, equal', { attribute: 'app_version', op: 'semver_gte', value: '2.4.1' }, true],
  ['semver_gte, below (not lexicographic)', { attribute: 'app_version', op: 'semver_gte', value: '2.10.0' }, false],
  ['semver_lt', { attribute: 'app_version', op: 'semver_lt', value: '2.10.0' }, true],
  ['semver_lt, equal', { attribute: 'app_version', op: 'semver_lt', value: '2.4.1' }, false],
  ['semver prerelease is below its release', { attribute: 'prerelease', op: 'semver_lt', value: '2.5.0' }, true],
  ['semver prerelease is above the previous release', { attribute: 'prerelease', op: 'semver_gte', value: '2.4.9' }, true],
  ['semver, invalid context version', { attribute: 'plan', op: 'semver_gte', value: '1.0.0' }, false],
  ['semver_lt, invalid context version', { attribute: 'plan', op: 'semver_lt', value: '99.0.0' }, false],
  ['semver, invalid condition version', { attribute: 'app_version', op: 'semver_gte', value: 'latest' }, false],
  ['semver, number attribute', { attribute: 'age', op: 'semver_lt', value: '99.0.0' }, false],
];

describe('matchesAudience, one condition', () => {
  it.each(cases)('%s', (_name, condition, expected) => {
    expect(matchesAudience([condition], ctx)).toBe(expected);
  });
});

describe('a condition on an attribute the context lacks fails, whatever its op', () => {
  const operands: Record<AudienceCondition['op'], Omit<AudienceCondition, 'attribute' | 'op'>> = {
    eq: { value: 'x' },
    neq: { value: 'x' },
    in: { values: ['x'] },
    not_in: { values: ['x'] },
    gt: { value: 1 },
    gte: { value: 1 },
    lt: { value: 1 },
    lte: { value: 1 },
    starts_with: { value: '' },
    ends_with: { value: '' },
    semver_gte: { value: '0.0.0' },
    semver_lt: { value: '99.0.0' },
  };
  const ops = Object.keys(operands) as AudienceCondition['op'][];
  // null, NaN, arrays and objects are not comparable values: they count as missing.
  const attributes = ['missing', 'nothing', 'nan', 'tags', 'nested', 'toString', '__proto__'];
  it.each(ops.flatMap((op) => attributes.map((attribute) => [op, attribute] as const)))('%s on %s', (op, attribute) => {
    expect(matchesAudience([{ attribute, op, ...operands[op] }], ctx)).toBe(false);
  });
});

describe('matchesAudience, several conditions', () => {
  it('holds when every condition holds', () => {
    const audience: AudienceCondition[] = [
      { attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] },
      { attribute: 'app_version', op: 'semver_gte', value: '2.0.0' },
    ];
    expect(matchesAudience(audience, ctx)).toBe(true);
    expect(matchesAudience(audience, { ...ctx, locale: 'fr-FR' })).toBe(false);
    expect(matchesAudience(audience, { ...ctx, app_version: '1.9.9' })).toBe(false);
  });

  it('holds for an empty audience', () => {
    expect(matchesAudience([], {})).toBe(true);
  });

  it('reads only the context’s own attributes', () => {
    const inherited = Object.create({ plan: 'gold' }) as EvaluationContext;
    expect(matchesAudience([{ attribute: 'plan', op: 'eq', value: 'gold' }], inherited)).toBe(false);
  });
});

describe('malformed conditions', () => {
  const malformed: [string, unknown][] = [
    ['unknown op', { attribute: 'plan', op: 'matches', value: 'g.*' }],
    ['eq with values', { attribute: 'plan', op: 'eq', values: ['gold'] }],
    ['in with value', { attribute: 'plan', op: 'in', value: 'gold' }],
    ['in with mixed types', { attribute: 'plan', op: 'in', values: ['gold', 1] }],
    ['in with an object', { attribute: 'plan', op: 'in', values: [{}] }],
    ['gt with a boolean', { attribute: 'beta', op: 'gt', value: false }],
    ['starts_with with a number', { attribute: 'age', op: 'starts_with', value: 3 }],
    ['semver with an invalid version', { attribute: 'app_version', op: 'semver_lt', value: '1.2' }],
    ['value null', { attribute: 'plan', op: 'eq', value: null }],
    ['missing attribute name', { op: 'eq', value: 'gold' }],
    ['not an object', 'plan == gold'],
  ];

  it.each(malformed)('%s fails the condition and is reported', (_name, condition) => {
    expect(matchesAudience([condition as AudienceCondition], ctx)).toBe(false);
    expect(audienceProblems([condition])).toHaveLength(1);
  });

  it('reports nothing for valid conditions', () => {
    expect(audienceProblems(cases.filter(([name]) => !name.includes('invalid condition')).map(([, c]) => c))).toEqual([]);
  });

  it('names the offending condition', () => {
    expect(audienceProblems([{ attribute: 'a', op: 'eq', value: 1 }, { attribute: 'b', op: 'like', value: 1 }])).toEqual([
      'audience[1].op: unknown op "like"',
    ]);
  });
});

describe('the exact reason each malformed condition is refused', () => {
  const at0 = (condition: unknown) => audienceProblems([condition]);
  it.each([
    ['a string', 'plan == gold', 'audience[0]: must be an object'],
    ['null', null, 'audience[0]: must be an object'],
    ['a list', ['plan', 'eq', 'gold'], 'audience[0]: must be an object'],
    ['no attribute', { op: 'eq', value: 'gold' }, 'audience[0].attribute: must be a non-empty string'],
    ['an empty attribute', { attribute: '', op: 'eq', value: 'gold' }, 'audience[0].attribute: must be a non-empty string'],
    ['a numeric attribute', { attribute: 1, op: 'eq', value: 'gold' }, 'audience[0].attribute: must be a non-empty string'],
    ['an unknown op', { attribute: 'plan', op: 'like', value: 'g' }, 'audience[0].op: unknown op "like"'],
    ['no op', { attribute: 'plan', value: 'g' }, 'audience[0].op: unknown op undefined'],
    ['an inherited op name', { attribute: 'plan', op: 'toString', value: 'g' }, 'audience[0].op: unknown op "toString"'],
    ['in without values', { attribute: 'plan', op: 'in', value: 'gold' }, 'audience[0].values: "in" needs a list of values'],
    ['not_in without values', { attribute: 'plan', op: 'not_in' }, 'audience[0].values: "not_in" needs a list of values'],
    ['in with an object', { attribute: 'plan', op: 'in', values: [{}] }, 'audience[0].values: every value must be a string, number or boolean'],
    ['in with NaN', { attribute: 'age', op: 'in', values: [Number.NaN] }, 'audience[0].values: every value must be a string, number or boolean'],
    ['not_in with null', { attribute: 'age', op: 'not_in', values: [1, null] }, 'audience[0].values: every value must be a string, number or boolean'],
    ['in with mixed types', { attribute: 'plan', op: 'in', values: ['gold', 1] }, 'audience[0].values: values must all have the same type'],
    ['not_in with mixed types', { attribute: 'beta', op: 'not_in', values: [true, 'true'] }, 'audience[0].values: values must all have the same type'],
    ['eq without value', { attribute: 'plan', op: 'eq' }, 'audience[0].value: "eq" needs a value'],
    ['eq with values', { attribute: 'plan', op: 'eq', values: ['gold'] }, 'audience[0].value: "eq" needs a value'],
    ['eq null', { attribute: 'plan', op: 'eq', value: null }, 'audience[0].value: must be a string, number or boolean'],
    ['neq NaN', { attribute: 'age', op: 'neq', value: Number.NaN }, 'audience[0].value: must be a string, number or boolean'],
    ['lt Infinity', { attribute: 'age', op: 'lt', value: Number.POSITIVE_INFINITY }, 'audience[0].value: must be a string, number or boolean'],
    ['eq an object', { attribute: 'plan', op: 'eq', value: { gold: true } }, 'audience[0].value: must be a string, number or boolean'],
    ['gt a boolean', { attribute: 'beta', op: 'gt', value: false }, 'audience[0].value: "gt" compares numbers or strings'],
    ['lte a boolean', { attribute: 'beta', op: 'lte', value: true }, 'audience[0].value: "lte" compares numbers or strings'],
    ['starts_with a number', { attribute: 'age', op: 'starts_with', value: 3 }, 'audience[0].value: "starts_with" needs a string'],
    ['ends_with a boolean', { attribute: 'beta', op: 'ends_with', value: true }, 'audience[0].value: "ends_with" needs a string'],
    ['semver_lt "1.2"', { attribute: 'app_version', op: 'semver_lt', value: '1.2' }, 'audience[0].value: "semver_lt" needs a valid semantic version'],
    ['semver_gte a number', { attribute: 'app_version', op: 'semver_gte', value: 2 }, 'audience[0].value: "semver_gte" needs a valid semantic version'],
  ])('%s', (_name, condition, problem) => {
    expect(at0(condition)).toEqual([problem]);
    expect(matchesAudience([condition as AudienceCondition], ctx)).toBe(false);
  });

  it('an audience that is not a list is one problem; an absent one is no audience', () => {
    expect(audienceProblems({ attribute: 'plan', op: 'eq', value: 'gold' })).toEqual(['audience: must be a list of conditions']);
    expect(audienceProblems('plan == gold')).toEqual(['audience: must be a list of conditions']);
    expect(audienceProblems(undefined)).toEqual([]);
    expect(audienceProblems([])).toEqual([]);
  });

  it('lists every malformed condition, in order, by index', () => {
    expect(audienceProblems([{ attribute: 'plan', op: 'eq', value: 'gold' }, null, { attribute: 'x', op: 'in' }, { attribute: 'y', op: 'gt', value: true }])).toEqual([
      'audience[1]: must be an object',
      'audience[2].values: "in" needs a list of values',
      'audience[3].value: "gt" compares numbers or strings',
    ]);
  });
});

describe('edge values: -0, NaN, ±Infinity, wrong types, contexts that are not objects', () => {
  const edge: EvaluationContext = { zero: 0, negzero: -0, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, beta: true, plan: 'gold', age: 30 };
  it.each([
    // -0 is 0 for every op, as JSON and every other language read it
    ['-0 eq 0', { attribute: 'negzero', op: 'eq', value: 0 }, true],
    ['-0 neq 0', { attribute: 'negzero', op: 'neq', value: 0 }, false],
    ['-0 in [0]', { attribute: 'negzero', op: 'in', values: [0] }, true],
    ['0 in [-0]', { attribute: 'zero', op: 'in', values: [-0] }, true],
    ['-0 not_in [0]', { attribute: 'negzero', op: 'not_in', values: [0] }, false],
    ['-0 gt 0', { attribute: 'negzero', op: 'gt', value: 0 }, false],
    ['-0 lt 0', { attribute: 'negzero', op: 'lt', value: 0 }, false],
    ['-0 gte 0', { attribute: 'negzero', op: 'gte', value: 0 }, true],
    ['-0 lte 0', { attribute: 'negzero', op: 'lte', value: 0 }, true],
    ['0 lte -0', { attribute: 'zero', op: 'lte', value: -0 }, true],
    // NaN and infinities are not values: every op fails, neq and not_in included
    ['NaN neq 1', { attribute: 'nan', op: 'neq', value: 1 }, false],
    ['NaN not_in [1]', { attribute: 'nan', op: 'not_in', values: [1] }, false],
    ['NaN not_in []', { attribute: 'nan', op: 'not_in', values: [] }, false],
    ['NaN lte 1', { attribute: 'nan', op: 'lte', value: 1 }, false],
    ['Infinity gt 1', { attribute: 'inf', op: 'gt', value: 1 }, false],
    ['Infinity neq 1', { attribute: 'inf', op: 'neq', value: 1 }, false],
    ['-Infinity lt 1', { attribute: 'ninf', op: 'lt', value: 1 }, false],
    ['-Infinity not_in [1]', { attribute: 'ninf', op: 'not_in', values: [1] }, false],
    // a type mismatch fails every ordering op, whichever way round
    ['boolean lt number', { attribute: 'beta', op: 'lt', value: 5 }, false],
    ['boolean gte number', { attribute: 'beta', op: 'gte', value: 0 }, false],
    ['string gte number', { attribute: 'plan', op: 'gte', value: 1 }, false],
    ['string lte number', { attribute: 'plan', op: 'lte', value: 1 }, false],
    ['number lt string', { attribute: 'age', op: 'lt', value: 'zzz' }, false],
    ['number gte string', { attribute: 'age', op: 'gte', value: '' }, false],
    ['boolean gte string', { attribute: 'beta', op: 'gte', value: '' }, false],
    ['number ends_with', { attribute: 'age', op: 'ends_with', value: '0' }, false],
    ['boolean starts_with', { attribute: 'beta', op: 'starts_with', value: 't' }, false],
    ['boolean neq number', { attribute: 'beta', op: 'neq', value: 1 }, false],
    ['number not_in strings', { attribute: 'age', op: 'not_in', values: ['31'] }, false],
    ['boolean not_in numbers', { attribute: 'beta', op: 'not_in', values: [0] }, false],
    ['boolean in booleans', { attribute: 'beta', op: 'in', values: [false, true] }, true],
    ['boolean not_in booleans', { attribute: 'beta', op: 'not_in', values: [false] }, true],
    ['string not_in strings', { attribute: 'plan', op: 'not_in', values: ['silver'] }, true],
    // starts_with / ends_with: the empty string starts and ends every string
    ['starts_with ""', { attribute: 'plan', op: 'starts_with', value: '' }, true],
    ['ends_with ""', { attribute: 'plan', op: 'ends_with', value: '' }, true],
    ['starts_with is not ends_with', { attribute: 'plan', op: 'starts_with', value: 'ld' }, false],
    ['ends_with is not starts_with', { attribute: 'plan', op: 'ends_with', value: 'go' }, false],
    ['starts_with longer than the value', { attribute: 'plan', op: 'starts_with', value: 'golden' }, false],
  ] as [string, AudienceCondition, boolean][])('%s', (_name, condition, expected) => {
    expect(matchesAudience([condition], edge)).toBe(expected);
  });

  it('a context that is not an object lacks every attribute (a string has no "length" here)', () => {
    for (const bad of [null, undefined, 'gold', 42, true]) {
      expect(matchesAudience([{ attribute: 'length', op: 'eq', value: 4 }], bad as unknown as EvaluationContext)).toBe(false);
      expect(matchesAudience([{ attribute: 'length', op: 'neq', value: 1 }], bad as unknown as EvaluationContext)).toBe(false);
      expect(matchesAudience([{ attribute: 'length', op: 'not_in', values: [] }], bad as unknown as EvaluationContext)).toBe(false);
    }
  });
});

describe('semver edge cases', () => {
  const v = (version: string, op: 'semver_gte' | 'semver_lt', value: string) =>
    matchesAudience([{ attribute: 'v', op, value }], { v: version });
  it.each([
    // a leading "v" is accepted on both sides
    ['v2.4.1', 'semver_gte', '2.4.1', true],
    ['2.4.1', 'semver_gte', 'v2.4.1', true],
    ['v2.4.1', 'semver_lt', '2.4.2', true],
    // build metadata takes no part in precedence
    ['2.4.1+build.7', 'semver_gte', '2.4.1', true],
    ['2.4.1+build.7', 'semver_lt', '2.4.1', false],
    ['2.4.1', 'semver_lt', '2.4.1+build.9', false],
    // prerelease precedence, SemVer 2.0.0 §11
    ['1.0.0-alpha', 'semver_lt', '1.0.0-alpha.1', true],
    ['1.0.0-alpha.1', 'semver_lt', '1.0.0-alpha.beta', true],
    ['1.0.0-alpha.beta', 'semver_lt', '1.0.0-beta', true],
    ['1.0.0-beta.2', 'semver_lt', '1.0.0-beta.11', true],
    ['1.0.0-rc.1', 'semver_lt', '1.0.0', true],
    ['1.0.0-rc.1', 'semver_gte', '1.0.0', false],
    ['1.0.0', 'semver_gte', '1.0.0-rc.1', true],
    // numeric, not lexicographic, in every field
    ['10.0.0', 'semver_gte', '9.99.99', true],
    ['1.10.0', 'semver_gte', '1.9.0', true],
    ['1.0.10', 'semver_lt', '1.0.9', false],
    // invalid versions on the context side fail both ops
    ['1.2', 'semver_gte', '0.0.0', false],
    ['1.2', 'semver_lt', '99.0.0', false],
    ['', 'semver_lt', '99.0.0', false],
    ['01.2.3', 'semver_gte', '0.0.0', false],
    ['1.2.3.4', 'semver_lt', '99.0.0', false],
  ] as const)('%s %s %s is %s', (version, op, value, expected) => {
    expect(v(version, op, value)).toBe(expected);
  });

  it('takes a version of up to 256 characters, as semver does, and refuses a longer one', () => {
    const at256 = `1.0.0-${'a'.repeat(250)}`;
    expect(at256).toHaveLength(256);
    expect(v(at256, 'semver_gte', '1.0.0-a')).toBe(true);
    expect(v(`${at256}a`, 'semver_gte', '1.0.0-a')).toBe(false);
    expect(v(`${at256}a`, 'semver_lt', '2.0.0')).toBe(false);
  });

  it('answers the same for a version it has seen before, an invalid one included, past 1,024 distinct versions', () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1500; i++) {
        expect(v(`1.${i}.0`, 'semver_gte', '1.750.0')).toBe(i >= 750);
        expect(v(`1.${i}`, 'semver_gte', '0.0.0')).toBe(false);
      }
    }
  });
});

describe('string order is Unicode code point order', () => {
  /** The string as a JS literal with every character outside printable ASCII escaped (test names stay plain text). */
  const label = (s: string) => `'${[...s].map((c) => (/[\x20-\x7e]/.test(c) ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`)).join('')}'`;
  it.each([
    ['\ud7ff', '\ue000', -1],
    ['\ue000', '\uffff', -1],
    ['\uffff', '\u{10000}', -1],
    ['\ue000', '\u{10000}', -1],
    ['\u{10000}', '\u{10ffff}', -1],
    ['\u{1f600}', '\ufffd', 1],
    // lone surrogates rank with the characters they start: above the whole BMP
    ['\ud800', '\uffff', 1],
    ['\udfff', '\uffff', 1],
    ['\ud800', '\ue000', 1],
    ['\ud7ff', '\ud800', -1],
    ['go', 'gold', -1],
    ['gold', 'go', 1],
    ['gold', 'gold', 0],
    ['', '', 0],
    ['', 'a', -1],
  ].map(([a, b, sign]) => [label(a as string), label(b as string), sign as number, a as string, b as string] as const))('%s vs %s: %i', (_a, _b, sign, a, b) => {
    expect(Math.sign(compareCodePoints(a, b))).toBe(sign);
    expect(Math.sign(compareCodePoints(b, a))).toBe(-sign || 0);
  });

  it('orders any two well-formed strings (with a common start or not) as their UTF-8 bytes do', () => {
    // Code points of every width, the surrogate range left out (well-formed text has none alone).
    const point = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0xffff }),
      fc.integer({ min: 0x10000, max: 0x10ffff }),
    );
    const text = fc.array(point, { maxLength: 4 }).map((points) => String.fromCodePoint(...points));
    fc.assert(
      fc.property(text, text, text, (common, x, y) => {
        const [a, b] = [common + x, common + y];
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { seed: 20261129, numRuns: 1000 },
    );
  });

  it('the ordering ops use it: U+FFFF < U+10000, though its UTF-16 units sort the other way', () => {
    const c = { s: '\uffff', t: '\u{10000}' };
    expect(matchesAudience([{ attribute: 's', op: 'lt', value: '\u{10000}' }], c)).toBe(true);
    expect(matchesAudience([{ attribute: 's', op: 'lte', value: '\u{10000}' }], c)).toBe(true);
    expect(matchesAudience([{ attribute: 't', op: 'gt', value: '\uffff' }], c)).toBe(true);
    expect(matchesAudience([{ attribute: 't', op: 'gte', value: '\uffff' }], c)).toBe(true);
    expect(matchesAudience([{ attribute: 't', op: 'lt', value: '\uffff' }], c)).toBe(false);
  });
});
