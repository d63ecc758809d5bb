/**
 * flagd export, SPEC §7: a service's flags document as a flagd flag definition
 * (https://flagd.dev/schema/v0/flags.json) whose targeting gives every context the variant SPEC §6
 * gives it, so a flagd provider in any language serves the same arm as the server and the SDK.
 *
 * How §6 maps onto flagd's JSON Logic:
 *
 * - Exposure (step 4). flagd's high-precision `fractional` computes, for a bucketing string `s` and
 *   buckets `[v1, w1] … [vn, wn]` with total weight `W`, `b = (murmur3_x86_32(s) × W) >> 32` in
 *   unsigned 64-bit integers and returns the first `vi` whose cumulative weight exceeds `b`. That is
 *   exactly §6's `bucket(s, W)` followed by a cumulative scan. So the slice `[start, end)` of `total`
 *   buckets is three weighted pseudo-variants, `["out", start], ["in", end − start],
 *   ["out", total − end]`, over the bucketing string `exposureSeed + "/" + unit` (see
 *   `bucketingString`: flagd's Go `cat` trims, so the string is built untrimmed), and the
 *   unit is exposed iff that `fractional` returns `"in"`. `fractional` cannot nest a decision, but its
 *   result is an ordinary value that `===` can test, which is all step 4 needs.
 * - Variant (step 5). A second `fractional` over `variantSeed + "/" + unit` with the flag's
 *   `[variant, weight]` buckets verbatim.
 * - Unit (step 2). `ctx[unit] ?? ctx.targetingKey`: `{"if": [{"===": [{"var": unit}, null]},
 *   {"var": "targetingKey"}, {"var": unit}]}`. Only a non-empty string or a number is a usable id
 *   (§6 reports anything else as an error, and serves the default); the targeting checks that before
 *   hashing.
 * - Audience (step 3). One JSON Logic test per condition. A condition on an attribute the context
 *   lacks must fail whatever its op, and comparisons are strictly typed (see evaluation/audience.ts),
 *   so `neq`, `not_in`, the orderings, `starts_with`/`ends_with` and `semver_*` first check the
 *   attribute's type; equality uses `===`, and `in` tests each type's values only on an attribute
 *   of that type (Go's `in` coerces). Type checks use only operators that neither throw nor log on
 *   any JSON value in flagd-core or in flagd's Go daemon (an operator that throws makes flagd-core
 *   report a GENERAL error and flagd a PARSE_ERROR, and both then serve the code default); the two
 *   engines differ there, so the string and number checks branch on which one runs (see the type
 *   tests below). `make interop` checks the daemon on every op.
 * - Every failed step makes the targeting return `null`: flagd then serves `defaultVariant`, our
 *   default variant. flagd's reason is `DEFAULT` there, also where §6 reports an error
 *   (TARGETING_KEY_MISSING, INVALID_CONTEXT): flagd targeting cannot raise errors. Variant and
 *   value are the same.
 * - A paused flag (§6 step 1, DISABLED) is exported as an ENABLED flag without targeting, which
 *   flagd resolves to `defaultVariant` (reason STATIC). A flagd `"state": "DISABLED"` flag would not
 *   do: flagd-core answers it with the caller's code default and no variant, flagd proper with
 *   FLAG_NOT_FOUND, and `resolveAll` leaves it out. Its metadata says `switchyard_state: DISABLED`.
 *
 * Known differences, none of which ASCII identifiers and ordinary attributes reach:
 *
 * - flagd-core (the JavaScript flagd implementation) hashes a JavaScript string's UTF-16 code units
 *   (the `imurmurhash` package), not its UTF-8 bytes; for an id with characters outside ASCII it
 *   buckets differently from §6 and from flagd's Go, Java and other implementations, which hash
 *   UTF-8 and agree with us. test/http/consistency.test.ts shows it.
 * - `sem_ver` in flagd accepts partial versions (`1.2`) and an upper-case `V` prefix; §6's
 *   `semver_*` fail on them. The export refuses the `V` prefix; a partial version in a context still
 *   compares in flagd. flagd's Go daemon logs an error for each `sem_ver` on a string that is not a
 *   version (JSON Logic cannot check the form first).
 * - `gt`/`lt` on strings compare UTF-16 code units in JavaScript JSON Logic, code points in §6; they
 *   differ only between characters above U+FFFF and those in U+E000–U+FFFF.
 * - Attribute names are written as JSON Logic `var` paths with `.` and `\` escaped, which
 *   flagd-core's JSON Logic understands; other flagd implementations may read a dotted name as a
 *   nested path. An attribute named `$flagd` is flagd's own.
 *
 * Flags whose values flagd cannot type (mixed types, `null`, arrays) or that do not compile are left
 * out and named in the definition's `metadata.skipped_flags`: a flagd client then gets
 * FLAG_NOT_FOUND and its code default, as an OFREP client gets an error for a malformed flag.
 */
import { parse as parseSemver } from 'semver';
import { compileFlag } from '../evaluation/index.js';
import type { AudienceCondition, FlagState, FlagsDocument } from '../evaluation/types.js';
import type { StoredFlagDocument } from './flag-store.js';
import { strongEtag } from './flag-state-service.js';

export const FLAGD_SCHEMA_URL = 'https://flagd.dev/schema/v0/flags.json';

export type FlagdMetadata = Record<string, string | number | boolean>;

/** A JSON Logic rule: an object with one operator. */
export type JsonLogicRule = { [operator: string]: unknown };

export interface FlagdFlag {
  state: 'ENABLED' | 'DISABLED';
  variants: Record<string, unknown>;
  defaultVariant: string;
  targeting?: JsonLogicRule;
  metadata: FlagdMetadata;
}

export interface FlagdDefinition {
  $schema: string;
  metadata: FlagdMetadata;
  flags: Record<string, FlagdFlag>;
}

export interface SkippedFlag {
  flag: string;
  reason: string;
}

const v = (path: string): JsonLogicRule => ({ var: path });
const not = (rule: unknown): JsonLogicRule => ({ '!': rule });
const all = (rules: JsonLogicRule[]): JsonLogicRule => (rules.length === 1 ? rules[0]! : { and: rules });

/** A context attribute as a JSON Logic `var` path: `.` separates path segments, `\` escapes. */
export function varPath(attribute: string): string {
  return attribute.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
}

/** What `{"var": [p + ".length", NO_LENGTH]}` gives for values without a length (not strings or arrays). */
const NO_LENGTH = 'no-length';

/**
 * Type tests. They must neither throw nor log in either flagd engine, and the two engines' safe
 * operators differ:
 *
 * - flagd-core (JavaScript, json-logic-engine): `starts_with` is null for a non-string; `in` against
 *   an array is the strict `includes`; `cat` of an object is "[object Object]". `<`/`<=`/`>` throw
 *   when one side does not coerce to a number, `==` throws on objects, `cat` throws on null, and a
 *   bare `{"var": "a.length"}` answers 0, false or "" for a path below a falsy value (hence the
 *   default).
 * - flagd (Go, diegoholiveira/jsonlogic): `starts_with`/`ends_with`/`sem_ver` on a non-string log
 *   an error with a stack trace on every evaluation; `cat` and `+` panic on booleans, objects and
 *   arrays, and `in` panics comparing a number with `true`/`false` (a panic is a PARSE_ERROR).
 *   `<`, `<=`, `>`, `==` never panic: a side that is not a string or a number compares as NaN.
 *
 * So the string and number tests branch on which engine runs them. Go's `cat` of several strings
 * trims the result and flagd-core's does not: `{"cat": [" ", "x"]}` is "x" only in Go. Any other
 * engine takes the JavaScript branch, which is correct everywhere and at worst logs.
 * `===`, `!`, `and`, `or`, `if` and `var` are safe in both; `and` stops at the first failure.
 */
const IN_GO: JsonLogicRule = { '===': [{ cat: [' ', 'x'] }, 'x'] };
const NOT_A_NUMBER = 'x';
const isNull = (p: string): JsonLogicRule => ({ '===': [v(p), null] });
const isBoolean = (p: string): JsonLogicRule => ({ or: [{ '===': [v(p), true] }, { '===': [v(p), false] }] });
/** Go: only two strings compare as strings; anything else against "x" is NaN, so neither holds. */
const goString = (p: string): JsonLogicRule => ({ or: [{ '<=': [v(p), NOT_A_NUMBER] }, { '>': [v(p), NOT_A_NUMBER] }] });
const isString = (p: string): JsonLogicRule => ({ if: [IN_GO, goString(p), { starts_with: [v(p), ''] }] });
const isNumber = (p: string): JsonLogicRule =>
  all([
    not(isNull(p)),
    not(isBoolean(p)),
    {
      if: [
        IN_GO,
        // Left: numbers, objects, arrays. An object or array is NaN, which is not == itself.
        all([not(goString(p)), { '==': [v(p), v(p)] }]),
        all([
          not({ starts_with: [v(p), ''] }),
          { '===': [{ var: [`${p}.length`, NO_LENGTH] }, NO_LENGTH] },
          not({ in: ['[object', { cat: [v(p)] }] }),
        ]),
      ],
    },
  ]);

function isType(type: string, p: string): JsonLogicRule {
  if (type === 'string') return isString(p);
  if (type === 'number') return isNumber(p);
  return isBoolean(p);
}

/**
 * `x` is one of `values`, strictly. `in` is strict in flagd-core, but Go's compares a number with
 * each element as a number (5 is "in" ["5"]) and panics on a boolean element; so each type's values
 * are tested only on an attribute of that type, and booleans with `===`.
 */
function isOneOf(p: string, values: readonly unknown[]): JsonLogicRule {
  const x = v(p);
  const strings = values.filter((e) => typeof e === 'string');
  const numbers = values.filter((e) => typeof e === 'number');
  const rules: JsonLogicRule[] = [];
  if (strings.length > 0) rules.push(all([isString(p), { in: [x, strings] }]));
  if (numbers.length > 0) rules.push(all([isNumber(p), { in: [x, numbers] }]));
  for (const b of [true, false]) if (values.includes(b)) rules.push({ '===': [x, b] });
  if (rules.length === 0) return { '===': [true, false] };
  return rules.length === 1 ? rules[0]! : { or: rules };
}

const ORDER_OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** One audience condition (SPEC §2) as JSON Logic; the condition has already compiled cleanly. */
export function conditionRule(c: AudienceCondition): JsonLogicRule {
  const p = varPath(c.attribute);
  const x = v(p);
  switch (c.op) {
    case 'eq':
      return { '===': [x, c.value] };
    case 'neq':
      return all([isType(typeof c.value, p), { '!==': [x, c.value] }]);
    case 'in':
      return isOneOf(p, c.values ?? []);
    case 'not_in': {
      const values = c.values ?? [];
      const typed = values.length > 0 ? isType(typeof values[0], p) : { or: [isString(p), isNumber(p), isBoolean(p)] };
      return all([typed, not(isOneOf(p, values))]);
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return all([typeof c.value === 'number' ? isNumber(p) : isString(p), { [ORDER_OPS[c.op]]: [x, c.value] }]);
    case 'starts_with':
    case 'ends_with':
      // Guarded: flagd (Go) logs a stack trace for each evaluation on a non-string.
      return all([isString(p), { [c.op]: [x, c.value] }]);
    case 'semver_gte':
    case 'semver_lt': {
      // flagd's schema wants a plain x.y.z[-pre][+build] operand; ours may carry a leading "v".
      const version = parseSemver(String(c.value))!.version;
      return all([isString(p), not({ starts_with: [x, 'V'] }), { sem_ver: [x, c.op === 'semver_gte' ? '>=' : '<', version] }]);
    }
  }
}

/** SPEC §6 step 2: the unit's id, and whether it is one §6 would hash. */
function unitRules(unit: string): { id: JsonLogicRule; usable: JsonLogicRule } {
  const p = varPath(unit);
  const absent = { '===': [v(p), null] };
  const usableAt = (q: string): JsonLogicRule => ({ or: [all([isString(q), { '!==': [v(q), ''] }]), isNumber(q)] });
  return {
    id: { if: [absent, v('targetingKey'), v(p)] },
    usable: { if: [absent, usableAt('targetingKey'), usableAt(p)] },
  };
}

/**
 * `prefix + id` as a bucketing string, untrimmed in every engine. flagd's Go `cat` of several parts
 * trims the result, which would move an id with leading or trailing spaces into another bucket; so
 * a `.` is appended before `cat` (the prefix, a seed, starts with no space) and cut off again with
 * `substr` (Go counts characters, JavaScript UTF-16 code units: one either way for a `.`).
 */
export function bucketingString(prefix: string, id: JsonLogicRule): JsonLogicRule {
  return { substr: [{ cat: [prefix, id, '.'] }, 0, -1] };
}

/** The targeting of an enabled, well-formed flag. */
export function targetingRule(flag: FlagState): JsonLogicRule {
  const { unit, exposure, variants } = flag.allocation;
  const { id, usable } = unitRules(unit);
  const checks: JsonLogicRule[] = [usable, ...flag.audience.map(conditionRule)];
  if (!(exposure.start === 0 && exposure.end === exposure.total)) {
    checks.push({
      '===': [
        {
          fractional: [
            bucketingString(`${exposure.seed}/`, id),
            ['out', exposure.start],
            ['in', exposure.end - exposure.start],
            ['out', exposure.total - exposure.end],
          ],
        },
        'in',
      ],
    });
  }
  const buckets = variants.buckets;
  const split =
    buckets.length === 1
      ? buckets[0]![0]
      : { fractional: [bucketingString(`${variants.seed}/`, id), ...buckets.map(([key, weight]) => [key, weight])] };
  return { if: [all(checks), split, null] };
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** flagd types a flag by its variants: all booleans, all strings, all numbers or all objects. */
function flagdVariantType(values: readonly unknown[]): string | undefined {
  let type: string | undefined;
  for (const value of values) {
    const t =
      typeof value === 'boolean' || typeof value === 'string'
        ? typeof value
        : typeof value === 'number' && Number.isFinite(value)
          ? 'number'
          : isPlainObject(value)
            ? 'object'
            : undefined;
    if (t === undefined || (type !== undefined && t !== type)) return undefined;
    type = t;
  }
  return type;
}

/** The flagd definition of a flags document, and the flags it had to leave out. */
export function toFlagdDefinition(doc: FlagsDocument): { definition: FlagdDefinition; skipped: SkippedFlag[] } {
  const entries: [string, FlagdFlag][] = [];
  const skipped: SkippedFlag[] = [];
  for (const [key, flag] of Object.entries(doc.flags)) {
    const problems = compileFlag(key, flag).problems;
    if (problems.length > 0) {
      skipped.push({ flag: key, reason: `malformed: ${problems.join('; ')}` });
      continue;
    }
    if (flagdVariantType(Object.values(flag.variants)) === undefined) {
      skipped.push({ flag: key, reason: 'flagd needs variant values of one type: all booleans, strings, numbers or objects' });
      continue;
    }
    const metadata: FlagdMetadata = { switchyard_state: flag.state };
    if (typeof flag.experiment?.key === 'string') metadata['experiment'] = flag.experiment.key;
    if (typeof flag.experiment?.version === 'number') metadata['experiment_version'] = flag.experiment.version;
    const exported: FlagdFlag = { state: 'ENABLED', variants: flag.variants, defaultVariant: flag.default_variant, metadata };
    if (flag.state === 'ENABLED') exported.targeting = targetingRule(flag);
    entries.push([key, exported]);
  }
  // fromEntries defines own properties, so a flag named "__proto__" stays a flag.
  const flags = Object.fromEntries(entries);
  const metadata: FlagdMetadata = { flagSetId: doc.service, version: String(doc.version) };
  if (skipped.length > 0) metadata['skipped_flags'] = skipped.map((s) => s.flag).join(',');
  return { definition: { $schema: FLAGD_SCHEMA_URL, metadata, flags }, skipped };
}

export interface FlagdExport {
  json: string;
  etag: string;
  skipped: SkippedFlag[];
}

/** Exports each service's latest document once per version. */
export class FlagdExporter {
  private readonly cache = new Map<string, { sourceEtag: string; out: FlagdExport }>();

  export(doc: StoredFlagDocument): FlagdExport {
    const hit = this.cache.get(doc.service);
    if (hit?.sourceEtag === doc.etag) return hit.out;
    const { definition, skipped } = toFlagdDefinition(JSON.parse(doc.json) as FlagsDocument);
    const json = JSON.stringify(definition);
    const out: FlagdExport = { json, etag: strongEtag(json), skipped };
    this.cache.set(doc.service, { sourceEtag: doc.etag, out });
    return out;
  }
}
