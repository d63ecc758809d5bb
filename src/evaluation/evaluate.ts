/**
 * Flag evaluation, SPEC §6: the one implementation the server, the OFREP endpoint, the flagd
 * exporter's tests and the SDK all call, so a unit lands in the same arm everywhere.
 *
 * `compileFlag` validates a flag once and precomputes what does not depend on the context (the
 * audience predicates, the seeds' hash states, cumulative weights); `evaluateFlag` compiles and
 * evaluates in one call. It deliberately keeps no cache keyed by the flag object: a caller that
 * mutates a flag in place must never be served a stale compilation. Hot paths hold a
 * `CompiledFlag` (or `CompiledDocument`) per document version instead.
 *
 * Evaluation never throws (OpenFeature's rule): every failure is a resolution with reason `ERROR`
 * and, when the flag has a usable default variant, that variant and its value.
 */
import { compileAudience, type ContextPredicate } from './audience.js';
import { bucketAfter, MAX_BUCKETS } from './bucket.js';
import { murmur3Prefix, type Murmur3Prefix } from './murmur3.js';
import type {
  ErrorResolution,
  EvaluationContext,
  EvaluationErrorCode,
  FlagsDocument,
  FlagState,
  Resolution,
  SuccessfulResolution,
} from './types.js';

export interface CompiledFlag {
  readonly key: string;
  /** Why the flag cannot be evaluated; when set, every evaluation is a `PARSE_ERROR`. */
  readonly problems: readonly string[];
  evaluate(ctx: EvaluationContext): Resolution;
  /**
   * SPEC §6 steps 4–5 alone for a unit id: the variant the unit is split into, or `undefined` when
   * its bucket is outside the exposure slice or the flag is malformed. Telemetry uses it to check a
   * reported exposure, since the audience cannot be checked without the context.
   */
  place(unit: string): string | undefined;
}

export interface CompiledDocument {
  readonly service: string;
  readonly version: number;
  readonly flags: ReadonlyMap<string, CompiledFlag>;
  /** A missing flag resolves to `FLAG_NOT_FOUND`. */
  evaluate(flagKey: string, ctx: EvaluationContext): Resolution;
  evaluateAll(ctx: EvaluationContext): Record<string, Resolution>;
}

const hasOwn = Object.hasOwn;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function failure(
  flag: string,
  errorCode: EvaluationErrorCode,
  errorMessage: string,
  variant: string | undefined,
  value: unknown,
): ErrorResolution {
  return { flag, variant, value, reason: 'ERROR', errorCode, errorMessage };
}

/** Resolves `FLAG_NOT_FOUND`; exported so every caller words it the same way. */
export function flagNotFound(flagKey: string): ErrorResolution {
  return failure(flagKey, 'FLAG_NOT_FOUND', `flag "${flagKey}" does not exist`, undefined, undefined);
}

interface Split {
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
  /** `cumulative[i]` = weight of buckets 0..i; the first greater than `w` wins. */
  readonly cumulative: readonly number[];
  readonly total: number;
}

/** Everything about a valid flag that does not depend on the context. */
interface Plan {
  readonly enabled: boolean;
  readonly defaultVariant: string;
  readonly defaultValue: unknown;
  readonly unit: string;
  readonly audience: ContextPredicate;
  readonly exposurePrefix: Murmur3Prefix;
  readonly exposureStart: number;
  readonly exposureEnd: number;
  readonly exposureTotal: number;
  readonly variantPrefix: Murmur3Prefix;
  readonly split: Split;
}

/** Validates the flag as untrusted JSON; returns the plan or every problem found. */
function plan(flag: unknown): Plan | string[] {
  if (!isRecord(flag)) return ['flag: must be an object'];
  const problems: string[] = [];
  const { state, default_variant: defaultVariant, variants, allocation } = flag;

  if (state !== 'ENABLED' && state !== 'DISABLED') problems.push('state: must be "ENABLED" or "DISABLED"');
  const variantsOk = isRecord(variants);
  if (!variantsOk) problems.push('variants: must be an object');
  if (typeof defaultVariant !== 'string' || !variantsOk || !hasOwn(variants, defaultVariant)) {
    problems.push('default_variant: must name one of the variants');
  }

  const audience = compileAudience(flag['audience']);
  if (!audience.ok) problems.push(...audience.problems);

  const alloc = isRecord(allocation) ? allocation : undefined;
  if (alloc === undefined) problems.push('allocation: must be an object');
  const unit = alloc?.['unit'];
  if (alloc !== undefined && (typeof unit !== 'string' || unit === '')) {
    problems.push('allocation.unit: must be a non-empty string');
  }

  const exposure = alloc?.['exposure'];
  if (alloc !== undefined) {
    if (!isRecord(exposure)) {
      problems.push('allocation.exposure: must be an object');
    } else {
      const { seed, start, end, total } = exposure;
      if (typeof seed !== 'string') problems.push('allocation.exposure.seed: must be a string');
      if (!isCount(total) || total < 1 || total > MAX_BUCKETS) {
        problems.push(`allocation.exposure.total: must be an integer in [1, ${MAX_BUCKETS}]`);
      } else if (!isCount(start) || !isCount(end) || start > end || end > total) {
        problems.push('allocation.exposure: start and end must be integers with 0 <= start <= end <= total');
      }
    }
  }

  const variantAllocation = alloc?.['variants'];
  const keys: string[] = [];
  const values: unknown[] = [];
  const cumulative: number[] = [];
  let sum = 0;
  if (alloc !== undefined) {
    if (!isRecord(variantAllocation)) {
      problems.push('allocation.variants: must be an object');
    } else {
      const { seed, buckets } = variantAllocation;
      if (typeof seed !== 'string') problems.push('allocation.variants.seed: must be a string');
      if (!Array.isArray(buckets) || buckets.length === 0) {
        problems.push('allocation.variants.buckets: must be a non-empty list of [variant, weight]');
      } else {
        let bucketsOk = true;
        buckets.forEach((entry: unknown, i) => {
          const at = `allocation.variants.buckets[${i}]`;
          if (!Array.isArray(entry) || entry.length !== 2) {
            problems.push(`${at}: must be [variant, weight]`);
            bucketsOk = false;
            return;
          }
          const [key, weight] = entry as [unknown, unknown];
          if (typeof key !== 'string' || !variantsOk || !hasOwn(variants, key)) {
            problems.push(`${at}: variant must name one of the variants`);
            bucketsOk = false;
          } else if (!isCount(weight)) {
            problems.push(`${at}: weight must be a non-negative integer`);
            bucketsOk = false;
          } else {
            sum += weight;
            keys.push(key);
            values.push(variants[key]);
            cumulative.push(sum);
          }
        });
        if (bucketsOk && (sum < 1 || sum > MAX_BUCKETS)) {
          problems.push(`allocation.variants.buckets: weights must sum to an integer in [1, ${MAX_BUCKETS}]`);
        }
      }
    }
  }

  if (problems.length > 0 || !audience.ok) return problems;
  const exp = exposure as Record<string, number> & { seed: string };
  const va = variantAllocation as { seed: string };
  return {
    enabled: state === 'ENABLED',
    defaultVariant: defaultVariant as string,
    defaultValue: (variants as Record<string, unknown>)[defaultVariant as string],
    unit: unit as string,
    audience: audience.matches,
    // Seeds are joined to the unit with "/" (SPEC §6), so absorb the separator with the seed.
    exposurePrefix: murmur3Prefix(`${exp.seed}/`),
    exposureStart: exp['start']!,
    exposureEnd: exp['end']!,
    exposureTotal: exp['total']!,
    variantPrefix: murmur3Prefix(`${va.seed}/`),
    split: { keys, values, cumulative, total: sum },
  };
}

/**
 * The unit's identifier as hashed, or the error to report.
 *
 * SPEC §6 step 2 reads `ctx[unit] ?? ctx.targetingKey` literally: only an absent or `null` unit
 * attribute falls back to `targetingKey`. Strings are used as they are and finite numbers as
 * `String(n)`, because JSON contexts often carry numeric ids; other languages print integers the
 * same way, so ids should be strings or integers. An empty string counts as missing: it would
 * pool every caller without an id into one bucket, which is never a randomised assignment.
 */
function unitOf(ctx: EvaluationContext, unit: string): string | ErrorCodeAndMessage {
  const own = hasOwn(ctx, unit) ? ctx[unit] : undefined;
  const raw = own ?? (hasOwn(ctx, 'targetingKey') ? ctx.targetingKey : undefined);
  if (typeof raw === 'string') {
    return raw !== '' ? raw : ['TARGETING_KEY_MISSING', `context attribute "${unit}" (or targetingKey) is empty`];
  }
  if (raw === undefined || raw === null) {
    return ['TARGETING_KEY_MISSING', `context has neither "${unit}" nor targetingKey`];
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return ['INVALID_CONTEXT', `context attribute "${unit}" (or targetingKey) must be a string or a finite number`];
}

type ErrorCodeAndMessage = [EvaluationErrorCode, string];

/**
 * The unit as step 2 reads it (the string that is hashed), or `undefined` when the context has
 * none usable: what the SDK reports in exposures and metric events, so the server recomputes the
 * same bucket.
 */
export function unitId(ctx: EvaluationContext, unit: string): string | undefined {
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  try {
    const u = unitOf(ctx, unit);
    return typeof u === 'string' ? u : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Prepares a flag for repeated evaluation. Never throws: a malformed flag compiles to one whose
 * every evaluation is a `PARSE_ERROR` (listing `problems`), so one bad flag cannot take down the
 * evaluation of a whole document.
 */
export function compileFlag(flagKey: string, flag: FlagState): CompiledFlag {
  let planned: Plan | string[];
  try {
    planned = plan(flag);
  } catch (err) {
    planned = [`flag could not be read: ${String(err)}`];
  }
  if (Array.isArray(planned)) {
    const problems = Object.freeze(planned);
    const message = `flag "${flagKey}" is malformed: ${problems.join('; ')}`;
    // Serve the default variant if it alone is sound: callers then degrade the way the owner chose.
    const variants: unknown = isRecord(flag) ? flag.variants : undefined;
    const defaultVariant: unknown = isRecord(flag) ? flag.default_variant : undefined;
    const hasDefault = typeof defaultVariant === 'string' && isRecord(variants) && hasOwn(variants, defaultVariant);
    const variant = hasDefault ? defaultVariant : undefined;
    const value = hasDefault ? variants[defaultVariant] : undefined;
    return { key: flagKey, problems, evaluate: () => failure(flagKey, 'PARSE_ERROR', message, variant, value), place: () => undefined };
  }

  const p = planned;
  const { keys, values, cumulative, total } = p.split;
  const resolved = (reason: SuccessfulResolution['reason']): SuccessfulResolution => ({
    flag: flagKey,
    variant: p.defaultVariant,
    value: p.defaultValue,
    reason,
  });
  const failed = ([code, message]: ErrorCodeAndMessage): ErrorResolution =>
    failure(flagKey, code, message, p.defaultVariant, p.defaultValue);

  /** Steps 4 and 5: the index of the unit's variant, or -1 outside the exposure slice. */
  const split = (u: string): number => {
    const h = bucketAfter(p.exposurePrefix, u, p.exposureTotal);
    if (h < p.exposureStart || h >= p.exposureEnd) return -1;
    const w = bucketAfter(p.variantPrefix, u, total);
    for (let i = 0; i < cumulative.length; i++) {
      if (cumulative[i]! > w) return i;
    }
    // Unreachable: w < total = the last cumulative weight.
    return -2;
  };

  const evaluate = (ctx: EvaluationContext): Resolution => {
    try {
      // Step 1: a paused flag needs nothing from the context.
      if (!p.enabled) return resolved('DISABLED');
      if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) {
        return failed(['INVALID_CONTEXT', 'context must be an object']);
      }
      // Step 2.
      const u = unitOf(ctx, p.unit);
      if (typeof u !== 'string') return failed(u);
      // Step 3.
      if (!p.audience(ctx)) return resolved('DEFAULT');
      // Steps 4 and 5.
      const i = split(u);
      if (i === -1) return resolved('DEFAULT');
      if (i < 0) return failed(['GENERAL', `no variant bucket holds unit ${u}`]);
      return { flag: flagKey, variant: keys[i]!, value: values[i]!, reason: 'SPLIT' };
    } catch (err) {
      // Only a hostile context (a throwing getter or proxy) gets here.
      return failed(['GENERAL', `evaluation failed: ${String(err)}`]);
    }
  };
  const place = (unit: string): string | undefined => {
    const i = split(unit);
    return i >= 0 ? keys[i] : undefined;
  };
  return { key: flagKey, problems: [], evaluate, place };
}

/**
 * Evaluates one flag for one context. `flag` may be `undefined` (a lookup that found nothing),
 * which resolves to `FLAG_NOT_FOUND`.
 */
export function evaluateFlag(flagKey: string, flag: FlagState | undefined, ctx: EvaluationContext): Resolution {
  if (flag === undefined) return flagNotFound(flagKey);
  return compileFlag(flagKey, flag).evaluate(ctx);
}

/**
 * Compiles every flag of a service's document, for the SDK and the bulk OFREP endpoint, which
 * evaluate one document version many times.
 */
export function compileDocument(doc: FlagsDocument): CompiledDocument {
  const flags = new Map<string, CompiledFlag>();
  const source: unknown = doc.flags;
  if (isRecord(source)) {
    for (const [key, flag] of Object.entries(source)) flags.set(key, compileFlag(key, flag as FlagState));
  }
  return {
    service: doc.service,
    version: doc.version,
    flags,
    evaluate: (flagKey, ctx) => flags.get(flagKey)?.evaluate(ctx) ?? flagNotFound(flagKey),
    // fromEntries defines own properties, so a flag named "__proto__" stays a flag.
    evaluateAll: (ctx) => Object.fromEntries(Array.from(flags, ([key, flag]) => [key, flag.evaluate(ctx)])),
  };
}

/** Every flag of the document resolved for `ctx`, keyed by flag key. */
export function evaluateDocument(doc: FlagsDocument, ctx: EvaluationContext): Record<string, Resolution> {
  return compileDocument(doc).evaluateAll(ctx);
}
