import { describe, it, expect } from 'vitest';
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
