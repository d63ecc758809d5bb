import { FlagdCore } from '@openfeature/flagd-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audienceProblems, evaluateFlag } from '../../../src/evaluation/index.js';
import type { AudienceCondition, AudienceOp, EvaluationContext, FlagState } from '../../../src/evaluation/types.js';
import { toFlagdDefinition } from '../../../src/flags/flagd-export.js';
import { AUDIENCE_OPS, AudienceConditionSchema } from '../../../src/intents/intent-schema.js';
import { flagdResolve } from '../../fixtures/flagd-resolve.js';

/**
 * The flagd translation of each audience op (src/flags/flagd-export.ts, `conditionRule`), evaluated
 * by flagd-core (the JavaScript flagd, json-logic-engine, in both its compiled and interpreted
 * modes), against Switchyard's own audience evaluation (SPEC §6 step 3) on generated contexts:
 * absent attributes, null, every JSON type, type mismatches, non-ASCII and astral strings, lone
 * surrogates, values near the condition's own. No server; fast-check with a fixed, printed seed.
 *
 * The ops come from the intent schema's enum (AUDIENCE_OPS): an op added there without a generator
 * below fails the first test (and `tsc`, through the Record type).
 *
 * The flag has full exposure and one variant bucket, so the targeting is the audience alone (no
 * hashing: flagd-core's UTF-16 hashing of non-ASCII ids is a separate, documented difference).
 * Two documented differences of the export (its header comment) are left out of the comparison,
 * each by a predicate that names it: partial versions (`2.1`) in a `semver_*` context, and string
 * orderings between a character above U+FFFF and one in U+E000–U+FFFF.
 */

const SEED = 20261130;
/** Conditions per op, each against CONTEXTS generated contexts. */
const RUNS = 40;
const CONTEXTS = 12;

/** Characters that make matches likely and reach every text rule: ASCII, Latin-1, CJK, astral, private use, a lone surrogate. */
const ALPHABET = ['a', 'b', 'x', 'A', 'é', 'e\u0301', 'ß', '支', '\u{1F600}', '\u{10FFFD}', '\uE000', '\uFFFD', '\ud800', ' ', '.', '-', '+', '0', '1', '2', '9', 'v', 'V'];
const text = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 6 });
const anyText = fc.oneof(text, fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 4 }));
const number = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0.5, 1e21, -0, 2 ** 53));
const piece = fc.nat({ max: 12 });
const prerelease = fc.constantFrom('', '-alpha', '-beta.2', '-rc.1', '-0', '-x-y');
const build = fc.constantFrom('', '+build.7', '+001');
const version = fc.tuple(piece, piece, piece, prerelease, build).map(([a, b, c, p, m]) => `${a}.${b}.${c}${p}${m}`);
/** Strings a context may carry where a version is expected: valid, with a `v`, padded, partial, too long, junk. */
const versionish = fc.oneof(
  version,
  version.map((v) => `v${v}`),
  version.map((v) => ` ${v} `),
  version.map((v) => `V${v}`),
  fc.tuple(piece, piece).map(([a, b]) => `${a}.${b}`),
  piece.map(String),
  fc.tuple(version, piece).map(([v, d]) => `${v}.${d}`),
  text,
);

/** A condition value of each scalar type. */
const scalarOf = { string: text, number, boolean: fc.boolean() } as const;
const scalar = fc.oneof(text, number, fc.boolean());
/** `values` of one type (what compileAudience accepts; see the report on mixed lists). */
const valuesList = fc.constantFrom('string', 'number', 'boolean').chain((t) => fc.uniqueArray(scalarOf[t] as fc.Arbitrary<string | number | boolean>, { minLength: 1, maxLength: 4 }));

const ATTRIBUTES = ['a', 'país', 'device.os', 'a\\b'];
const attribute = fc.constantFrom(...ATTRIBUTES);

/** One generator per op; the Record makes `tsc` demand a generator for every op of the schema. */
const CONDITIONS: Record<AudienceOp, fc.Arbitrary<AudienceCondition>> = {
  eq: fc.record({ attribute, op: fc.constant('eq'), value: scalar }),
  neq: fc.record({ attribute, op: fc.constant('neq'), value: scalar }),
  in: fc.record({ attribute, op: fc.constant('in'), values: valuesList }),
  not_in: fc.record({ attribute, op: fc.constant('not_in'), values: valuesList }),
  gt: fc.record({ attribute, op: fc.constant('gt'), value: fc.oneof(number, text) }),
  gte: fc.record({ attribute, op: fc.constant('gte'), value: fc.oneof(number, text) }),
  lt: fc.record({ attribute, op: fc.constant('lt'), value: fc.oneof(number, text) }),
  lte: fc.record({ attribute, op: fc.constant('lte'), value: fc.oneof(number, text) }),
  starts_with: fc.record({ attribute, op: fc.constant('starts_with'), value: text }),
  ends_with: fc.record({ attribute, op: fc.constant('ends_with'), value: text }),
  semver_gte: fc.record({ attribute, op: fc.constant('semver_gte'), value: version }),
  semver_lt: fc.record({ attribute, op: fc.constant('semver_lt'), value: version }),
};

/** The attribute's value in a context: near the condition's own value, or anything JSON carries. */
function attributeValue(c: AudienceCondition): fc.Arbitrary<unknown> {
  const near: fc.Arbitrary<unknown>[] = [...(c.values ?? []), ...(c.value === undefined ? [] : [c.value])].map((v) => fc.constant(v));
  const v = c.value;
  const around: fc.Arbitrary<unknown>[] =
    typeof v === 'number'
      ? [fc.constantFrom(v - 1, v + 1, v - 0.5, v + 0.5)]
      : typeof v === 'string'
        ? [fc.tuple(text, text).map(([p, s]) => `${p}${v}${s}`), fc.constantFrom(v.slice(1), v.slice(0, -1), '')]
        : [];
  // Versions on either side of a semver condition's own: a lower major, a higher one, a pre-release of it.
  if (c.op.startsWith('semver_') && typeof v === 'string') around.push(fc.constantFrom(`0.0.0`, `999.0.0`, `${v.split(/[-+]/)[0]}-a`));
  return fc.oneof(
    { arbitrary: fc.oneof(...near, ...around), weight: 3 },
    { arbitrary: c.op.startsWith('semver_') ? versionish : anyText, weight: 3 },
    { arbitrary: number, weight: 1 },
    { arbitrary: fc.boolean(), weight: 1 },
    { arbitrary: fc.constantFrom(null, {}, { length: 3 }, [], [1], ['x'], { a: 1 }), weight: 1 },
  );
}

/** A context: the attribute absent, or set (also under a dotted path's parts, which must not count). */
function context(c: AudienceCondition): fc.Arbitrary<EvaluationContext> {
  return fc.oneof(
    fc.constant({ user_id: 'u-1' }),
    attributeValue(c).map((value) => ({ user_id: 'u-1', [c.attribute]: value })),
    attributeValue(c).map((value) => ({ user_id: 'u-1', device: { os: value }, a: { '\\b': value } })),
  ) as fc.Arbitrary<EvaluationContext>;
}

function flagOf(audience: AudienceCondition[]): FlagState {
  return {
    state: 'ENABLED',
    default_variant: 'off',
    variants: { off: 'off', on: 'on' },
    audience,
    allocation: {
      unit: 'user_id',
      exposure: { seed: 'exp/t/exposure', start: 0, end: 10000, total: 10000 },
      variants: { seed: 'exp/t', buckets: [['on', 1]] },
    },
    experiment: { key: 't', version: 1 },
    provenance: { decision_id: 'd', policy_revision: 'r', actor: 'a', at: '2026-01-01T00:00:00Z' },
  };
}

/** flagd-core's two modes: compiled JSON Logic (its default) and the interpreter. */
const cores = () => [new FlagdCore(), new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true })];

/** A condition the API stores (intent schema) and the evaluator compiles (the flags the server serves). */
const served = (c: AudienceCondition) => AudienceConditionSchema.safeParse(c).success && audienceProblems([c]).length === 0;

/** The export's documented difference on versions: flagd's `sem_ver` reads "2", "2.1" (and a padded one) as versions. */
const partialVersion = (c: AudienceCondition, value: unknown) => c.op.startsWith('semver_') && typeof value === 'string' && /^\s*[vV]?\d+(\.\d+)?\s*$/.test(value);

/** The export's documented difference on string order: UTF-16 code units in JSON Logic, code points in §6. */
const astralVersusPrivateUse = (c: AudienceCondition, value: unknown) =>
  ['gt', 'gte', 'lt', 'lte'].includes(c.op) &&
  typeof value === 'string' &&
  typeof c.value === 'string' &&
  [value, c.value].some((s) => /[\u{10000}-\u{10FFFF}]/u.test(s)) &&
  [value, c.value].some((s) => /[\uE000-\uFFFF]/.test(s));

function documented(c: AudienceCondition, ctx: EvaluationContext): boolean {
  const value = (ctx as Record<string, unknown>)[c.attribute];
  return partialVersion(c, value) || astralVersusPrivateUse(c, value);
}

/** The variant flagd-core gives each context in each mode (one definition loaded once), and ours. */
function both(c: AudienceCondition, contexts: EvaluationContext[]) {
  const flag = flagOf([c]);
  const { definition, skipped } = toFlagdDefinition({ service: 'web', version: 1, flags: { f: flag } });
  expect(skipped).toEqual([]);
  const loaded = cores();
  for (const core of loaded) core.setConfigurations(JSON.stringify(definition));
  return contexts.map((ctx) => {
    const ours = evaluateFlag('f', flag, ctx);
    const theirs = loaded.map((core) => {
      const r = flagdResolve(core, 'f', 'off', ctx);
      return { variant: r.variant, value: r.value };
    });
    return { ctx, ours: { variant: ours.variant, value: ours.value }, theirs };
  });
}

describe('flagd translation of every audience op, against §6 (fast-check)', () => {
  it('has a generator for every op of the intent schema, and only those', () => {
    expect(Object.keys(CONDITIONS).sort()).toEqual([...AUDIENCE_OPS].sort());
  });

  it.each([...AUDIENCE_OPS])(`%s: flagd-core serves the variant §6 serves, on any context (seed ${SEED})`, (op) => {
    let matched = 0;
    let compared = 0;
    fc.assert(
      fc.property(
        CONDITIONS[op]
          .filter(served)
          .chain((c) => fc.tuple(fc.constant(c), fc.array(context(c), { minLength: CONTEXTS, maxLength: CONTEXTS }))),
        ([c, contexts]) => {
          for (const { ctx, ours, theirs } of both(c, contexts.filter((ctx) => !documented(c, ctx)))) {
            for (const t of theirs) expect(t, JSON.stringify({ c, ctx })).toEqual(ours);
            compared++;
            if (ours.variant === 'on') matched++;
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    // The contexts reach both sides of the condition (at least ten each), or agreement would prove little.
    expect(matched).toBeGreaterThanOrEqual(10);
    expect(compared - matched).toBeGreaterThanOrEqual(10);
  });

  it('keeps the documented differences to what the export says, and no more', () => {
    // Partial version: flagd compares it, §6 fails the condition.
    const semver: AudienceCondition = { attribute: 'a', op: 'semver_gte', value: '2.0.0' };
    expect(both(semver, [{ user_id: 'u', a: '2.1' }])[0]).toMatchObject({ ours: { variant: 'off' }, theirs: [{ variant: 'on' }, { variant: 'on' }] });
    // Astral against private use: U+1F600 sorts above U+E000 by code point, below it by UTF-16 code unit.
    const order: AudienceCondition = { attribute: 'a', op: 'gt', value: '\uE000' };
    expect(both(order, [{ user_id: 'u', a: '\u{1F600}' }])[0]).toMatchObject({ ours: { variant: 'on' }, theirs: [{ variant: 'off' }, { variant: 'off' }] });
  });
});
