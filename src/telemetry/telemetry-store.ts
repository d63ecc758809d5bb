/** An exposure the store keeps: one per (experiment version, unit), whatever the event rate. */
export interface UnitExposure {
  experiment: string;
  version: number;
  arm: string;
  firstAt: string;
}

/** A unit's aggregate of one metric in one experiment version: max (binary) or sum (mean), and the count. */
export interface UnitMetric {
  agg: number;
  count: number;
}

/** Running sums over the per-unit values of one arm: n units, Σx, Σx². */
export interface ArmSums {
  arm: string;
  metric: string;
  n: number;
  sum: number;
  sumsq: number;
}

/**
 * The arm row whose `n` counts the arm's exposed units (every other row is a metric). Metric names
 * are identifiers of at least one character, so the empty name cannot collide with one.
 */
export const EXPOSED = '';

/**
 * Per-unit and per-arm telemetry state (SPEC §10.1; docs/telemetry.md). Nothing here grows with
 * the event rate: a repeated exposure or metric value updates the unit's row in place. The
 * read-modify-write sequences of ingestion (unitMetric then putUnitMetric then addArmSums) are
 * correct only inside one unit of work, which serialises them.
 */
export interface TelemetryReader {
  exposuresOf(unit: string): Promise<UnitExposure[]>;
  unitMetric(experiment: string, version: number, unit: string, metric: string): Promise<UnitMetric | undefined>;
  /** Every arm row of an experiment version (any order): a handful of rows, whatever the number of units. */
  armSums(experiment: string, version: number): Promise<ArmSums[]>;
  mismatches(experiment: string, version: number): Promise<number>;
  /** An experiment version's analysis points, oldest first, each `{at, ...point}`. */
  history(experiment: string, version: number): Promise<Record<string, unknown>[]>;
  /** Running experiments whose active version has a rollout, by key ascending. */
  guarded(): Promise<{ key: string; version: number }[]>;
}

export interface TelemetryStore extends TelemetryReader {
  /** Records a unit's exposure (keeping the earliest firstAt); true when it is the unit's first in this experiment version. */
  addExposure(experiment: string, version: number, unit: string, arm: string, at: string): Promise<boolean>;
  putUnitMetric(experiment: string, version: number, unit: string, metric: string, m: UnitMetric): Promise<void>;
  /** Adds `d` to the arm's running sums (an upsert that adds n, sum, sumsq). */
  addArmSums(experiment: string, version: number, d: ArmSums): Promise<void>;
  addMismatches(experiment: string, version: number, count: number): Promise<void>;
  /**
   * Appends an analysis point unless it equals the last one (compared as JSON; `at` is not part of
   * it). At `max` points the older half is thinned (every second point dropped, the first kept).
   * True when appended.
   */
  appendPoint(experiment: string, version: number, at: string, point: object, max: number): Promise<boolean>;
  /**
   * Deletes up to `limit` per-unit rows of experiments that ended (completed, archived, or rolled
   * back to draft) before `before`; arm sums stay. Returns how many rows went.
   */
  prune(before: string, limit: number): Promise<number>;
}
