import { parse as parseSemver } from 'semver';
import { parse as parseDuration } from 'tinyduration';
import { z } from 'zod';
import { audienceProblems } from '../evaluation/audience.js';
import { identifier } from './validation.js';

/**
 * The request body of POST /v1/intents and PUT /v1/intents/{key} (SPEC §2). Objects are strict:
 * an unknown or misspelt field is refused rather than silently dropped, because a dropped `layer`
 * or `data_access` would silently skip a guardrail. Limits keep one intent bounded in size so the
 * policy input (and the wasm memory it needs) stays bounded too.
 */
export const LIMITS = Object.freeze({
  services: 50,
  variants: 20,
  audience: 50,
  audienceValues: 100,
  dataAccess: 20,
  shortString: 128,
  description: 2000,
  valueBytes: 8192,
});

const shortString = z.string().min(1).max(LIMITS.shortString);
/** SPEC §2's identifiers: no control characters. */
const id = identifier(LIMITS.shortString);

/**
 * Exactly two decimals at most: the value must be what rounding it to two decimals gives, so
 * `1.0000000001` is refused (a tolerance would let it through and store a slice it does not name),
 * while `4.5` and `0.07` (not exact in binary, but the same double as their two-decimal form) pass.
 */
export const twoDecimals = (x: number) => Number(x.toFixed(2)) === x;

/**
 * Flag and variant keys: the names a flags document, OFREP and the flagd export serve under, as
 * members of JSON objects. `__proto__` is the one name a JavaScript object cannot hold by
 * assignment: such a flag was approved and then never served (missing from the document, 404 from
 * OFREP). Other Object.prototype names (`constructor`, `toString`, `hasOwnProperty`, …) are served
 * correctly everywhere (test/http/text-rules.test.ts holds that), so only this one is refused.
 */
const servedKey = id.refine((k) => k !== '__proto__', 'cannot be served: "__proto__" is not usable as a flag or variant key');

/**
 * A semantic version as SPEC §2 and semver.org write it: MAJOR.MINOR.PATCH with optional pre-release
 * and build, nothing around it. The evaluation's parser also takes a leading `v` or `=` and trims
 * spaces in a context's attribute (where being lenient costs nothing); an audience value must be
 * the version itself, so a typo is refused at submission instead of failing every evaluation.
 */
export const isSemver = (v: unknown) => typeof v === 'string' && /^\d/.test(v) && parseSemver(v)?.version === v.split('+')[0];

/** A JSON value of bounded serialized size: flag values may be objects, but never unbounded ones. */
const jsonValue = z.json().refine(
  (v) => JSON.stringify(v).length <= LIMITS.valueBytes,
  `must serialize to at most ${LIMITS.valueBytes} bytes`,
);

const scalar = z.union([z.string().max(LIMITS.shortString * 4), z.number(), z.boolean()]);

export const AUDIENCE_OPS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'gt',
  'gte',
  'lt',
  'lte',
  'starts_with',
  'ends_with',
  'semver_gte',
  'semver_lt',
] as const;
const LIST_OPS = new Set<string>(['in', 'not_in']);

export const AudienceConditionSchema = z
  .strictObject({
    attribute: id,
    op: z.enum(AUDIENCE_OPS),
    value: scalar.optional(),
    values: z.array(scalar).min(1).max(LIMITS.audienceValues).optional(),
  })
  .superRefine((c, ctx) => {
    const before = ctx.issues.length;
    if (LIST_OPS.has(c.op)) {
      if (c.values === undefined) ctx.addIssue({ code: 'custom', path: ['values'], message: `op ${c.op} needs values` });
      if (c.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `op ${c.op} takes values, not value` });
    } else {
      if (c.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `op ${c.op} needs value` });
      if (c.values !== undefined) ctx.addIssue({ code: 'custom', path: ['values'], message: `op ${c.op} takes value, not values` });
      if (c.op.startsWith('semver_') && c.value !== undefined && !isSemver(c.value)) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `op ${c.op} needs a semantic version (MAJOR.MINOR.PATCH, optional pre-release and build)` });
      }
    }
    // The evaluator's own check (one rule): a condition it cannot compile would make every flag built
    // from this intent a PARSE_ERROR, so it is refused here (`gt` on a boolean, `starts_with` on a
    // number, `in` over mixed types).
    if (ctx.issues.length === before) {
      for (const problem of audienceProblems([c])) {
        const m = /^audience\[0\]\.(value|values): (.*)$/s.exec(problem);
        ctx.addIssue({ code: 'custom', path: m ? [m[1]!] : [], message: m ? m[2]! : problem });
      }
    }
  });

const isoTime = z.iso.datetime({ offset: true });

/** Exposure in percent, SPEC §2: 0 < x ≤ 100 with at most two decimals (intent and rollout stages). */
const exposure = z.number().gt(0).lte(100).refine(twoDecimals, 'must have at most two decimals');

/** The longest hold a stage may ask for: an experiment's schedule is at most 90 days (SPEC §3). */
export const MAX_HOLD_MS = 90 * 24 * 3600 * 1000;

/**
 * An ISO 8601 duration (`PT30M`, `P1DT2H`, `P2W`) in milliseconds, or a reason it is refused. Years
 * and months have no fixed length, so a hold is written in weeks, days, hours, minutes and seconds.
 */
export function holdMs(text: string): number | string {
  let d: ReturnType<typeof parseDuration>;
  try {
    if (!/^-?P[0-9WDTHMS.,]+$/.test(text)) throw new Error('not a duration');
    d = parseDuration(text);
  } catch {
    return 'must be an ISO 8601 duration such as PT30M or P1DT2H';
  }
  if (d.negative) return 'must not be negative';
  if (d.years || d.months) return 'must be written in weeks, days, hours, minutes and seconds (years and months have no fixed length)';
  const ms = ((((d.weeks ?? 0) * 7 + (d.days ?? 0)) * 24 + (d.hours ?? 0)) * 60 + (d.minutes ?? 0)) * 60_000 + (d.seconds ?? 0) * 1000;
  if (!Number.isFinite(ms) || ms > MAX_HOLD_MS) return 'must be at most 90 days';
  return Math.round(ms);
}

export const ROLLOUT_LIMITS = Object.freeze({ stages: 10, guardrails: 10 });

/** SPEC §10: a staged, guarded rollout. The last stage's exposure must equal the intent's. */
export const RolloutSchema = z
  .strictObject({
    stages: z
      .array(
        z.strictObject({
          exposure,
          hold: z
            .string()
            .max(64)
            .refine((h) => typeof holdMs(h) === 'number', { error: (iss) => String(holdMs(String(iss.input))) })
            .default('PT0S'),
        }),
      )
      .min(1)
      .max(ROLLOUT_LIMITS.stages),
    guardrails: z
      .array(z.strictObject({ metric: id, max_regression: z.number().min(0).max(1_000_000).default(0) }))
      .max(ROLLOUT_LIMITS.guardrails)
      .default([]),
    auto_advance: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    r.stages.forEach((s, i) => {
      if (i > 0 && s.exposure <= r.stages[i - 1]!.exposure) {
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'exposure'], message: 'stage exposures must increase strictly' });
      }
    });
    const metrics = new Set<string>();
    r.guardrails.forEach((g, i) => {
      if (metrics.has(g.metric)) ctx.addIssue({ code: 'custom', path: ['guardrails', i, 'metric'], message: `duplicate guardrail metric ${g.metric}` });
      metrics.add(g.metric);
    });
  });

export const IntentSchema = z
  .strictObject({
    key: id,
    owner: id,
    description: z.string().max(LIMITS.description).optional(),
    unit: shortString.default('user_id'),
    services: z
      .array(z.strictObject({ service: id, flag: servedKey }))
      .min(1)
      .max(LIMITS.services),
    variants: z
      .array(
        z.strictObject({
          key: servedKey,
          weight: z.number().int().min(0).max(1_000_000),
          value: jsonValue,
          overrides: z.record(id, jsonValue).optional(),
        }),
      )
      .min(2)
      .max(LIMITS.variants),
    exposure,
    audience: z.array(AudienceConditionSchema).max(LIMITS.audience).default([]),
    layer: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lowercase letters, digits, . _ - (at most 63)')
      .optional(),
    data_access: z.array(id).max(LIMITS.dataAccess).default([]),
    schedule: z
      .strictObject({ start: isoTime.optional(), end: isoTime.optional() })
      .optional(),
    rollout: RolloutSchema.optional(),
  })
  .superRefine((intent, ctx) => {
    const pairs = new Set<string>();
    intent.services.forEach((s, i) => {
      const id = `${s.service}\u0000${s.flag}`;
      if (pairs.has(id)) {
        ctx.addIssue({ code: 'custom', path: ['services', i], message: `duplicate (service, flag): (${s.service}, ${s.flag})` });
      }
      pairs.add(id);
    });
    const keys = new Set<string>();
    const services = new Set(intent.services.map((s) => s.service));
    intent.variants.forEach((v, i) => {
      if (keys.has(v.key)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: `duplicate variant key ${v.key}` });
      keys.add(v.key);
      for (const service of Object.keys(v.overrides ?? {})) {
        if (!services.has(service)) {
          ctx.addIssue({
            code: 'custom',
            path: ['variants', i, 'overrides', service],
            message: `override for service ${service}, which is not among the intent's services`,
          });
        }
      }
    });
    if (intent.variants.reduce((sum, v) => sum + v.weight, 0) <= 0) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'weights must have a positive sum' });
    }
    const stages = intent.rollout?.stages;
    if (stages && stages.length > 0 && stages.at(-1)!.exposure !== intent.exposure) {
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'stages', stages.length - 1, 'exposure'],
        message: `the last stage's exposure must equal the intent's exposure (${intent.exposure})`,
      });
    }
  });

export type Intent = z.output<typeof IntentSchema>;
export type AudienceCondition = z.output<typeof AudienceConditionSchema>;
export type Rollout = z.output<typeof RolloutSchema>;

/** Exposure in buckets of 10000: the slice size a layer must find room for. */
export function exposureBuckets(exposure: number): number {
  return Math.round(exposure * 100);
}
