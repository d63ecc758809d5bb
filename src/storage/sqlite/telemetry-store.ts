import type { ArmSums, TelemetryStore, UnitExposure, UnitMetric } from '../../telemetry/telemetry-store.js';
import type { Database } from './database.js';

/**
 * Per-unit and per-arm telemetry state (SPEC §10.1; docs/telemetry.md says what is kept and how
 * long). Every method runs inside the caller's transaction; nothing here grows with the event
 * rate: a repeated exposure or metric value updates the unit's row in place.
 */
export class SqliteTelemetryStore implements TelemetryStore {
  private readonly s;

  constructor(db: Database) {
    this.s = {
      insertExposure: db.prepare<[string, number, string, string, string]>(
        'INSERT OR IGNORE INTO telemetry_exposures (experiment, version, unit, arm, first_at) VALUES (?, ?, ?, ?, ?)',
      ),
      earlierExposure: db.prepare<[string, string, number, string, string]>(
        'UPDATE telemetry_exposures SET first_at = ? WHERE experiment = ? AND version = ? AND unit = ? AND first_at > ?',
      ),
      exposuresOf: db.prepare<[string], { experiment: string; version: number; arm: string; first_at: string }>(
        'SELECT experiment, version, arm, first_at FROM telemetry_exposures WHERE unit = ?',
      ),
      unitMetric: db.prepare<[string, number, string, string], UnitMetric>(
        'SELECT agg, count FROM telemetry_unit_metrics WHERE experiment = ? AND version = ? AND unit = ? AND metric = ?',
      ),
      putUnitMetric: db.prepare<[string, number, string, string, number, number]>(
        `INSERT INTO telemetry_unit_metrics (experiment, version, unit, metric, agg, count) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment, version, unit, metric) DO UPDATE SET agg = excluded.agg, count = excluded.count`,
      ),
      addArm: db.prepare<[string, number, string, string, number, number, number]>(
        `INSERT INTO telemetry_arm_stats (experiment, version, arm, metric, n, sum, sumsq) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment, version, arm, metric) DO UPDATE SET
           n = n + excluded.n, sum = sum + excluded.sum, sumsq = sumsq + excluded.sumsq`,
      ),
      arms: db.prepare<[string, number], ArmSums>('SELECT arm, metric, n, sum, sumsq FROM telemetry_arm_stats WHERE experiment = ? AND version = ?'),
      addMismatches: db.prepare<[string, number, number]>(
        `INSERT INTO telemetry_mismatches (experiment, version, count) VALUES (?, ?, ?)
         ON CONFLICT (experiment, version) DO UPDATE SET count = count + excluded.count`,
      ),
      mismatches: db.prepare<[string, number], number>('SELECT count FROM telemetry_mismatches WHERE experiment = ? AND version = ?').pluck(),
      guarded: db.prepare<[], { key: string; version: number }>(
        `SELECT v.key AS key, v.version AS version FROM intent_versions v INDEXED BY intent_versions_rollout
         JOIN experiments e ON e.key = v.key AND e.active_version = v.version
         WHERE json_type(v.body, '$.rollout') IS NOT NULL AND e.state = 'running'
         ORDER BY v.key`,
      ),
      lastPoint: db.prepare<[string, number], { seq: number; point: string }>(
        'SELECT seq, point FROM telemetry_analysis_history WHERE experiment = ? AND version = ? ORDER BY seq DESC LIMIT 1',
      ),
      countPoints: db.prepare<[string, number], number>('SELECT count(*) FROM telemetry_analysis_history WHERE experiment = ? AND version = ?').pluck(),
      pointSeqs: db.prepare<[string, number], number>('SELECT seq FROM telemetry_analysis_history WHERE experiment = ? AND version = ? ORDER BY seq').pluck(),
      putPoint: db.prepare<[string, number, number, string, string]>(
        'INSERT INTO telemetry_analysis_history (experiment, version, seq, at, point) VALUES (?, ?, ?, ?, ?)',
      ),
      dropPoint: db.prepare<[string, number, number]>('DELETE FROM telemetry_analysis_history WHERE experiment = ? AND version = ? AND seq = ?'),
      points: db.prepare<[string, number], { at: string; point: string }>(
        'SELECT at, point FROM telemetry_analysis_history WHERE experiment = ? AND version = ? ORDER BY seq',
      ),
      expired: db.prepare<[string], string>(
        `SELECT key FROM experiments WHERE state IN ('completed', 'archived', 'draft') AND updated_at < ?
           AND (EXISTS (SELECT 1 FROM telemetry_exposures t WHERE t.experiment = experiments.key)
             OR EXISTS (SELECT 1 FROM telemetry_unit_metrics m WHERE m.experiment = experiments.key))`,
      ).pluck(),
      dropExposures: db.prepare<[string, number]>(
        `DELETE FROM telemetry_exposures WHERE (experiment, version, unit) IN
           (SELECT experiment, version, unit FROM telemetry_exposures WHERE experiment = ? LIMIT ?)`,
      ),
      dropUnitMetrics: db.prepare<[string, number]>(
        `DELETE FROM telemetry_unit_metrics WHERE (experiment, version, unit, metric) IN
           (SELECT experiment, version, unit, metric FROM telemetry_unit_metrics WHERE experiment = ? LIMIT ?)`,
      ),
    };
  }

  /** Records a unit's exposure; true when it is the unit's first in this experiment version. */
  async addExposure(experiment: string, version: number, unit: string, arm: string, at: string): Promise<boolean> {
    if (this.s.insertExposure.run(experiment, version, unit, arm, at).changes === 1) return true;
    this.s.earlierExposure.run(at, experiment, version, unit, at);
    return false;
  }

  async exposuresOf(unit: string): Promise<UnitExposure[]> {
    return this.s.exposuresOf.all(unit).map((r) => ({ experiment: r.experiment, version: r.version, arm: r.arm, firstAt: r.first_at }));
  }

  async unitMetric(experiment: string, version: number, unit: string, metric: string): Promise<UnitMetric | undefined> {
    return this.s.unitMetric.get(experiment, version, unit, metric);
  }

  async putUnitMetric(experiment: string, version: number, unit: string, metric: string, m: UnitMetric): Promise<void> {
    this.s.putUnitMetric.run(experiment, version, unit, metric, m.agg, m.count);
  }

  async addArmSums(experiment: string, version: number, d: ArmSums): Promise<void> {
    this.s.addArm.run(experiment, version, d.arm, d.metric, d.n, d.sum, d.sumsq);
  }

  async addMismatches(experiment: string, version: number, count: number): Promise<void> {
    this.s.addMismatches.run(experiment, version, count);
  }

  /** Every arm row of an experiment version: a handful of rows, whatever the number of units or events. */
  async armSums(experiment: string, version: number): Promise<ArmSums[]> {
    return this.s.arms.all(experiment, version);
  }

  async mismatches(experiment: string, version: number): Promise<number> {
    return this.s.mismatches.get(experiment, version) ?? 0;
  }

  /**
   * Appends an analysis point to an experiment version's history unless it equals the last one
   * (`point` is compared as JSON; `at` is not part of it), so quiet ticks cost nothing. At `max`
   * points the older half is thinned (every second point dropped, the first kept): the history
   * always spans the version's whole life, at a resolution that halves as it grows. True when appended.
   */
  async appendPoint(experiment: string, version: number, at: string, point: object, max: number): Promise<boolean> {
    const json = JSON.stringify(point);
    const last = this.s.lastPoint.get(experiment, version);
    if (last && last.point === json) return false;
    if (this.s.countPoints.get(experiment, version)! >= max) {
      const seqs = this.s.pointSeqs.all(experiment, version);
      // keep the first, the newest half whole; drop every second one of the older half
      const older = seqs.slice(0, seqs.length - Math.floor(max / 2));
      for (let i = 1; i < older.length; i += 2) this.s.dropPoint.run(experiment, version, older[i]!);
    }
    this.s.putPoint.run(experiment, version, (last?.seq ?? 0) + 1, at, json);
    return true;
  }

  /** An experiment version's analysis points, oldest first, each `{at, ...point}`. */
  async history(experiment: string, version: number): Promise<Record<string, unknown>[]> {
    return this.s.points.all(experiment, version).map((r) => ({ at: r.at, ...(JSON.parse(r.point) as Record<string, unknown>) }));
  }

  /** Running experiments whose active version has a rollout, through the partial index of only those. */
  async guarded(): Promise<{ key: string; version: number }[]> {
    return this.s.guarded.all();
  }

  /**
   * Deletes up to `limit` per-unit rows of experiments that ended (completed, archived, or rolled
   * back to draft) before `before`; the arm sums stay, so an old analysis remains readable. Returns
   * how many rows went, so a caller comes back for the rest instead of holding one long transaction.
   */
  async prune(before: string, limit: number): Promise<number> {
    let removed = 0;
    for (const key of this.s.expired.all(before)) {
      removed += this.s.dropExposures.run(key, limit - removed).changes;
      if (removed < limit) removed += this.s.dropUnitMetrics.run(key, limit - removed).changes;
      if (removed >= limit) break;
    }
    return removed;
  }
}
