import type { Clock } from '../clock.js';
import { compileFlag, type CompiledFlag } from '../evaluation/index.js';
import type { FlagsDocument } from '../evaluation/types.js';
import type { FlagStateReader } from '../flags/flag-state-service.js';
import { EXPOSED, type ArmSums, type TelemetryStore, type UnitExposure, type UnitMetric } from './telemetry-store.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { MetricCatalog } from './metric-catalog.js';

/** The most events one request may carry (SPEC §10.1). */
export const MAX_EVENTS = 10_000;

export type TelemetryEvent =
  | { type: 'exposure'; flag: string; unit: string; variant: string; at?: string | undefined }
  | { type: 'metric'; metric: string; unit: string; value: number; at?: string | undefined };

/** Why one telemetry event was rejected (SPEC §10.1); the batch goes on. */
export const REJECTION_CODES = ['unknown_flag', 'unknown_metric'] as const;

export interface Rejection {
  index: number;
  code: (typeof REJECTION_CODES)[number];
  message: string;
}

export interface IngestResult {
  accepted: number;
  rejected: Rejection[];
  /** Exposures accepted but not used: SPEC §6 places the unit elsewhere than the service said. */
  assignment_mismatches: number;
}

/** What ingestion counts, for the metrics endpoint. */
export interface TelemetryCounters {
  onIngest(result: IngestResult): void;
}

/** One flag of a service's served document that a running experiment drives. */
interface ServedFlag {
  experiment: string;
  version: number;
  compiled: CompiledFlag;
}

/**
 * Telemetry ingestion (SPEC §10.1). No raw event is stored: an exposure becomes at most one row per
 * (experiment version, unit) and a metric value updates the unit's aggregate and its arm's running
 * sums in place, so storage is bounded by units and analysis reads only the arm sums.
 *
 * A batch is applied in one transaction, exposures before metrics, so a batch that carries a unit's
 * exposure and its metric counts the metric whatever their order in the batch. A metric event whose
 * unit's exposure has not been received yet (by an earlier batch or this one) counts for nothing:
 * with no raw events kept, it cannot be matched later (docs/telemetry.md).
 */
export class TelemetryService {
  /** The served flags of each service, compiled once per document version. */
  private readonly served = new Map<string, { version: number; flags: Map<string, ServedFlag> }>();

  constructor(
    private readonly deps: {
      flags: FlagStateReader;
      metrics: () => MetricCatalog;
      clock: Clock;
      tx: UnitOfWork;
      counters?: TelemetryCounters;
    },
  ) {}

  /** Pending batches of the group commit: applied together in one transaction at the next turn. */
  private queue: { service: string; events: readonly TelemetryEvent[]; resolve: (r: IngestResult) => void; reject: (e: unknown) => void }[] = [];

  /**
   * Ingests one batch in its own transaction (tests, tools). The HTTP route uses `submit`.
   */
  async ingest(service: string, events: readonly TelemetryEvent[]): Promise<IngestResult> {
    const result = await this.deps.tx.run((u) => this.apply(u.telemetry, service, events));
    this.deps.counters?.onIngest(result);
    return result;
  }

  /**
   * Group commit: batches that arrive while one is being handled are applied together in one
   * durable transaction at the next turn of the event loop, so concurrent senders share an fsync.
   * Each batch still gets its own answer, and each is all or nothing: if the group fails, each batch
   * is retried alone, so one batch's failure never takes another's with it.
   */
  submit(service: string, events: readonly TelemetryEvent[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ service, events, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const group = this.queue;
    this.queue = [];
    let results: IngestResult[] | undefined;
    try {
      results = await this.deps.tx.run(async (u) => {
        const out: IngestResult[] = [];
        for (const g of group) out.push(await this.apply(u.telemetry, g.service, g.events));
        return out;
      });
    } catch {
      results = undefined;
    }
    for (let i = 0; i < group.length; i++) {
      const g = group[i]!;
      if (results) {
        this.deps.counters?.onIngest(results[i]!);
        g.resolve(results[i]!);
        continue;
      }
      try {
        g.resolve(await this.ingest(g.service, g.events));
      } catch (err) {
        g.reject(err);
      }
    }
  }

  /** Applies one batch inside the caller's transaction. */
  private async apply(store: TelemetryStore, service: string, events: readonly TelemetryEvent[]): Promise<IngestResult> {
    const served = this.servedFlags(service);
    const catalog = this.deps.metrics();
    const now = this.deps.clock.now().toISOString();
    const rejected: Rejection[] = [];
    let mismatches = 0;
    {
      const arms = new Map<string, { experiment: string; version: number; sums: ArmSums }>();
      const add = (experiment: string, version: number, arm: string, metric: string, n: number, sum: number, sumsq: number) => {
        const k = `${experiment}\u0000${version}\u0000${arm}\u0000${metric}`;
        let d = arms.get(k);
        if (!d) arms.set(k, (d = { experiment, version, sums: { arm, metric, n: 0, sum: 0, sumsq: 0 } }));
        d.sums.n += n;
        d.sums.sum += sum;
        d.sums.sumsq += sumsq;
      };
      const mismatchBy = new Map<string, { experiment: string; version: number; count: number }>();

      // Units first exposed to an experiment version in this batch: none of their metrics is stored yet.
      const fresh = new Set<string>();

      // Pass 1: exposures, so metrics of this batch see them.
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (e.type !== 'exposure') continue;
        const f = served.get(e.flag);
        if (!f) {
          rejected.push({ index: i, code: 'unknown_flag', message: `No running experiment drives flag ${e.flag} on service ${service}` });
          continue;
        }
        if (f.compiled.place(e.unit) !== e.variant) {
          mismatches++;
          const k = `${f.experiment}\u0000${f.version}`;
          const m = mismatchBy.get(k);
          if (m) m.count++;
          else mismatchBy.set(k, { experiment: f.experiment, version: f.version, count: 1 });
          continue;
        }
        if (await store.addExposure(f.experiment, f.version, e.unit, e.variant, instant(e.at, now))) {
          add(f.experiment, f.version, e.variant, EXPOSED, 1, 0, 0);
          fresh.add(`${f.experiment}\u0000${f.version}\u0000${e.unit}`);
        }
      }

      // Pass 2: metric values, each counted for every experiment version the unit was exposed in by
      // then. A unit's exposures and aggregates are read once per batch and written back once.
      const exposures = new Map<string, UnitExposure[]>();
      const unitMetrics = new Map<string, { experiment: string; version: number; unit: string; metric: string; m: UnitMetric | undefined; dirty: boolean }>();
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (e.type !== 'metric') continue;
        const spec = catalog.get(e.metric);
        if (!spec) {
          rejected.push({ index: i, code: 'unknown_metric', message: `Metric ${e.metric} is not in the metric catalog` });
          continue;
        }
        const at = instant(e.at, now);
        let xs = exposures.get(e.unit);
        if (!xs) exposures.set(e.unit, (xs = await store.exposuresOf(e.unit)));
        for (const x of xs) {
          if (x.firstAt > at) continue;
          const uk = `${x.experiment}\u0000${x.version}\u0000${e.unit}`;
          const mk = `${uk}\u0000${e.metric}`;
          let slot = unitMetrics.get(mk);
          if (!slot) {
            const m = fresh.has(uk) ? undefined : await store.unitMetric(x.experiment, x.version, e.unit, e.metric);
            unitMetrics.set(mk, (slot = { experiment: x.experiment, version: x.version, unit: e.unit, metric: e.metric, m, dirty: false }));
          }
          const old = slot.m;
          let agg: number;
          let value: number;
          let before: number | undefined;
          if (spec.type === 'binary') {
            before = old?.agg;
            agg = Math.max(before ?? 0, e.value > 0 ? 1 : 0);
            value = agg;
            if (old && agg === old.agg) continue;
          } else {
            agg = (old?.agg ?? 0) + e.value;
            value = agg / ((old?.count ?? 0) + 1);
            before = old ? old.agg / old.count : undefined;
          }
          slot.m = { agg, count: (old?.count ?? 0) + 1 };
          slot.dirty = true;
          // The unit's value changed: take its old contribution out of the arm's sums, put the new one in.
          if (before === undefined) add(x.experiment, x.version, x.arm, e.metric, 1, value, value * value);
          else add(x.experiment, x.version, x.arm, e.metric, 0, value - before, value * value - before * before);
        }
      }

      for (const u of unitMetrics.values()) if (u.dirty) await store.putUnitMetric(u.experiment, u.version, u.unit, u.metric, u.m!);
      for (const d of arms.values()) await store.addArmSums(d.experiment, d.version, d.sums);
      for (const m of mismatchBy.values()) await store.addMismatches(m.experiment, m.version, m.count);
      rejected.sort((a, b) => a.index - b.index);
      return { accepted: events.length - rejected.length, rejected, assignment_mismatches: mismatches };
    }
  }

  /** The flags of the service's current document that a running experiment drives (ENABLED). */
  private servedFlags(service: string): Map<string, ServedFlag> {
    const doc = this.deps.flags.current(service);
    const hit = this.served.get(service);
    if (hit && hit.version === doc.version) return hit.flags;
    const flags = new Map<string, ServedFlag>();
    const parsed = JSON.parse(doc.json) as FlagsDocument;
    for (const [name, state] of Object.entries(parsed.flags)) {
      if (state.state !== 'ENABLED' || !state.experiment) continue;
      flags.set(name, { experiment: state.experiment.key, version: state.experiment.version, compiled: compileFlag(name, state) });
    }
    this.served.set(service, { version: doc.version, flags });
    return flags;
  }
}

/** An event's time as a canonical ISO instant (so instants compare as strings), receipt time when absent. */
function instant(at: string | undefined, now: string): string {
  return at === undefined ? now : new Date(at).toISOString();
}
