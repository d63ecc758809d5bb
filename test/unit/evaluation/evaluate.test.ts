import { describe, it, expect } from 'vitest';
import {
  bucket,
  compileDocument,
  compileFlag,
  evaluateDocument,
  evaluateFlag,
  unitId,
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

describe('compileFlag names every problem exactly', () => {
  const base = () => flag({ audience: [] });
  const withAllocation = (allocation: unknown) => ({ ...base(), allocation }) as unknown as FlagState;
  const withExposure = (exposure: unknown) => flag({ audience: [] }, { exposure: exposure as FlagState['allocation']['exposure'] });
  const withVariants = (variants: unknown) => flag({ audience: [] }, { variants: variants as FlagState['allocation']['variants'] });
  const totalError = 'allocation.exposure.total: must be an integer in [1, 4294967295]';
  const sliceError = 'allocation.exposure: start and end must be integers with 0 <= start <= end <= total';
  const sumError = 'allocation.variants.buckets: weights must sum to an integer in [1, 4294967295]';
  it.each([
    ['not an object', null, ['flag: must be an object']],
    ['a list', [], ['flag: must be an object']],
    ['an unknown state', flag({ audience: [], state: 'ON' as 'ENABLED' }), ['state: must be "ENABLED" or "DISABLED"']],
    ['variants that are a list', flag({ audience: [], variants: [false, true] as unknown as Record<string, unknown>, default_variant: '0' }, { variants: { seed: 's', buckets: [['0', 1]] } }), [
      'variants: must be an object',
      'default_variant: must name one of the variants',
      'allocation.variants.buckets[0]: variant must name one of the variants',
    ]],
    ['a default variant that is not a string', flag({ audience: [], default_variant: 1 as unknown as string }), ['default_variant: must name one of the variants']],
    ['a numeric default variant the variants spell as a string', flag({ audience: [], variants: { 1: true, control: false, treatment: true }, default_variant: 1 as unknown as string }), ['default_variant: must name one of the variants']],
    ['a default variant the variants inherit', flag({ audience: [], default_variant: 'toString' }), ['default_variant: must name one of the variants']],
    ['an audience that is not a list', flag({ audience: {} as unknown as [] }), ['audience: must be a list of conditions']],
    ['no allocation', withAllocation(undefined), ['allocation: must be an object']],
    ['an allocation that is a list', withAllocation([]), ['allocation: must be an object']],
    ['a numeric unit', flag({ audience: [] }, { unit: 5 as unknown as string }), ['allocation.unit: must be a non-empty string']],
    ['no exposure', withExposure(undefined), ['allocation.exposure: must be an object']],
    ['an exposure that is a list', withExposure([]), ['allocation.exposure: must be an object']],
    ['an exposure seed that is not a string', withExposure({ seed: 1, start: 0, end: 1, total: 1 }), ['allocation.exposure.seed: must be a string']],
    ['total 0', withExposure({ seed: 's', start: 0, end: 0, total: 0 }), [totalError]],
    ['total 2^32', withExposure({ seed: 's', start: 0, end: 1, total: 2 ** 32 }), [totalError]],
    ['a fractional total', withExposure({ seed: 's', start: 0, end: 1, total: 10.5 }), [totalError]],
    ['a string total', withExposure({ seed: 's', start: 0, end: 1, total: '10000' }), [totalError]],
    ['a negative start', withExposure({ seed: 's', start: -1, end: 1, total: 10 }), [sliceError]],
    ['a fractional end', withExposure({ seed: 's', start: 0, end: 1.5, total: 10 }), [sliceError]],
    ['no end', withExposure({ seed: 's', start: 0, total: 10 }), [sliceError]],
    ['end before start', withExposure({ seed: 's', start: 5, end: 4, total: 10 }), [sliceError]],
    ['end past total', withExposure({ seed: 's', start: 0, end: 11, total: 10 }), [sliceError]],
    ['no variant allocation', withVariants(undefined), ['allocation.variants: must be an object']],
    ['a variant allocation that is a list', withVariants([]), ['allocation.variants: must be an object']],
    ['a variant seed that is not a string', withVariants({ seed: null, buckets: [['control', 1]] }), ['allocation.variants.seed: must be a string']],
    ['buckets that are not a list', withVariants({ seed: 's', buckets: { control: 1 } }), ['allocation.variants.buckets: must be a non-empty list of [variant, weight]']],
    ['no buckets', withVariants({ seed: 's', buckets: [] }), ['allocation.variants.buckets: must be a non-empty list of [variant, weight]']],
    ['a bucket of one', withVariants({ seed: 's', buckets: [['control', 1], ['treatment']] }), ['allocation.variants.buckets[1]: must be [variant, weight]']],
    ['a bucket of three', withVariants({ seed: 's', buckets: [['control', 1, 2]] }), ['allocation.variants.buckets[0]: must be [variant, weight]']],
    ['a bucket that is an object', withVariants({ seed: 's', buckets: [{ control: 1 }] }), ['allocation.variants.buckets[0]: must be [variant, weight]']],
    ['a bucket naming no variant', withVariants({ seed: 's', buckets: [['ghost', 1]] }), ['allocation.variants.buckets[0]: variant must name one of the variants']],
    ['a bucket with a numeric name', withVariants({ seed: 's', buckets: [[0, 1]] }), ['allocation.variants.buckets[0]: variant must name one of the variants']],
    ['a bucket with a numeric name the variants spell as a string', flag({ audience: [], variants: { 0: 'zero', control: false } }, { variants: { seed: 's', buckets: [[0 as unknown as string, 1]] } }), ['allocation.variants.buckets[0]: variant must name one of the variants']],
    ['a negative weight', withVariants({ seed: 's', buckets: [['control', 2], ['treatment', -1]] }), ['allocation.variants.buckets[1]: weight must be a non-negative integer']],
    ['a string weight', withVariants({ seed: 's', buckets: [['control', '1']] }), ['allocation.variants.buckets[0]: weight must be a non-negative integer']],
    ['weights summing to 0', withVariants({ seed: 's', buckets: [['control', 0], ['treatment', 0]] }), [sumError]],
    ['weights summing to 2^32', withVariants({ seed: 's', buckets: [['control', 2 ** 31], ['treatment', 2 ** 31]] }), [sumError]],
  ] as [string, unknown, string[]][])('%s', (_name, f, problems) => {
    const compiled = compileFlag('f', f as FlagState);
    expect(compiled.problems).toEqual(problems);
    expect(compiled.evaluate({ user_id: 'u1' })).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR', errorMessage: `flag "f" is malformed: ${problems.join('; ')}` });
  });

  it('lists the problems of every part at once, in order', () => {
    const f = { state: 'ON', variants: {}, default_variant: 'x', audience: 'all', allocation: { unit: '', exposure: 1, variants: 2 } };
    expect(compileFlag('f', f as unknown as FlagState).problems).toEqual([
      'state: must be "ENABLED" or "DISABLED"',
      'default_variant: must name one of the variants',
      'audience: must be a list of conditions',
      'allocation.unit: must be a non-empty string',
      'allocation.exposure: must be an object',
      'allocation.variants: must be an object',
    ]);
  });

  it('a flag whose reading throws is one problem, with the error', () => {
    const f = flag({ audience: [] });
    Object.defineProperty(f, 'allocation', { get: () => { throw new Error('boom'); }, enumerable: true });
    const compiled = compileFlag('f', f);
    expect(compiled.problems).toEqual(['flag could not be read: Error: boom']);
    expect(compiled.evaluate({ user_id: 'u' })).toEqual({
      flag: 'f', variant: 'control', value: false, reason: 'ERROR', errorCode: 'PARSE_ERROR',
      errorMessage: 'flag "f" is malformed: flag could not be read: Error: boom',
    });
  });

  it('a malformed flag serves its default only when the default is sound', () => {
    const broken = (over: Record<string, unknown>) => compileFlag('f', { ...flag({ audience: [] }, { unit: '' }), ...over } as FlagState).evaluate({});
    expect(broken({})).toMatchObject({ variant: 'control', value: false });
    expect(broken({ variants: { control: { a: 1 } } })).toMatchObject({ variant: 'control', value: { a: 1 } });
    expect(broken({ default_variant: 7 })).toMatchObject({ variant: undefined, value: undefined });
    expect(broken({ default_variant: 7, variants: { 7: 'seven', control: false } })).toMatchObject({ variant: undefined, value: undefined });
    expect(broken({ variants: ['control'], default_variant: '0' })).toMatchObject({ variant: undefined, value: undefined });
    expect(broken({ variants: Object.create({ control: 1 }) })).toMatchObject({ variant: undefined, value: undefined });
    expect(broken({ variants: null })).toMatchObject({ variant: undefined, value: undefined });
    expect(compileFlag('f', null as unknown as FlagState).evaluate({})).toMatchObject({ variant: undefined, value: undefined });
  });

  it('accepts the bounds: total 1 and 2^32 − 1, weights summing to exactly 2^32 − 1, an empty slice at the very end', () => {
    const one = compileFlag('f', withExposure({ seed: 's', start: 0, end: 1, total: 1 }));
    expect(one.problems).toEqual([]);
    expect(one.evaluate({ user_id: 'anyone' }).reason).toBe('SPLIT');
    const widest = compileFlag('f', withExposure({ seed: 's', start: 0, end: 2 ** 32 - 1, total: 2 ** 32 - 1 }));
    expect(widest.problems).toEqual([]);
    expect(widest.evaluate({ user_id: 'anyone' }).reason).toBe('SPLIT');
    const heavy = compileFlag('f', withVariants({ seed: 's', buckets: [['control', 2 ** 31], ['treatment', 2 ** 31 - 1]] }));
    expect(heavy.problems).toEqual([]);
    const empty = compileFlag('f', withExposure({ seed: 's', start: 10, end: 10, total: 10 }));
    expect(empty.problems).toEqual([]);
    expect(empty.evaluate({ user_id: 'anyone' }).reason).toBe('DEFAULT');
  });

  it('a flag without an audience is a flag for everyone', () => {
    const f = flag({}, { exposure: { seed: 's', start: 0, end: 10000, total: 10000 } });
    delete (f as Partial<FlagState>).audience;
    expect(compileFlag('f', f).problems).toEqual([]);
    expect(evaluateFlag('f', f, { user_id: 'u1' }).reason).toBe('SPLIT');
  });
});

describe('step 4–5 boundaries: first and last unit of a slice, exposure 0 and 100 %, weights', () => {
  /** Units in bucket order under `seed` over `total`: the first id found for each bucket wanted. */
  function unitsAt(seed: string, total: number, wanted: number[]): Map<number, string> {
    const found = new Map<number, string>();
    for (let i = 0; i < 200_000 && found.size < wanted.length; i++) {
      const b = bucket(`${seed}/u${i}`, total);
      if (wanted.includes(b) && !found.has(b)) found.set(b, `u${i}`);
    }
    expect(found.size).toBe(wanted.length);
    return found;
  }

  it('the first bucket of the slice is in, the one before and the one at end are out (total 100)', () => {
    const seed = 'layer/edge';
    const at = unitsAt(seed, 100, [9, 10, 19, 20]);
    const f = compileFlag('f', flag({ audience: [] }, { exposure: { seed, start: 10, end: 20, total: 100 } }));
    expect(f.evaluate({ user_id: at.get(9)! }).reason).toBe('DEFAULT');
    expect(f.evaluate({ user_id: at.get(10)! }).reason).toBe('SPLIT');
    expect(f.evaluate({ user_id: at.get(19)! }).reason).toBe('SPLIT');
    expect(f.evaluate({ user_id: at.get(20)! }).reason).toBe('DEFAULT');
    expect(f.place(at.get(9)!)).toBeUndefined();
    expect(f.place(at.get(20)!)).toBeUndefined();
    expect(f.place(at.get(10)!)).toBeDefined();
  });

  it('exposure 0 % takes no unit, 100 % takes every unit', () => {
    const none = compileFlag('f', flag({ audience: [] }, { exposure: { seed: 's', start: 0, end: 0, total: 10000 } }));
    const all = compileFlag('f', flag({ audience: [] }, { exposure: { seed: 's', start: 0, end: 10000, total: 10000 } }));
    for (let i = 0; i < 300; i++) {
      expect(none.evaluate({ user_id: `u${i}` }).reason).toBe('DEFAULT');
      expect(all.evaluate({ user_id: `u${i}` }).reason).toBe('SPLIT');
    }
  });

  it('w on a cumulative weight goes to the next arm; the last unit of each arm stays in it', () => {
    // Weights 2, 3, 5: cumulative 2, 5, 10; w 0–1 → a, 2–4 → b, 5–9 → c.
    const seed = 'exp/w';
    const at = unitsAt(seed, 10, [0, 1, 2, 4, 5, 9]);
    const f = compileFlag('f', flag({ audience: [], variants: { a: 'A', b: 'B', c: 'C' }, default_variant: 'a' }, {
      exposure: { seed: 's', start: 0, end: 10000, total: 10000 },
      variants: { seed, buckets: [['a', 2], ['b', 3], ['c', 5]] },
    }));
    const served = [0, 1, 2, 4, 5, 9].map((w) => f.evaluate({ user_id: at.get(w)! }).variant);
    expect(served).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect([0, 1, 2, 4, 5, 9].map((w) => f.place(at.get(w)!))).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });
});

describe('unit ids and context errors, exactly', () => {
  it.each([
    [{ user_id: '' }, 'TARGETING_KEY_MISSING', 'context attribute "user_id" (or targetingKey) is empty'],
    [{ user_id: null }, 'TARGETING_KEY_MISSING', 'context has neither "user_id" nor targetingKey'],
    [{ user_id: null, targetingKey: null }, 'TARGETING_KEY_MISSING', 'context has neither "user_id" nor targetingKey'],
    [{}, 'TARGETING_KEY_MISSING', 'context has neither "user_id" nor targetingKey'],
    [{ user_id: true }, 'INVALID_CONTEXT', 'context attribute "user_id" (or targetingKey) must be a string or a finite number'],
    [{ targetingKey: Number.NaN }, 'INVALID_CONTEXT', 'context attribute "user_id" (or targetingKey) must be a string or a finite number'],
  ] as [EvaluationContext, string, string][])('%j: %s', (ctx, errorCode, errorMessage) => {
    expect(evaluateFlag('f', flag({ audience: [] }), ctx)).toEqual({ flag: 'f', variant: 'control', value: false, reason: 'ERROR', errorCode, errorMessage });
  });

  it('a context that is not an object, and a context that throws', () => {
    expect(evaluateFlag('f', flag(), [] as unknown as EvaluationContext)).toMatchObject({ errorCode: 'INVALID_CONTEXT', errorMessage: 'context must be an object' });
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); }, has: () => true, getOwnPropertyDescriptor: () => ({ configurable: true, enumerable: true, value: 'x' }) });
    expect(evaluateFlag('f', flag(), hostile)).toMatchObject({ errorCode: 'GENERAL', errorMessage: 'evaluation failed: Error: boom' });
  });

  it('an inherited targetingKey or unit attribute is not the unit', () => {
    const ctx = Object.create({ targetingKey: 'u1', user_id: 'u1' }) as EvaluationContext;
    expect(evaluateFlag('f', flag({ audience: [] }), ctx)).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
    expect(unitId(ctx, 'user_id')).toBeUndefined();
  });

  it('unitId is the string step 2 hashes, or undefined', () => {
    expect(unitId({ user_id: 'u1', targetingKey: 'k' }, 'user_id')).toBe('u1');
    expect(unitId({ targetingKey: 'k' }, 'user_id')).toBe('k');
    expect(unitId({ user_id: null, targetingKey: 'k' }, 'user_id')).toBe('k');
    expect(unitId({ user_id: 42 }, 'user_id')).toBe('42');
    expect(unitId({ user_id: -0 }, 'user_id')).toBe('0');
    expect(unitId({ user_id: '' }, 'user_id')).toBeUndefined();
    expect(unitId({ user_id: true }, 'user_id')).toBeUndefined();
    expect(unitId({}, 'user_id')).toBeUndefined();
    expect(unitId(null as unknown as EvaluationContext, 'user_id')).toBeUndefined();
    expect(unitId('u1' as unknown as EvaluationContext, 'user_id')).toBeUndefined();
    // A string is not a context, though it has an own "length".
    expect(unitId('u1' as unknown as EvaluationContext, 'length')).toBeUndefined();
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); }, has: () => true, getOwnPropertyDescriptor: () => ({ configurable: true, enumerable: true, value: 'x' }) });
    expect(unitId(hostile, 'user_id')).toBeUndefined();
  });
});

describe('documents whose flags are not an object', () => {
  it.each([null, undefined, [flag()], 'flags'])('%j holds no flag, and every lookup is FLAG_NOT_FOUND', (flags) => {
    const compiled = compileDocument({ service: 'web', version: 3, flags } as unknown as FlagsDocument);
    expect(compiled.flags.size).toBe(0);
    expect(compiled.evaluate('0', {})).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    expect(compiled.evaluateAll({})).toEqual({});
  });

  it('evaluateAll resolves each flag with its own key', () => {
    const compiled = compileDocument({ service: 'web', version: 3, flags: { a: flag({ state: 'DISABLED' }), b: flag() } });
    expect(compiled.evaluateAll({ user_id: 'u1', locale: 'fr-FR' })).toEqual({
      a: { flag: 'a', variant: 'control', value: false, reason: 'DISABLED' },
      b: { flag: 'b', variant: 'control', value: false, reason: 'DEFAULT' },
    });
    expect(compiled.flags.get('b')?.key).toBe('b');
  });
});
