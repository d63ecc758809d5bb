import { parse as parseSemver } from 'semver';
import { z } from 'zod';
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
 * A version the `semver_*` ops can compare (the evaluation's own parser, strict mode; a leading `v`
 * is accepted there, so here too), without the surrounding whitespace the parser would trim.
 */
/**
 * Flag and variant keys: the names a flags document, OFREP and the flagd export serve under, as
 * members of JSON objects. `__proto__` is the one name a JavaScript object cannot hold by
 * assignment: such a flag was approved and then never served (missing from the document, 404 from
 * OFREP). Other Object.prototype names (`constructor`, `toString`, `hasOwnProperty`, …) are served
 * correctly everywhere (test/http/text-rules.test.ts holds that), so only this one is refused.
 */
const servedKey = id.refine((k) => k !== '__proto__', 'cannot be served: "__proto__" is not usable as a flag or variant key');

export const isSemver = (v: unknown) => typeof v === 'string' && v === v.trim() && parseSemver(v) !== null;

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
  });

const isoTime = z.iso.datetime({ offset: true });

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
    exposure: z
      .number()
      .gt(0)
      .lte(100)
      .refine(twoDecimals, 'must have at most two decimals'),
    audience: z.array(AudienceConditionSchema).max(LIMITS.audience).default([]),
    layer: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lowercase letters, digits, . _ - (at most 63)')
      .optional(),
    data_access: z.array(id).max(LIMITS.dataAccess).default([]),
    schedule: z
      .strictObject({ start: isoTime.optional(), end: isoTime.optional() })
      .optional(),
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
  });

export type Intent = z.output<typeof IntentSchema>;
export type AudienceCondition = z.output<typeof AudienceConditionSchema>;

/** Exposure in buckets of 10000: the slice size a layer must find room for. */
export function exposureBuckets(exposure: number): number {
  return Math.round(exposure * 100);
}
