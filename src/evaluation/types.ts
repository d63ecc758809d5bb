/**
 * The flag state document of SPEC §5 and the results of evaluating it (SPEC §6).
 *
 * These types describe what the server publishes and the SDK receives as JSON; evaluation still
 * validates them at run time (see `compileFlag`), because a document from another server version
 * or a hand-edited export must produce an error resolution, never a crash or a wrong arm.
 */

/** A value an audience condition compares against. */
export type ConditionValue = string | number | boolean;

export type AudienceOp =
  | 'eq'
  | 'neq'
  | 'in'
  | 'not_in'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'starts_with'
  | 'ends_with'
  | 'semver_gte'
  | 'semver_lt';

/** One audience rule; `values` is for `in` / `not_in`, `value` for every other op. */
export interface AudienceCondition {
  attribute: string;
  op: AudienceOp;
  value?: ConditionValue;
  values?: ConditionValue[];
}

export interface ExposureAllocation {
  /** `layer/{layer}` or `exp/{key}/exposure`. */
  seed: string;
  /** The unit is exposed when its bucket is in `[start, end)`. */
  start: number;
  end: number;
  /** Number of buckets, 10000 for the layers the server builds. */
  total: number;
}

export interface VariantAllocation {
  /** `exp/{key}`. */
  seed: string;
  /** `[variant key, integer weight]` in intent order; weights may be zero. */
  buckets: [string, number][];
}

export interface Allocation {
  /** The context attribute that identifies the unit, `user_id` by default. */
  unit: string;
  exposure: ExposureAllocation;
  variants: VariantAllocation;
}

export interface Provenance {
  decision_id: string;
  policy_revision: string;
  actor: string;
  at: string;
}

export interface FlagState {
  /** `DISABLED` while the experiment is paused: everyone gets the default variant. */
  state: 'ENABLED' | 'DISABLED';
  default_variant: string;
  /**
   * Variant key → the JSON value it serves. Typed `unknown` rather than a JSON type because values
   * come straight from intent JSON and each caller narrows them to its flag's type anyway.
   */
  variants: Record<string, unknown>;
  audience: AudienceCondition[];
  allocation: Allocation;
  experiment: { key: string; version: number };
  provenance: Provenance;
}

export interface FlagsDocument {
  service: string;
  version: number;
  flags: Record<string, FlagState>;
}

/**
 * What the caller knows about the unit being evaluated. Attributes are read as own properties
 * only, so a context attribute named like an `Object.prototype` member is simply absent.
 */
export interface EvaluationContext {
  targetingKey?: string;
  [attribute: string]: unknown;
}

export type ResolutionReason = 'SPLIT' | 'DEFAULT' | 'DISABLED' | 'ERROR';

/** The OpenFeature / OFREP error codes evaluation can produce. */
export type EvaluationErrorCode =
  | 'TARGETING_KEY_MISSING'
  | 'FLAG_NOT_FOUND'
  | 'INVALID_CONTEXT'
  | 'PARSE_ERROR'
  | 'GENERAL';

export interface SuccessfulResolution {
  flag: string;
  variant: string;
  value: unknown;
  reason: 'SPLIT' | 'DEFAULT' | 'DISABLED';
  errorCode?: undefined;
  errorMessage?: undefined;
}

export interface ErrorResolution {
  flag: string;
  /**
   * The flag's default variant and its value, so a caller can still serve something sensible;
   * `undefined` when there is none to give (unknown flag, or a flag whose default is broken).
   */
  variant: string | undefined;
  value: unknown;
  reason: 'ERROR';
  errorCode: EvaluationErrorCode;
  errorMessage: string;
}

/** Narrow on `reason === 'ERROR'` to reach `errorCode`. */
export type Resolution = SuccessfulResolution | ErrorResolution;
