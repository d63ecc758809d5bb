/**
 * Audience conditions (SPEC §2, §6 step 3).
 *
 * Comparison rules, chosen so that a condition never lets a unit in on a guess:
 *
 * - A condition on an attribute the context lacks fails whatever its op, `neq` and `not_in`
 *   included (SPEC §6). `null`, non-finite numbers, objects and arrays count as lacking: they
 *   cannot be compared with a scalar.
 * - Comparisons are strictly typed. `true` never equals `"true"` and `1` never equals `"1"`, and a
 *   type mismatch fails the condition for every op, `neq` and `not_in` included. Coercion would make
 *   the result depend on how a caller happened to serialise an attribute, silently; a failed
 *   condition serves the default variant, the safe side of an experiment.
 * - `gt`/`gte`/`lt`/`lte` compare numbers numerically and strings by Unicode code point (the order
 *   of their UTF-8 bytes, which is what Go's flagd and most other languages use; JavaScript's `<`
 *   orders by UTF-16 code unit, which differs above U+FFFF). Numeric strings are not parsed:
 *   `"10" < "9"`. Send numbers as JSON numbers, versions with the `semver_*` ops.
 * - `semver_gte`/`semver_lt` use SemVer 2.0.0 precedence as the `semver` package parses it (strict
 *   mode, so `1.2` is invalid; a leading `v` is accepted). `1.3.0-beta` is below `1.3.0`. An
 *   invalid version on either side fails the condition.
 * - `in`/`not_in` take `values`, a list of one scalar type; every other op takes `value`.
 *
 * A malformed condition (unknown op, wrong operand, invalid semver operand) fails in
 * `matchesAudience`; `compileAudience` reports it so that a flag carrying it resolves to a
 * `PARSE_ERROR` instead of silently serving the default to everyone.
 */
import { parse as parseSemver, type SemVer } from 'semver';
import type { AudienceCondition, AudienceOp, ConditionValue, EvaluationContext } from './types.js';

export type ContextPredicate = (ctx: EvaluationContext) => boolean;

export type CompiledAudience =
  | { readonly ok: true; readonly matches: ContextPredicate }
  | { readonly ok: false; readonly problems: readonly string[] };

const OPS: ReadonlySet<string> = new Set<AudienceOp>([
  'eq', 'neq', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte',
  'starts_with', 'ends_with', 'semver_gte', 'semver_lt',
]);

const hasOwn = Object.hasOwn;

function isScalar(value: unknown): value is ConditionValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The attribute as a comparable scalar, or `undefined` when the context lacks a usable one. */
function readAttribute(ctx: EvaluationContext, attribute: string): ConditionValue | undefined {
  if (typeof ctx !== 'object' || ctx === null || !hasOwn(ctx, attribute)) return undefined;
  const value = ctx[attribute];
  return isScalar(value) ? value : undefined;
}

/** Maps a UTF-16 code unit so that code-unit order becomes code-point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` by Unicode code point. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function compileCondition(condition: unknown, at: string): ContextPredicate | string {
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    return `${at}: must be an object`;
  }
  const { attribute, op, value, values } = condition as Record<string, unknown>;
  if (typeof attribute !== 'string' || attribute === '') return `${at}.attribute: must be a non-empty string`;
  if (typeof op !== 'string' || !OPS.has(op)) return `${at}.op: unknown op ${JSON.stringify(op)}`;

  if (op === 'in' || op === 'not_in') {
    if (!Array.isArray(values)) return `${at}.values: "${op}" needs a list of values`;
    if (!values.every(isScalar)) return `${at}.values: every value must be a string, number or boolean`;
    const type = values.length > 0 ? typeof values[0] : undefined;
    if (values.some((v) => typeof v !== type)) return `${at}.values: values must all have the same type`;
    const set = new Set<ConditionValue>(values);
    if (op === 'in') {
      return (ctx) => {
        const actual = readAttribute(ctx, attribute);
        return actual !== undefined && set.has(actual);
      };
    }
    return (ctx) => {
      const actual = readAttribute(ctx, attribute);
      return actual !== undefined && (type === undefined || typeof actual === type) && !set.has(actual);
    };
  }

  if (value === undefined) return `${at}.value: "${op}" needs a value`;
  if (!isScalar(value)) return `${at}.value: must be a string, number or boolean`;

  switch (op) {
    case 'eq':
      return (ctx) => readAttribute(ctx, attribute) === value;
    case 'neq':
      return (ctx) => {
        const actual = readAttribute(ctx, attribute);
        return actual !== undefined && typeof actual === typeof value && actual !== value;
      };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof value === 'boolean') return `${at}.value: "${op}" compares numbers or strings`;
      const accept = orderTest(op);
      if (typeof value === 'number') {
        return (ctx) => {
          const actual = readAttribute(ctx, attribute);
          return typeof actual === 'number' && accept(actual < value ? -1 : actual > value ? 1 : 0);
        };
      }
      return (ctx) => {
        const actual = readAttribute(ctx, attribute);
        return typeof actual === 'string' && accept(compareCodePoints(actual, value));
      };
    }
    case 'starts_with':
    case 'ends_with': {
      if (typeof value !== 'string') return `${at}.value: "${op}" needs a string`;
      const atStart = op === 'starts_with';
      return (ctx) => {
        const actual = readAttribute(ctx, attribute);
        return typeof actual === 'string' && (atStart ? actual.startsWith(value) : actual.endsWith(value));
      };
    }
    default: {
      // semver_gte, semver_lt
      const wanted = typeof value === 'string' ? parseSemver(value) : null;
      if (wanted === null) return `${at}.value: "${op}" needs a valid semantic version`;
      const atLeast = op === 'semver_gte';
      return (ctx) => {
        const actual = readAttribute(ctx, attribute);
        if (typeof actual !== 'string') return false;
        const version = parsedVersion(actual);
        return version !== null && (version.compare(wanted) >= 0) === atLeast;
      };
    }
  }
}

/**
 * Parsing a version string costs more than the rest of an evaluation together (a regex and an
 * object), and contexts carry few distinct app versions, so parses are remembered. Bounded: at
 * most 1,024 strings of at most 256 characters, and the map is dropped when full. Only `compare` is ever called on
 * a cached SemVer, which does not mutate it.
 */
const versions = new Map<string, SemVer | null>();
const MAX_CACHED_VERSIONS = 1024;

function parsedVersion(text: string): SemVer | null {
  // semver refuses anything longer than 256 characters; keeping those out bounds the cache's size.
  if (text.length > 256) return null;
  let version = versions.get(text);
  if (version === undefined) {
    if (versions.size >= MAX_CACHED_VERSIONS) versions.clear();
    version = parseSemver(text);
    versions.set(text, version);
  }
  return version;
}

function orderTest(op: 'gt' | 'gte' | 'lt' | 'lte'): (comparison: number) => boolean {
  switch (op) {
    case 'gt':
      return (c) => c > 0;
    case 'gte':
      return (c) => c >= 0;
    case 'lt':
      return (c) => c < 0;
    case 'lte':
      return (c) => c <= 0;
  }
}

/**
 * Turns conditions into one predicate, checking their shape once so the hot path only compares.
 * Takes `unknown` because flag documents arrive as JSON.
 */
export function compileAudience(conditions: unknown): CompiledAudience {
  if (conditions === undefined) conditions = [];
  if (!Array.isArray(conditions)) return { ok: false, problems: ['audience: must be a list of conditions'] };
  const predicates: ContextPredicate[] = [];
  const problems: string[] = [];
  conditions.forEach((condition: unknown, index) => {
    const compiled = compileCondition(condition, `audience[${index}]`);
    if (typeof compiled === 'string') problems.push(compiled);
    else predicates.push(compiled);
  });
  if (problems.length > 0) return { ok: false, problems };
  if (predicates.length === 0) return { ok: true, matches: () => true };
  return {
    ok: true,
    matches: (ctx) => {
      for (const predicate of predicates) if (!predicate(ctx)) return false;
      return true;
    },
  };
}

/**
 * Why these conditions could not be evaluated, empty when they can. Intent validation can use it
 * to refuse an audience that every flag built from it would report as a `PARSE_ERROR`.
 */
export function audienceProblems(conditions: unknown): string[] {
  const compiled = compileAudience(conditions);
  return compiled.ok ? [] : [...compiled.problems];
}

/** Whether every condition holds for `ctx` (SPEC §6 step 3); a malformed condition fails. */
export function matchesAudience(conditions: readonly AudienceCondition[], ctx: EvaluationContext): boolean {
  const compiled = compileAudience(conditions);
  return compiled.ok && compiled.matches(ctx);
}
