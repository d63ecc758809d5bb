import client from 'prom-client';
import type { PolicyEvaluation, PolicyEvaluator } from './policy/policy-engine.js';
import type { PolicyInput } from './policy/policy-input.js';
import type { UnitOfWork } from './unit-of-work.js';

/** The Prometheus registry and the few instruments the code reports to; one per process. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly decisions = new client.Counter({
    name: 'switchyard_decisions_total',
    help: 'Policy decisions by outcome (approved, pending_approval, denied) and whether the engine failed closed',
    labelNames: ['outcome', 'failed_closed'] as const,
    registers: [this.registry],
  });
  readonly violations = new client.Counter({
    name: 'switchyard_decision_violations_total',
    help: 'Violations in policy decisions, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly decisionSeconds = new client.Histogram({
    name: 'switchyard_decision_duration_seconds',
    help: 'In-process wasm policy evaluation time',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly flagReads = batchedCounter(this.registry, {
    name: 'switchyard_flag_reads_total',
    help: 'Flags document reads by service and HTTP status (200 or 304)',
    labelNames: ['service', 'status'] as const,
  });
  readonly ofrepEvaluations = batchedCounter(this.registry, {
    name: 'switchyard_ofrep_evaluations_total',
    help: 'Flags evaluated through OFREP, by service and reason',
    labelNames: ['service', 'reason'] as const,
  });
  readonly sseClients = new client.Gauge({
    name: 'switchyard_sse_clients',
    help: 'Open Server-Sent Events streams',
    registers: [this.registry],
  });
  readonly schedulerLag = new client.Gauge({
    name: 'switchyard_scheduler_lag_seconds',
    help: 'How late the last applied scheduled transition ran after it fell due',
    registers: [this.registry],
  });
  readonly txSeconds = new client.Histogram({
    name: 'switchyard_sqlite_transaction_duration_seconds',
    help: 'SQLite write transaction time (BEGIN IMMEDIATE to COMMIT)',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly telemetryEvents = new client.Counter({
    name: 'switchyard_telemetry_events_total',
    help: 'Telemetry events by outcome: accepted (used), rejected (unknown_flag, unknown_metric), mismatched (assignment mismatch, not used)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly guardrailTrips = new client.Counter({
    name: 'switchyard_guardrail_trips_total',
    help: 'Experiments paused by the guardrail loop, by analysis status (regressed, srm)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly rolloutAdvances = new client.Counter({
    name: 'switchyard_rollout_advances_total',
    help: 'Rollout stages advanced (committed), by who advanced: person (the advance action) or scheduler (auto_advance)',
    labelNames: ['by'] as const,
    registers: [this.registry],
  });
  readonly ships = new client.Counter({
    name: 'switchyard_ships_total',
    help: 'Experiments that started serving a shipped variant to every unit (state shipped, committed)',
    registers: [this.registry],
  });
  private revisionSource: () => string | null = () => null;
  readonly policyInfo: client.Gauge<'revision'>;

  constructor() {
    const source = () => this.revisionSource();
    this.policyInfo = new client.Gauge({
      name: 'switchyard_policy_info',
      help: 'The active policy revision (value 1)',
      labelNames: ['revision'] as const,
      registers: [this.registry],
      // Read at scrape time, so a publish never has to remember to update it.
      collect() {
        this.reset();
        const r = source();
        if (r) this.set({ revision: r }, 1);
      },
    });
    client.collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_' });
  }

  trackPolicy(revision: () => string | null): void {
    this.revisionSource = revision;
  }

  /** An evaluator that records time and outcome around another. */
  observeEvaluator(inner: PolicyEvaluator): PolicyEvaluator {
    return {
      evaluate: (input: PolicyInput): PolicyEvaluation => {
        const end = this.decisionSeconds.startTimer();
        const result = inner.evaluate(input);
        end();
        const d = result.decision;
        const outcome = !d.allow ? 'denied' : d.obligations.approvals.some((a) => a.count > 0) ? 'pending_approval' : 'approved';
        this.decisions.inc({ outcome, failed_closed: String(result.failedClosed) });
        for (const v of d.violations) this.violations.inc({ code: v.code });
        return result;
      },
    };
  }

  /** Times every unit of work (joined runs included, as the transactor's nested runs were). */
  observeUnitOfWork(inner: UnitOfWork): UnitOfWork {
    return {
      run: async (fn) => {
        const end = this.txSeconds.startTimer();
        try {
          return await inner.run(fn);
        } finally {
          end();
        }
      },
    };
  }
}

/** A counter the read path increments: `inc` adds to a plain map, the counter takes it when scraped. */
export interface BatchedCounter<L extends string> {
  inc(labels: Record<L, string>, value?: number): void;
}

/**
 * A prom-client counter whose increments wait in a map keyed by the label values until a scrape
 * collects them: a labelled `inc` sorts and joins its label names on every call, and the read path
 * makes tens of thousands of them a second. A scrape sees every increment made before it.
 */
function batchedCounter<L extends string>(registry: client.Registry, config: { name: string; help: string; labelNames: readonly L[] }): BatchedCounter<L> {
  const pending = new Map<string, { labels: Record<L, string>; n: number }>();
  new client.Counter<L>({
    ...config,
    registers: [registry],
    collect() {
      for (const { labels, n } of pending.values()) this.inc(labels, n);
      pending.clear();
    },
  });
  const names = config.labelNames;
  return {
    inc(labels, value = 1) {
      let key = '';
      for (const name of names) key += `${labels[name]}\0`;
      const entry = pending.get(key);
      if (entry) entry.n += value;
      else pending.set(key, { labels: { ...labels }, n: value });
    },
  };
}
