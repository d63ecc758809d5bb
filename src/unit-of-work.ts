import type { TokenReader, TokenStore } from './access/token-store.js';
import type { AuditReader, AuditStore } from './audit/audit-store.js';
import type { FlagReader, FlagStore } from './flags/flag-store.js';
import type { IdempotencyReader, IdempotencyStore } from './http/idempotency-store.js';
import type { IntentReader, IntentStore } from './intents/intent-store.js';
import type { RolloutReader, RolloutStore } from './intents/rollout-store.js';
import type { DecisionReader, DecisionStore } from './policy/decision-store.js';
import type { PolicyReader, PolicyStore } from './policy/policy-store.js';
import type { TelemetryReader, TelemetryStore } from './telemetry/telemetry-store.js';

/**
 * The storage port as a whole (docs/adr/0008-storage-port.md). The domain modules declare the
 * stores they use (intents/intent-store.ts, flags/flag-store.ts, …); this file puts them together
 * into what an adapter (src/storage/sqlite, src/storage/postgres) hands the container. Nothing in
 * here names a driver, and no domain module imports an adapter.
 */

/** Every store, bound to one unit of work: reads see the unit's own writes. */
export interface Stores {
  intents: IntentStore;
  rollouts: RolloutStore;
  decisions: DecisionStore;
  flags: FlagStore;
  audit: AuditStore;
  tokens: TokenStore;
  telemetry: TelemetryStore;
  policies: PolicyStore;
  idempotency: IdempotencyStore;
}

/**
 * Every store's read methods. Outside any unit: committed rows only, never a unit's uncommitted
 * writes. Called from inside a unit's async context (a service that reads after its write, within
 * the idempotency unit of a request): through that unit, so its own writes are seen.
 */
export interface ReadStores {
  intents: IntentReader;
  rollouts: RolloutReader;
  decisions: DecisionReader;
  flags: FlagReader;
  audit: AuditReader;
  tokens: TokenReader;
  telemetry: TelemetryReader;
  policies: PolicyReader;
  idempotency: IdempotencyReader;
}

/** The stores of one unit of work, and the hook for what must happen only once it has committed. */
export interface Unit extends Stores {
  /**
   * Runs `fn` after the OUTERMOST unit has committed, in registration order; dropped if it rolls
   * back. Change events (flag documents, token revocations, intent changes) are published from
   * here, so no listener ever hears of a state that was rolled back. A throwing `fn` is logged by
   * the adapter and does not stop the others, nor undo the commit.
   */
  afterCommit(fn: () => void): void;
}

/**
 * One transaction, serialised against every other unit that writes:
 *
 * - `run(fn)` starts a unit, calls `fn(u)`, and commits when the promise it returns resolves, or
 *   rolls back when it rejects (rejecting with the same reason). It resolves after the commit and
 *   after the `afterCommit` callbacks ran.
 * - Units never interleave: while one is open, no other unit's statement runs. The facts that
 *   depend on order (the audit chain's prev_hash, layer slice allocation, the flags feed's seq,
 *   the read-modify-write of telemetry sums) are read and written inside one unit and rely on
 *   this. SQLite: an async mutex around `BEGIN IMMEDIATE … COMMIT` on the one writer connection.
 *   PostgreSQL: every unit takes the same transaction-scoped advisory lock
 *   (`pg_advisory_xact_lock`) as its first statement, so units of every instance on the database
 *   are serialised too; it is released by COMMIT or ROLLBACK.
 * - A `run` called while a unit is open IN THE SAME ASYNC CONTEXT joins it (the adapter tracks the
 *   context, e.g. with AsyncLocalStorage): same transaction, same `u`, and its `afterCommit`
 *   callbacks wait for the outermost commit. A joined run is a SAVEPOINT: when it rejects, its own
 *   writes are rolled back and its `afterCommit` callbacks dropped, and the rejection reaches its
 *   caller; the outer unit goes on (and commits) if the caller catches it (the idempotency
 *   middleware records a handler's 4xx this way). Joined runs of one unit are sequential: await
 *   one before starting the next.
 * - `fn` must only await the unit's own stores (and pure computation): a unit that awaits the
 *   network or a timer holds every writer up.
 * - Driver errors are translated in ONE place per adapter: a unique or primary-key violation the
 *   contract does not turn into a result (see each store) surfaces as a SwitchyardError, the
 *   database being busy or locked past its timeout as `server_busy` (503); the driver's own error
 *   never leaves the adapter.
 */
export interface UnitOfWork {
  run<T>(fn: (u: Unit) => Promise<T>): Promise<T>;
}

/**
 * Changes made by someone else: another process on the same SQLite file (the adapter polls
 * `PRAGMA data_version`, about every 100 ms), or another instance on the same PostgreSQL
 * (LISTEN/NOTIFY). Commits by this process's own units are NOT reported here: their effects are
 * published through `Unit.afterCommit`. On a change, listeners reload whatever snapshot they keep.
 */
export interface ChangeFeed {
  /**
   * Returns the unsubscribe. Listeners are called with no argument: what changed is not said,
   * reload. A listener may return the promise of its reload, rejected if the reload failed: the
   * read barrier (`fresh`) waits for it and counts the snapshots current only if it succeeded.
   */
  onExternalChange(listener: () => unknown): () => void;
  /**
   * The read barrier (ADR 0012): resolves once every snapshot kept from this feed holds every
   * unit committed, by any process, before the call, or after the adapter's bound; never rejects.
   * Absent where no other process can commit unseen (SQLite: see the ADR).
   */
  fresh?(): Promise<void>;
}

/** What an adapter hands the container. */
export interface Storage extends ChangeFeed {
  /** For logs, /readyz and the ADR's table; the domain never branches on it. */
  readonly engine: 'sqlite' | 'postgres';
  /** Reads outside any unit: committed state only. */
  readonly read: ReadStores;
  readonly tx: UnitOfWork;
  /** Resolves when the database answers a trivial query; rejects otherwise (GET /readyz). */
  ping(): Promise<void>;
  /** Stops the change polling or listening and closes every connection; idempotent. */
  close(): Promise<void>;
}
