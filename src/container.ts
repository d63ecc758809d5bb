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
import { openStorage } from './storage/open-storage.js';
import { SqliteStorage } from './storage/sqlite/sqlite-storage.js';
import type { Database } from './storage/sqlite/database.js';
import type { DecisionReader } from './policy/decision-store.js';
import type { IdempotencyReader } from './http/idempotency-store.js';
import type { Storage, UnitOfWork } from './unit-of-work.js';
import { Metrics } from './metrics.js';
import { GuardrailLoop } from './telemetry/guardrail-loop.js';
import { metricCatalog, type MetricCatalog } from './telemetry/metric-catalog.js';
import { RolloutAnalysis, type AnalysisPoint } from './telemetry/rollout-analysis.js';
import { TelemetryService } from './telemetry/telemetry-service.js';

export interface ContainerOptions {
  dbPath: string;
  /** PostgreSQL instead of the SQLite file at dbPath (SWITCHYARD_DATABASE_URL, SPEC §11). */
  databaseUrl?: string | undefined;
  databasePoolSize?: number;
  /** PostgreSQL: how often other instances' commits are caught up with no notification (default 5 s; 0: never, for tests). */
  catchUpMs?: number;
  /** PostgreSQL: how long a read waits for the read barrier (SWITCHYARD_READ_BARRIER_MS, ADR 0012; default 200 ms; 0: off). */
  readBarrierMs?: number;
  /** PostgreSQL: the read barrier's lease and commit wait (SWITCHYARD_READ_LEASE_MS, ADR 0012; default 10 ms; 0: none). */
  readLeaseMs?: number;
  /** PostgreSQL: false to not LISTEN for other instances' commits (tests of the read barrier alone). */
  listen?: boolean;
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
  /** The storage port: what the domain was built on. */
  storage: Storage;
  /** The unit of work, timed (what services and the idempotency middleware run their writes in). */
  tx: UnitOfWork;
  /**
   * The SQLite adapter's writer connection, for SQLite-specific tests and tools only (tamper
   * tests, db-dump, benches); no domain module receives it. On PostgreSQL, reading it throws.
   */
  db: Database;
  /** The SQLite adapter itself, for the same tests (its writer-bound stores, its change poll). */
  sqlite: SqliteStorage;
  clock: Clock;
  logger: Logger;
  engine: PolicyEngine;
  policy: PolicyService;
  audit: AuditLog;
  tokens: TokenService;
  intents: IntentService;
  lifecycle: Lifecycle;
  flags: FlagStateService;
  decisions: DecisionReader;
  idempotency: IdempotencyReader;
  metrics: Metrics;
  telemetry: TelemetryService;
  analysis: RolloutAnalysis;
  /** An experiment version's recorded analysis points, oldest first (the guardrail loop writes them). */
  analysisHistory: (key: string, version: number) => Promise<AnalysisPoint[]>;
  /** Started by main.ts; tests call its tick() directly. */
  guardrails: GuardrailLoop;
  close(): Promise<void>;
}

export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const { clock, logger } = opts;
  const onCallbackError = (err: unknown, what = 'an after-commit listener failed') => logger.error({ err }, what);
  const storage = await openStorage({
    dbPath: opts.dbPath,
    databaseUrl: opts.databaseUrl,
    ...(opts.databasePoolSize ? { databasePoolSize: opts.databasePoolSize } : {}),
    ...(opts.catchUpMs !== undefined ? { catchUpMs: opts.catchUpMs } : {}),
    ...(opts.readBarrierMs !== undefined ? { readBarrierMs: opts.readBarrierMs } : {}),
    ...(opts.readLeaseMs !== undefined ? { readLeaseMs: opts.readLeaseMs } : {}),
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    onCallbackError,
  });
  /** The SQLite-only handles below: on PostgreSQL a test or tool that asks for them is told so. */
  const sqliteOnly = <T>(what: string, get: (s: SqliteStorage) => T): T => {
    if (storage instanceof SqliteStorage) return get(storage);
    throw new Error(`container.${what} is SQLite's; this container runs on ${storage.engine}`);
  };
  const { read } = storage;
  const metrics = new Metrics();
  const tx = metrics.observeUnitOfWork(storage.tx);
  const audit = new AuditLog(read.audit, clock);
  const timeouts = opts.policyTimeouts ?? DEFAULT_POLICY_TIMEOUTS;
  const sandbox = new PolicySandbox({ timeoutMs: timeouts.decisionMs, loadTimeoutMs: timeouts.checkMs, logger: logger.child({ module: 'policy' }) });
  const engine = new PolicyEngine(logger.child({ module: 'policy' }), sandbox);
  const policy = new PolicyService({
    engine,
    read,
    audit,
    clock,
    tx,
    logger: logger.child({ module: 'policy' }),
    checks: new PolicyChecks({ timeoutMs: timeouts.checkMs }),
  });
  const flags = new FlagStateService(read.flags, clock, { ...DEFAULT_FLAG_STORAGE_LIMITS, ...opts.storage });
  const pruned = await tx.run((u) => flags.pruneHistory(u.flags));
  if (pruned > 0) logger.info({ pruned, keep: flags.limits.historyVersions }, 'pruned flags-document history beyond the retention');
  // The read path serves from snapshots: loaded now, kept current by after-commit events and, for
  // another process's commits, by the storage's change feed.
  await flags.load(storage);
  // The analysis reads only telemetry's per-arm statistics (SPEC §10.2); the lifecycle asks it before
  // an advance, the guardrail loop before a pause.
  const metricsCatalog = (): MetricCatalog => metricCatalog(engine.current()?.bundle.data);
  const analysis = new RolloutAnalysis({ intents: read.intents, store: read.telemetry, metrics: metricsCatalog });
  const lifecycle = new Lifecycle({ read, flags, audit, clock, tx,
    analysis,
    onCommitted: (events) => {
      for (const e of events) {
        if (e.type === 'advanced') metrics.rolloutAdvances.inc({ by: e.actor === SYSTEM_ACTOR.name ? 'scheduler' : 'person' });
        else if (e.type === 'shipped') metrics.ships.inc();
      }
    },
  });
  const intents = new IntentService({ read, policy: metrics.observeEvaluator(engine), audit, clock, lifecycle });
  // Every bearer token is resolved after the storage's read barrier (ADR 0012): PostgreSQL only.
  const tokens = new TokenService({ read: read.tokens, audit, clock, tx, fresh: storage.fresh?.bind(storage) });
  await tokens.load(storage);
  const telemetry = new TelemetryService({
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
    store: read.telemetry,
    intents: read.intents,
    lifecycle,
    audit,
    clock,
    logger: logger.child({ module: 'guardrails' }),
    onTrip: (_key, status) => metrics.guardrailTrips.inc({ status }),
  });
  await policy.boot(opts.policyBundlePath);
  metrics.trackPolicy(() => engine.revision());
  return {
    storage,
    tx,
    get db() {
      return sqliteOnly('db', (x) => x.db);
    },
    get sqlite() {
      return sqliteOnly('sqlite', (x) => x);
    },
    clock,
    logger,
    engine,
    policy,
    audit,
    tokens,
    intents,
    lifecycle,
    flags,
    decisions: read.decisions,
    idempotency: read.idempotency,
    metrics,
    telemetry,
    analysis,
    // The store keeps points as JSON; the guardrail loop writes each one with historyPoint().
    analysisHistory: async (key, version) => (await read.telemetry.history(key, version)) as unknown as AnalysisPoint[],
    guardrails,
    close: async () => {
      guardrails.stop();
      policy.stop();
      flags.stop();
      tokens.stop();
      sandbox.close();
      await storage.close();
    },
  };
}

export function containerOptions(config: Config, clock: Clock, logger: Logger): ContainerOptions {
  return {
    dbPath: config.dbPath,
    databaseUrl: config.databaseUrl,
    databasePoolSize: config.databasePoolSize,
    readBarrierMs: config.readBarrierMs,
    readLeaseMs: config.readLeaseMs,
    policyBundlePath: config.policyBundlePath,
    clock,
    logger,
    policyTimeouts: config.policyTimeouts,
    storage: { maxDocumentBytes: config.maxDocumentBytes, historyVersions: config.flagHistoryVersions },
  };
}
