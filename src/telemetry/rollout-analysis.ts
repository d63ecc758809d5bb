import { NotFoundError } from '../errors.js';
import type { Intent } from '../intents/intent-schema.js';
import type { AnalysisStatus, RolloutAnalysis as RolloutAnalysisPort } from '../intents/rollout.js';
import type { IntentReader } from '../intents/intent-store.js';
import { EXPOSED, type TelemetryReader } from './telemetry-store.js';
import type { Better, MetricCatalog } from './metric-catalog.js';
import { ALPHA, EMPTY_SUMS, mean, MIN_UNITS, regressed, relativeChange, sampleRatioMismatch, type Sums } from './sequential.js';

export const GUARDRAIL_STATUSES = ['ok', 'collecting', 'regressed'] as const;
export type GuardrailStatus = (typeof GUARDRAIL_STATUSES)[number];

export interface GuardrailResult {
  metric: string;
  arm: string;
  /** null when the metric is not in the catalog: the guardrail cannot be judged and stays `collecting`. */
  better: Better | null;
  max_regression: number;
  control: { units: number; mean: number };
  arm_stats: { units: number; mean: number };
  /** null until both arms have a value and the control mean is positive. */
  relative_change: number | null;
  interval: [number, number] | null;
  status: GuardrailStatus;
}

/** The body of `GET /v1/intents/{key}/analysis` (SPEC §10.2). */
export interface Analysis {
  key: string;
  version: number;
  units: Record<string, number>;
  srm: { p_value: number; flagged: boolean };
  assignment_mismatches: number;
  guardrails: GuardrailResult[];
  status: AnalysisStatus;
  method: { interval: 'msprt-delta'; alpha: number; min_units: number };
}

export type { AnalysisStatus };

/** What the history keeps of an analysis (guardrail-loop.ts `historyPoint`), stored as JSON. */
export interface HistoryPoint {
  units: Record<string, number>;
  status: AnalysisStatus;
  guardrails: Pick<GuardrailResult, 'metric' | 'arm' | 'relative_change' | 'interval' | 'status'>[];
}

/** A history point as read back, with the time the guardrail loop recorded it. */
export interface AnalysisPoint extends HistoryPoint {
  at: string;
}

/**
 * The rollout module's port (advance and auto_advance ask it before a stage moves), answered from
 * telemetry. Analysis of an experiment's active version from the arm sums alone: a few rows per arm and
 * metric, so its cost does not depend on the number of units or events (bench/telemetry.ts).
 */
export class RolloutAnalysis implements RolloutAnalysisPort {
  constructor(
    private readonly deps: {
      intents: Pick<IntentReader, 'getExperiment' | 'getVersion'>;
      store: Pick<TelemetryReader, 'armSums' | 'mismatches'>;
      metrics: () => MetricCatalog;
    },
  ) {}

  async status(key: string): Promise<AnalysisStatus> {
    return (await this.analyse(key)).status;
  }

  async analyse(key: string): Promise<Analysis> {
    const exp = await this.deps.intents.getExperiment(key);
    if (!exp) throw new NotFoundError('intent_not_found', `No intent with key ${key}`);
    const version = exp.activeVersion ?? exp.currentVersion;
    const v = (await this.deps.intents.getVersion(key, version))!;
    const [sums, mismatches] = await Promise.all([this.deps.store.armSums(key, version), this.deps.store.mismatches(key, version)]);
    return analyseSums(v.intent, version, sums, mismatches, this.deps.metrics());
  }
}

/** The analysis of one experiment version from its arm sums: pure, for the A/A simulation. */
export function analyseSums(
  intent: Pick<Intent, 'key' | 'variants' | 'rollout'>,
  version: number,
  rows: readonly { arm: string; metric: string; n: number; sum: number; sumsq: number }[],
  mismatches: number,
  catalog: MetricCatalog,
): Analysis {
  const sums = new Map<string, Sums>();
  for (const r of rows) sums.set(`${r.arm}\u0000${r.metric}`, r);
  const get = (arm: string, metric: string) => sums.get(`${arm}\u0000${metric}`) ?? EMPTY_SUMS;
  const arms = intent.variants.map((v) => v.key);
  const units: Record<string, number> = {};
  for (const a of arms) units[a] = get(a, EXPOSED).n;
  const srm = sampleRatioMismatch(
    arms.map((a) => units[a]!),
    intent.variants.map((v) => v.weight),
  );
  const control = arms[0]!;
  // Treatment arms that can hold units; the control is compared with each.
  const treated = intent.variants.slice(1).filter((v) => v.weight > 0).map((v) => v.key);
  const guards = intent.rollout?.guardrails ?? [];
  // Bonferroni over every interval of the analysis, so the whole analysis errs with at most ALPHA.
  const alpha = ALPHA / Math.max(1, guards.length * treated.length);
  const guardrails: GuardrailResult[] = [];
  for (const g of guards) {
    const spec = catalog.get(g.metric);
    const c = get(control, g.metric);
    for (const arm of treated) {
      const a = get(arm, g.metric);
      const rc = spec ? relativeChange(c, a, alpha) : null;
      let status: GuardrailStatus = 'ok';
      if (!spec || c.n < MIN_UNITS || a.n < MIN_UNITS || !rc) status = 'collecting';
      else if (regressed(rc.interval, spec.better, g.max_regression)) status = 'regressed';
      guardrails.push({
        metric: g.metric,
        arm,
        better: spec?.better ?? null,
        max_regression: g.max_regression,
        control: { units: c.n, mean: mean(c) },
        arm_stats: { units: a.n, mean: mean(a) },
        relative_change: rc?.estimate ?? null,
        interval: rc?.interval ?? null,
        status,
      });
    }
  }
  const status: AnalysisStatus = srm.flagged
    ? 'srm'
    : guardrails.some((g) => g.status === 'regressed')
      ? 'regressed'
      : guardrails.some((g) => g.status === 'collecting')
        ? 'collecting'
        : 'healthy';
  return {
    key: intent.key,
    version,
    units,
    srm,
    assignment_mismatches: mismatches,
    guardrails,
    status,
    method: { interval: 'msprt-delta', alpha, min_units: MIN_UNITS },
  };
}
