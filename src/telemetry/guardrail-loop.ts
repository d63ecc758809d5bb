import { GUARDRAIL_ACTOR } from '../access/actor.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Lifecycle } from '../intents/lifecycle.js';
import type { Logger } from '../logger.js';
import type { IntentReader } from '../intents/intent-store.js';
import type { TelemetryReader } from './telemetry-store.js';
import type { Analysis, HistoryPoint, RolloutAnalysis } from './rollout-analysis.js';

/** Per-unit telemetry of an ended experiment is kept this long after it ended (docs/telemetry.md). */
export const TELEMETRY_RETENTION_DAYS = 30;
/** Per-unit rows deleted per transaction by the retention sweep; it comes back for the rest. */
const PRUNE_BATCH = 10_000;
/** Analysis points kept per experiment version (docs/telemetry.md "History"); older ones are thinned. */
export const ANALYSIS_HISTORY_MAX = 200;
/** How often the retention sweep runs (it reads the experiments table, so not every tick). */
const PRUNE_EVERY_MS = 3600_000;

export interface GuardrailTick {
  analysed: number;
  tripped: string[];
}

/**
 * SPEC §10.2's automatic action: each tick analyses every running experiment whose active version
 * has a rollout (found through a partial index of only those, so experiments without a rollout cost
 * nothing) and pauses, as the actor `guardrail`, each whose analysis is `regressed` or `srm`.
 *
 * The pause re-reads the experiment and re-analyses inside its transaction, so a trip happens once
 * even if two ticks (or two processes) race. A version a person resumed after a trip is not tripped
 * again: resuming is the person overruling the guardrail for that version.
 */
export class GuardrailLoop {
  private timer: NodeJS.Timeout | null = null;
  private lastPrune = -Infinity;

  constructor(
    private readonly deps: {
      analysis: RolloutAnalysis;
      store: Pick<TelemetryReader, 'guarded'>;
      intents: Pick<IntentReader, 'getExperiment'>;
      lifecycle: Lifecycle;
      audit: AuditLog;
      clock: Clock;
      logger: Logger;
      onTrip?: (key: string, status: string) => void;
    },
  ) {}

  async tick(): Promise<GuardrailTick> {
    const tripped: string[] = [];
    let analysed = 0;
    try {
      for (const { key, version } of await this.deps.store.guarded()) {
        analysed++;
        const analysis = await this.deps.analysis.analyse(key);
        await this.record(key, version, analysis);
        const status = analysis.status;
        if (status !== 'regressed' && status !== 'srm') continue;
        if (await this.trip(key, version)) tripped.push(key);
      }
      await this.prune();
    } catch (err) {
      this.deps.logger.error({ err }, 'guardrail tick failed; will retry');
    }
    return { analysed, tripped };
  }

  /** One point of the version's analysis history, unless nothing changed since the last (the console's charts). */
  private async record(key: string, version: number, a: Analysis): Promise<void> {
    if (a.version !== version) return;
    const at = this.deps.clock.now().toISOString();
    await this.deps.lifecycle.transaction((u) => u.telemetry.appendPoint(key, version, at, historyPoint(a), ANALYSIS_HISTORY_MAX));
  }

  private trip(key: string, version: number): Promise<boolean> {
    return this.deps.lifecycle.transaction(async (u) => {
      const exp = await u.intents.getExperiment(key);
      if (!exp || exp.state !== 'running' || exp.activeVersion !== version) return false;
      if ((await this.deps.audit.query({ experiment: key, type: 'guardrail_tripped', afterSeq: 0, limit: 1000 })).some((e) => e.version === version)) {
        return false;
      }
      const analysis = await this.deps.analysis.analyse(key);
      if (analysis.status !== 'regressed' && analysis.status !== 'srm') return false;
      const reason = reasonOf(analysis);
      const detail = analysis as unknown as Record<string, unknown>;
      await this.deps.lifecycle.act(key, 'pause', reason, GUARDRAIL_ACTOR, detail);
      await this.deps.audit.append(u, { type: 'guardrail_tripped', actor: GUARDRAIL_ACTOR.name, experiment: key, version, data: { reason, analysis: detail } });
      this.deps.logger.warn({ experiment: key, version, status: analysis.status }, 'guardrail tripped; experiment paused');
      u.afterCommit(() => this.deps.onTrip?.(key, analysis.status));
      return true;
    });
  }

  private async prune(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const before = new Date(now - TELEMETRY_RETENTION_DAYS * 86_400_000).toISOString();
    let removed = 0;
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH; removed += n) {
      n = await this.deps.lifecycle.transaction((u) => u.telemetry.prune(before, PRUNE_BATCH));
    }
    if (removed > 0) this.deps.logger.info({ removed, before }, 'pruned per-unit telemetry of ended experiments');
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** What the history keeps of an analysis: units, status, and per guardrail and arm the change and its interval. */
export function historyPoint(a: Analysis): HistoryPoint {
  return {
    units: a.units,
    status: a.status,
    guardrails: a.guardrails.map((g) => ({ metric: g.metric, arm: g.arm, relative_change: g.relative_change, interval: g.interval, status: g.status })),
  };
}

/** The pause's `reason`: what tripped, in one line. */
export function reasonOf(a: Analysis): string {
  if (a.status === 'srm') {
    return `guardrail: sample-ratio mismatch (p = ${a.srm.p_value.toExponential(2)}; units ${Object.entries(a.units).map(([k, n]) => `${k} ${n}`).join(', ')})`;
  }
  const bad = a.guardrails.filter((g) => g.status === 'regressed');
  return `guardrail: ${bad
    .map((g) => `${g.metric} regressed on ${g.arm} (${pct(g.relative_change!)}, interval [${pct(g.interval![0])}, ${pct(g.interval![1])}], tolerated ${pct(g.max_regression)})`)
    .join('; ')}`;
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
