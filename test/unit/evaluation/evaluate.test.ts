import { describe, it, expect } from 'vitest';
import {
  bucket,
  compileDocument,
  compileFlag,
  evaluateDocument,
  evaluateFlag,
  type EvaluationContext,
  type FlagState,
  type FlagsDocument,
} from '../../../src/evaluation/index.js';

/** The SPEC §5 example flag, with its 4.5 % slice of layer "checkout". */
function flag(overrides: Partial<FlagState> = {}, allocation: Partial<FlagState['allocation']> = {}): FlagState {
  return {
    state: 'ENABLED',
    default_variant: 'control',
    variants: { control: false, treatment: true },
    audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
    allocation: {
      unit: 'user_id',
      exposure: { seed: 'layer/checkout', start: 0, end: 450, total: 10000 },
      variants: { seed: 'exp/checkout-redesign', buckets: [['control', 50], ['treatment', 50]] },
      ...allocation,
    },
    experiment: { key: 'checkout-redesign', version: 1 },
    provenance: { decision_id: 'd_01J', policy_revision: 'sha256:abc', actor: 'alice', at: '2026-12-01T00:00:00Z' },
    ...overrides,
  };
}

/** A flag that exposes everyone, to test the variant split alone. */
function everyone(buckets: [string, number][], variants: Record<string, unknown>): FlagState {
  return flag(
    { audience: [], variants, default_variant: buckets[0]![0] },
    {
      exposure: { seed: 'exp/split/exposure', start: 0, end: 10000, total: 10000 },
      variants: { seed: 'exp/split', buckets },
    },
  );
}

const user = (id: string, extra: EvaluationContext = {}): EvaluationContext => ({ user_id: id, locale: 'en-US', ...extra });

/** Finds a user id whose exposure bucket under `seed` is inside or outside `[start, end)`. */
function findUser(seed: string, start: number, end: number, inside: boolean): string {
  // Bounded, so that a broken bucket fails the test at once instead of looping until a timeout.
  for (let i = 0; i < 100_000; i++) {
    const h = bucket(`${seed}/user-${i}`, 10000);
    if ((h >= start && h < end) === inside) return `user-${i}`;
  }
  throw new Error(`no user ${inside ? 'inside' : 'outside'} [${start}, ${end}) of ${seed} among 100,000`);
}

describe('evaluateFlag, SPEC §6 steps', () => {
  // Found inside the tests, not while the file is collected: source code a test file runs outside
  // its tests makes every mutant in it static for Stryker (a reload and a rerun of every test each).
  // Not remembered either: each test finds them again under whatever mutant is active.
  const exposed = (): string => findUser('layer/checkout', 0, 450, true);
  const notExposed = (): string => findUser('layer/checkout', 0, 450, false);

  it('step 1: a disabled flag serves the default, even without a unit', () => {
    expect(evaluateFlag('checkout_redesign', flag({ state: 'DISABLED' }), {})).toEqual({
      flag: 'checkout_redesign',
      variant: 'control',
      value: false,
      reason: 'DISABLED',
    });
    expect(evaluateFlag('f', flag({ state: 'DISABLED' }), user(exposed())).reason).toBe('DISABLED');
  });

  it('step 2: no unit and no targetingKey is TARGETING_KEY_MISSING with the default value', () => {
    expect(evaluateFlag('checkout_redesign', flag(), { locale: 'en-US' })).toEqual({
      flag: 'checkout_redesign',
      variant: 'control',
      value: false,
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
      errorMessage: expect.stringContaining('user_id') as unknown,
    });
  });

  it('step 2: targetingKey stands in for a missing or null unit attribute', () => {
    const viaUnit = evaluateFlag('f', flag(), user(exposed()));
    expect(viaUnit.reason).toBe('SPLIT');
    expect(evaluateFlag('f', flag(), { targetingKey: exposed(), locale: 'en-US' })).toEqual(viaUnit);
    expect(evaluateFlag('f', flag(), { user_id: null, targetingKey: exposed(), locale: 'en-US' })).toEqual(viaUnit);
  });

  it('step 2: the unit attribute wins over targetingKey', () => {
    expect(evaluateFlag('f', flag(), user(notExposed(), { targetingKey: exposed() })).reason).toBe('DEFAULT');
    expect(evaluateFlag('f', flag(), user(exposed(), { targetingKey: notExposed() })).reason).toBe('SPLIT');
  });

  it('step 2: a numeric unit is bucketed as its decimal string', () => {
    const seed = 'layer/checkout';
    let n = 0;
    while (bucket(`${seed}/${n}`, 10000) >= 450 && n < 100_000) n++;
    const asNumber = evaluateFlag('f', flag(), { user_id: n, locale: 'en-US' });
    expect(asNumber.reason).toBe('SPLIT');
    expect(asNumber).toEqual(evaluateFlag('f', flag(), { user_id: String(n), locale: 'en-US' }));
  });

  it.each([
    ['an empty string', { user_id: '' }, 'TARGETING_KEY_MISSING'],
    ['an empty targetingKey', { targetingKey: '' }, 'TARGETING_KEY_MISSING'],
    ['a boolean', { user_id: true }, 'INVALID_CONTEXT'],
    ['an object', { user_id: { id: 'u1' } }, 'INVALID_CONTEXT'],
    ['NaN', { user_id: Number.NaN }, 'INVALID_CONTEXT'],
    ['Infinity', { targetingKey: Number.POSITIVE_INFINITY }, 'INVALID_CONTEXT'],
  ] as const)('step 2: a unit that is %s is an error', (_name, unitCtx, errorCode) => {
    const res = evaluateFlag('f', flag(), { locale: 'en-US', ...unitCtx } as EvaluationContext);
    expect(res).toMatchObject({ reason: 'ERROR', errorCode, variant: 'control', value: false });
  });

  it('step 2 comes before the audience: a unit-less context is an error even outside the audience', () => {
    expect(evaluateFlag('f', flag(), { locale: 'fr-FR' }).errorCode).toBe('TARGETING_KEY_MISSING');
  });

  it('a context that is not an object is INVALID_CONTEXT, not a crash', () => {
    for (const bad of [null, 'u1', 42, ['u1']]) {
      expect(evaluateFlag('f', flag(), bad as unknown as EvaluationContext)).toMatchObject({
        reason: 'ERROR',
        errorCode: 'INVALID_CONTEXT',
        value: false,
      });
    }
  });

  it('step 3: failing the audience serves the default, even to an exposed unit', () => {
    expect(evaluateFlag('f', flag(), user(exposed(), { locale: 'fr-FR' }))).toEqual({
      flag: 'f',
      variant: 'control',
      value: false,
      reason: 'DEFAULT',
    });
    expect(evaluateFlag('f', flag(), { user_id: exposed() }).reason).toBe('DEFAULT');
  });

  it('step 4: a unit outside the exposure slice gets the default', () => {
    expect(evaluateFlag('f', flag(), user(notExposed()))).toEqual({ flag: 'f', variant: 'control', value: false, reason: 'DEFAULT' });
  });

  it('step 4: the slice is [start, end): start is in, end is out', () => {
    const seed = 'exp/demo';
    // bucket("exp/demo/user-1", 10000) = 7838 and bucket("exp/demo/user-2", 10000) = 2542 (SPEC §6).
    const at = (start: number, end: number) =>
      flag({ audience: [] }, { exposure: { seed, start, end, total: 10000 } });
    expect(evaluateFlag('f', at(7838, 7839), { user_id: 'user-1' }).reason).toBe('SPLIT');
    expect(evaluateFlag('f', at(7838, 7839), { user_id: 'user-2' }).reason).toBe('DEFAULT');
    expect(evaluateFlag('f', at(7000, 7838), { user_id: 'user-1' }).reason).toBe('DEFAULT');
    expect(evaluateFlag('f', at(2542, 2543), { user_id: 'user-2' }).reason).toBe('SPLIT');
    expect(evaluateFlag('f', at(0, 0), { user_id: 'user-2' }).reason).toBe('DEFAULT');
  });

  it('step 5: an exposed unit gets the arm its variant bucket picks, reason SPLIT', () => {
    // bucket("layer/checkout/u42", 10000) = 2634 (SPEC §6), so u42 is exposed by [2600, 2700).
    const f = flag({}, { exposure: { seed: 'layer/checkout', start: 2600, end: 2700, total: 10000 } });
    const w = bucket('exp/checkout-redesign/u42', 100);
    const expected = w < 50 ? 'control' : 'treatment';
    expect(evaluateFlag('checkout_redesign', f, user('u42'))).toEqual({
      flag: 'checkout_redesign',
      variant: expected,
      value: expected === 'treatment',
      reason: 'SPLIT',
    });
  });

  it('step 5: the first bucket whose cumulative weight exceeds w wins', () => {
    const buckets: [string, number][] = [['a', 1], ['b', 2], ['c', 3], ['d', 4]];
    const f = everyone(buckets, { a: 'A', b: 'B', c: 'C', d: 'D' });
    for (let i = 0; i < 200; i++) {
      const w = bucket(`exp/split/user-${i}`, 10);
      const expected = w < 1 ? 'a' : w < 3 ? 'b' : w < 6 ? 'c' : 'd';
      expect(evaluateFlag('f', f, { user_id: `user-${i}` })).toMatchObject({ variant: expected, value: expected.toUpperCase() });
    }
  });

  it('step 5: zero-weight variants are never served, wherever they sit', () => {
    const f = everyone([['zero-first', 0], ['a', 1], ['zero-mid', 0], ['b', 1], ['zero-last', 0]], {
      'zero-first': 0, a: 1, 'zero-mid': 2, b: 3, 'zero-last': 4,
    });
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 2000; i++) seen.add(evaluateFlag('f', f, { user_id: `user-${i}` }).variant);
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('step 5: a variant with all the weight takes every exposed unit', () => {
    const f = everyone([['control', 0], ['treatment', 7]], { control: false, treatment: true });
    for (let i = 0; i < 200; i++) expect(evaluateFlag('f', f, { user_id: `u${i}` }).variant).toBe('treatment');
  });

  it('serves the variant value as the document holds it', () => {
    const value = { layout: 'one-page', steps: [1, 2] };
    const f = everyone([['control', 0], ['treatment', 1]], { control: null, treatment: value });
    expect(evaluateFlag('f', f, { targetingKey: 'anyone' }).value).toEqual(value);
    expect(evaluateFlag('f', everyone([['control', 1], ['treatment', 0]], { control: null, treatment: 1 }), { targetingKey: 'x' }))
      .toMatchObject({ variant: 'control', value: null, reason: 'SPLIT' });
  });

  it('a missing flag is FLAG_NOT_FOUND with no value', () => {
    expect(evaluateFlag('nope', undefined, user('u1'))).toEqual({
      flag: 'nope',
      variant: undefined,
      value: undefined,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      errorMessage: 'flag "nope" does not exist',
    });
  });
});

describe('malformed flags resolve to PARSE_ERROR and never throw', () => {
  const broken: [string, FlagState][] = [
    ['unknown state', flag({ state: 'PAUSED' as FlagState['state'] })],
    ['default variant not among the variants', flag({ default_variant: 'missing' })],
    ['bucket naming an unknown variant', flag({}, { variants: { seed: 's', buckets: [['control', 50], ['ghost', 50]] } })],
    ['negative weight', flag({}, { variants: { seed: 's', buckets: [['control', 50], ['treatment', -1]] } })],
    ['fractional weight', flag({}, { variants: { seed: 's', buckets: [['control', 0.5], ['treatment', 1]] } })],
    ['weights summing to zero', flag({}, { variants: { seed: 's', buckets: [['control', 0], ['treatment', 0]] } })],
    ['no buckets', flag({}, { variants: { seed: 's', buckets: [] } })],
    ['slice past the total', flag({}, { exposure: { seed: 's', start: 0, end: 10001, total: 10000 } })],
    ['slice ending before it starts', flag({}, { exposure: { seed: 's', start: 500, end: 400, total: 10000 } })],
    ['zero total', flag({}, { exposure: { seed: 's', start: 0, end: 0, total: 0 } })],
    ['empty unit', flag({}, { unit: '' })],
    ['unknown audience op', flag({ audience: [{ attribute: 'locale', op: 'like' as 'eq', value: 'en' }] })],
    ['invalid semver in the audience', flag({ audience: [{ attribute: 'v', op: 'semver_gte', value: 'latest' }] })],
  ];

  it.each(broken)('%s', (_name, f) => {
    const res = evaluateFlag('f', f, user('u1'));
    expect(res.reason).toBe('ERROR');
    expect(res.errorCode).toBe('PARSE_ERROR');
    expect(compileFlag('f', f).problems.length).toBeGreaterThan(0);
  });

  it('still serves the default variant when it is sound', () => {
    expect(evaluateFlag('f', flag({}, { unit: '' }), user('u1'))).toMatchObject({ variant: 'control', value: false });
    expect(evaluateFlag('f', flag({ default_variant: 'missing' }), user('u1'))).toMatchObject({ variant: undefined, value: undefined });
  });

  it('lists every problem in the message', () => {
    const res = evaluateFlag('f', flag({ state: 'ON' as 'ENABLED' }, { unit: '' }), user('u1'));
    expect(res.errorMessage).toContain('state');
    expect(res.errorMessage).toContain('allocation.unit');
  });

  it('survives a flag that is not an object, and a hostile context', () => {
    expect(evaluateFlag('f', null as unknown as FlagState, {}).errorCode).toBe('PARSE_ERROR');
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); }, has: () => true, getOwnPropertyDescriptor: () => ({ configurable: true, enumerable: true, value: 'x' }) });
    expect(evaluateFlag('f', flag(), hostile)).toMatchObject({ reason: 'ERROR', errorCode: 'GENERAL', value: false });
  });
});

describe('compileFlag', () => {
  it('gives the same resolutions as evaluateFlag', () => {
    const f = flag({ audience: [] }, { exposure: { seed: 'layer/checkout', start: 1000, end: 6000, total: 10000 } });
    const compiled = compileFlag('checkout_redesign', f);
    expect(compiled.problems).toEqual([]);
    for (let i = 0; i < 500; i++) {
      const c = { user_id: `user-${i}` };
      expect(compiled.evaluate(c)).toEqual(evaluateFlag('checkout_redesign', f, c));
    }
  });

  it('hashes seed + "/" + unit exactly as bucket() does, for any unit text', () => {
    const units = ['u', 'ab', 'abc', 'abcd', 'abcde', 'é', 'ü-😀-x', 'a\ud800b', '日本語', 'x'.repeat(37)];
    for (const seed of ['layer/checkout', 'exp/a', 'exp/checkout-redesign/exposure', 'lay€r/ü']) {
      for (const u of units) {
        const h = bucket(`${seed}/${u}`, 10000);
        const f = flag({ audience: [] }, { exposure: { seed, start: h, end: h + 1, total: 10000 } });
        expect([seed, u, evaluateFlag('f', f, { user_id: u }).reason]).toEqual([seed, u, 'SPLIT']);
      }
    }
  });
});

describe('documents', () => {
  const doc: FlagsDocument = {
    service: 'web',
    version: 7,
    flags: {
      checkout_redesign: flag(),
      paused: flag({ state: 'DISABLED' }),
    },
  };
  // A flag may be called __proto__ (a literal would set the prototype instead).
  Object.defineProperty(doc.flags, '__proto__', { value: flag({ state: 'DISABLED' }), enumerable: true });

  it('evaluateDocument resolves every flag, keyed by flag', () => {
    const all = evaluateDocument(doc, user('u1'));
    expect(Object.keys(all).sort()).toEqual(['__proto__', 'checkout_redesign', 'paused']);
    expect(all['paused']).toMatchObject({ flag: 'paused', reason: 'DISABLED' });
    expect(all['checkout_redesign']).toEqual(evaluateFlag('checkout_redesign', flag(), user('u1')));
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
  });

  it('compileDocument looks flags up by key and reports unknown ones', () => {
    const compiled = compileDocument(doc);
    expect(compiled).toMatchObject({ service: 'web', version: 7 });
    expect(compiled.evaluate('paused', {}).reason).toBe('DISABLED');
    expect(compiled.evaluate('toString', {})).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('one malformed flag does not spoil the others', () => {
    const all = evaluateDocument({ service: 'web', version: 1, flags: { bad: flag({ default_variant: 'x' }), good: flag({ state: 'DISABLED' }) } }, {});
    expect(all['bad']?.errorCode).toBe('PARSE_ERROR');
    expect(all['good']?.reason).toBe('DISABLED');
  });
});

describe('statistics over 100,000 synthetic users', () => {
  const users = Array.from({ length: 100_000 }, (_, i) => ({ user_id: `user-${i}` }));

  /** Pearson's chi-square statistic of observed counts against expected shares. */
  function chiSquare(observed: number[], shares: number[]): number {
    const n = observed.reduce((a, b) => a + b, 0);
    return observed.reduce((sum, o, i) => sum + (o - n * shares[i]!) ** 2 / (n * shares[i]!), 0);
  }

  it('a 45 % slice exposes 45 ± 0.5 % of units, split 50/50 between arms', () => {
    const f = compileFlag('f', flag({ audience: [] }, { exposure: { seed: 'layer/stats', start: 1000, end: 5500, total: 10000 } }));
    const counts = { control: 0, treatment: 0 };
    let exposed = 0;
    for (const u of users) {
      const res = f.evaluate(u);
      if (res.reason === 'SPLIT') {
        exposed++;
        counts[res.variant as keyof typeof counts]++;
      } else {
        expect(res.reason).toBe('DEFAULT');
      }
    }
    expect(Math.abs(exposed / users.length - 0.45)).toBeLessThanOrEqual(0.005);
    // Critical value of chi-square with 1 degree of freedom at p = 0.001.
    expect(chiSquare([counts.control, counts.treatment], [0.5, 0.5])).toBeLessThan(10.828);
  });

  it('uneven weights are honoured (20/30/50 with a zero-weight arm)', () => {
    const f = compileFlag('f', everyone([['a', 20], ['z', 0], ['b', 30], ['c', 50]], { a: 1, z: 0, b: 2, c: 3 }));
    const counts: Record<string, number> = { a: 0, z: 0, b: 0, c: 0 };
    for (const u of users) counts[f.evaluate(u).variant!]!++;
    expect(counts['z']).toBe(0);
    // Critical value of chi-square with 2 degrees of freedom at p = 0.001.
    expect(chiSquare([counts['a']!, counts['b']!, counts['c']!], [0.2, 0.3, 0.5])).toBeLessThan(13.816);
  });

  it('experiments sharing a layer never expose the same unit', () => {
    const first = compileFlag('a', flag({ audience: [] }, { exposure: { seed: 'layer/checkout', start: 0, end: 4500, total: 10000 } }));
    const second = compileFlag('b', flag({ audience: [] }, { exposure: { seed: 'layer/checkout', start: 4500, end: 9000, total: 10000 } }));
    let both = 0;
    let either = 0;
    for (const u of users) {
      const inFirst = first.evaluate(u).reason === 'SPLIT';
      const inSecond = second.evaluate(u).reason === 'SPLIT';
      if (inFirst && inSecond) both++;
      if (inFirst || inSecond) either++;
    }
    expect(both).toBe(0);
    expect(Math.abs(either / users.length - 0.9)).toBeLessThanOrEqual(0.005);
  });
});
