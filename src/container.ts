import { SYSTEM_ACTOR } from './access/actor.js';
import type { Clock } from './clock.js';
import { DEFAULT_POLICY_TIMEOUTS, type Config, type PolicyTimeouts } from './config.js';
import type { Logger } from './logger.js';
import { AuditLog } from './audit/audit-log.js';
import { TokenService } from './access/token-service.js';
import { DEFAULT_FLAG_STORAGE_LIMITS, FlagStateService, type FlagStorageLimits } from './flags/flag-state-service.js';
import { IntentService } from './intents/intent-service.js';
import { Lifecycle } from './intents/lifecycle.js';
import { PolicyEngine } from './policy/policy-engine.js';
import { PolicyChecks, PolicySandbox } from './policy/policy-sandbox.js';
import { PolicyService } from './policy/policy-service.js';
import { AuditStore } from './storage/audit-store.js';
import { openDatabase, type Database } from './storage/database.js';
import { DecisionStore } from './storage/decision-store.js';
import { FlagStore } from './storage/flag-store.js';
import { IdempotencyStore } from './storage/idempotency-store.js';
import { IntentStore } from './storage/intent-store.js';
import { PolicyStore } from './storage/policy-store.js';
import { RolloutStore } from './storage/rollout-store.js';
import { TokenStore } from './storage/token-store.js';
import { sqliteTransactor } from './storage/transactor.js';
import { Metrics } from './metrics.js';
import { TelemetryStore } from './storage/telemetry-store.js';
import { GuardrailLoop } from './telemetry/guardrail-loop.js';
import { metricCatalog, type MetricCatalog } from './telemetry/metric-catalog.js';
import { RolloutAnalysis } from './telemetry/rollout-analysis.js';
import { TelemetryService } from './telemetry/telemetry-service.js';

export interface ContainerOptions {
  dbPath: string;
  policyBundlePath: string;
  clock: Clock;
  logger: Logger;
  /** Deadlines of policy wasm; the defaults of the config when absent. */
  policyTimeouts?: PolicyTimeouts;
  /** Document size cap and history retention; the defaults when absent (tests). */
  storage?: Partial<FlagStorageLimits>;
}

/** Everything the app is made of, wired in this one place. */
export interface Container {
  db: Database;
  clock: Clock;
  logger: Logger;
  engine: PolicyEngine;
  policy: PolicyService;
  audit: AuditLog;
  tokens: TokenService;
  intents: IntentService;
  lifecycle: Lifecycle;
  flags: FlagStateService;
  decisions: DecisionStore;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  telemetry: TelemetryService;
  analysis: RolloutAnalysis;
  /** An experiment version's recorded analysis points, oldest first (the guardrail loop writes them). */
  analysisHistory: (key: string, version: number) => Record<string, unknown>[];
  /** Started by main.ts; tests call its tick() directly. */
  guardrails: GuardrailLoop;
  close(): void;
}

export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const { clock, logger } = opts;
  const db = openDatabase({ path: opts.dbPath });
  const metrics = new Metrics();
  const tx = metrics.observeTransactor(sqliteTransactor(db));
  const intentStore = new IntentStore(db);
  const decisions = new DecisionStore(db);
  const audit = new AuditLog(new AuditStore(db), clock);
  const timeouts = opts.policyTimeouts ?? DEFAULT_POLICY_TIMEOUTS;
  const sandbox = new PolicySandbox({ timeoutMs: timeouts.decisionMs, loadTimeoutMs: timeouts.checkMs, logger: logger.child({ module: 'policy' }) });
  const engine = new PolicyEngine(logger.child({ module: 'policy' }), sandbox);
  const policy = new PolicyService({
    engine,
    store: new PolicyStore(db),
    intents: intentStore,
    decisions,
    audit,
    clock,
    tx,
    logger: logger.child({ module: 'policy' }),
    checks: new PolicyChecks({ timeoutMs: timeouts.checkMs, dbPath: opts.dbPath }),
  });
  const flags = new FlagStateService(new FlagStore(db), clock, { ...DEFAULT_FLAG_STORAGE_LIMITS, ...opts.storage });
  const pruned = tx.run(() => flags.pruneHistory());
  if (pruned > 0) logger.info({ pruned, keep: flags.limits.historyVersions }, 'pruned flags-document history beyond the retention');
  // The analysis reads only telemetry's per-arm statistics (SPEC §10.2); the lifecycle asks it before
  // an advance, the guardrail loop before a pause.
  const telemetryStore = new TelemetryStore(db);
  const metricsCatalog = (): MetricCatalog => metricCatalog(engine.current()?.bundle.data);
  const analysis = new RolloutAnalysis({ intents: intentStore, store: telemetryStore, metrics: metricsCatalog });
  const lifecycle = new Lifecycle({ intents: intentStore, decisions, flags, audit, clock, tx, rollouts: new RolloutStore(db),
    analysis,
    onCommitted: (events) => {
      for (const e of events) {
        if (e.type === 'advanced') metrics.rolloutAdvances.inc({ by: e.actor === SYSTEM_ACTOR.name ? 'scheduler' : 'person' });
        else if (e.type === 'shipped') metrics.ships.inc();
      }
    },
  });
  const intents = new IntentService({ intents: intentStore, decisions, policy: metrics.observeEvaluator(engine), audit, clock, lifecycle });
  const tokens = new TokenService({ tokens: new TokenStore(db), audit, clock, tx });
  const telemetry = new TelemetryService({
    store: telemetryStore,
    flags,
    metrics: metricsCatalog,
    clock,
    tx,
    counters: {
      onIngest: (r) => {
        const rejected = r.rejected.length;
        metrics.telemetryEvents.inc({ outcome: 'accepted' }, r.accepted - r.assignment_mismatches);
        if (rejected > 0) metrics.telemetryEvents.inc({ outcome: 'rejected' }, rejected);
        if (r.assignment_mismatches > 0) metrics.telemetryEvents.inc({ outcome: 'mismatched' }, r.assignment_mismatches);
      },
    },
  });
  const guardrails = new GuardrailLoop({
    analysis,
    store: telemetryStore,
    intents: intentStore,
    lifecycle,
    audit,
    clock,
    logger: logger.child({ module: 'guardrails' }),
    onTrip: (_key, status) => metrics.guardrailTrips.inc({ status }),
  });
  await policy.boot(opts.policyBundlePath);
  metrics.trackPolicy(() => engine.revision());
  return {
    db,
    clock,
    logger,
    engine,
    policy,
    audit,
    tokens,
    intents,
    lifecycle,
    flags,
    decisions,
    idempotency: new IdempotencyStore(db),
    metrics,
    telemetry,
    analysis,
    analysisHistory: (key, version) => telemetryStore.history(key, version),
    guardrails,
    close: () => {
      guardrails.stop();
      policy.stop();
      sandbox.close();
      if (db.open) db.close();
    },
  };
}

export function containerOptions(config: Config, clock: Clock, logger: Logger): ContainerOptions {
  return {
    dbPath: config.dbPath,
    policyBundlePath: config.policyBundlePath,
    clock,
    logger,
    policyTimeouts: config.policyTimeouts,
    storage: { maxDocumentBytes: config.maxDocumentBytes, historyVersions: config.flagHistoryVersions },
  };
}
