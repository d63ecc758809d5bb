import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import pg from 'pg';
import { DEFAULT_DATABASE_POOL_SIZE, DEFAULT_READ_BARRIER_MS as CONFIGURED_READ_BARRIER_MS, DEFAULT_READ_LEASE_MS } from '../../config.js';
import type { ReadStores, Storage, Stores, Unit, UnitOfWork } from '../../unit-of-work.js';
import { StorageError, translate, translated } from './driver-errors.js';
import { pgMigrations } from './migrations.js';
import { ReadBarrier } from '../read-barrier.js';
import {
  checkParams,
  PgAuditStore,
  PgDecisionStore,
  PgFlagStore,
  PgIdempotencyStore,
  PgIntentStore,
  PgPolicyStore,
  PgRolloutStore,
  PgTelemetryStore,
  PgTokenStore,
  statementName,
  type Sql,
} from './postgres-stores.js';

/** Connections in the pool (`SWITCHYARD_DATABASE_POOL_SIZE`, default 10); one more is held for LISTEN. */
export const DEFAULT_POOL_SIZE = DEFAULT_DATABASE_POOL_SIZE;
/** How long a unit waits for the unit-of-work lock before it fails with 503 `server_busy` (SQLite's busy_timeout is the same). */
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;
/** How long a request waits for a free connection before the database counts as unavailable. */
export const CONNECT_TIMEOUT_MS = 5000;
/**
 * The advisory lock every unit of work takes first (`pg_advisory_xact_lock`): units of every
 * process on the database run one at a time, as SQLite's single writer does. ASCII "SwYdUoW1".
 */
export const UNIT_LOCK_KEY = '6014516868245263665';
/** Held while migrating, so two instances starting together migrate once. ASCII "SwYdMig1". */
const MIGRATE_LOCK_KEY = '6014516868244875569';
/** Every committed unit notifies this channel with its process's id; other processes' listeners reload. */
export const CHANGE_CHANNEL = 'switchyard_changes';
const RELISTEN_MS = 1000;
/**
 * How often listeners reload even with no notification (issue #16): a notification lost with a
 * dropped LISTEN connection (between its loss and the re-LISTEN) is caught up within this. The
 * reload reads the change feed from its cursor and the active tokens: two small queries.
 */
export const DEFAULT_CATCH_UP_MS = 5000;
/**
 * How long a read waits for the read barrier (ADR 0012) before it is served from the snapshot
 * anyway (SWITCHYARD_READ_BARRIER_MS): the bound a slow or unreachable database adds to a read.
 */
export const DEFAULT_READ_BARRIER_MS = CONFIGURED_READ_BARRIER_MS;

export interface PostgresStorageOptions {
  /** A `postgres://` or `postgresql://` URL (SWITCHYARD_DATABASE_URL). */
  url: string;
  poolSize?: number;
  lockTimeoutMs?: number;
  /**
   * Told of an afterCommit callback or a listener that threw, and of a broken idle pooled connection
   * or a lost LISTEN connection; `what` names which (absent: an after-commit callback).
   */
  onCallbackError?: (err: unknown, what?: string) => void;
  /** The periodic catch-up of `onExternalChange` listeners (DEFAULT_CATCH_UP_MS); 0 turns it off. */
  catchUpMs?: number;
  /** The read barrier's bound (DEFAULT_READ_BARRIER_MS); 0 turns the barrier off (reads serve the snapshot as it is). */
  readBarrierMs?: number;
  /**
   * The read barrier's lease (SWITCHYARD_READ_LEASE_MS, DEFAULT_READ_LEASE_MS): a successful counter
   * query vouches for the reads of the next `readLeaseMs`, and every unit waits as long after its
   * COMMIT before it resolves (the commit wait). 0: every read waits for a round of its own.
   */
  readLeaseMs?: number;
  /**
   * Whether to LISTEN for other processes' commits (default true). Tests turn it off, with the
   * catch-up, to show what the read barrier alone delivers when notifications are lost.
   */
  listen?: boolean;
}

interface OpenUnit {
  unit: Unit;
  client: pg.PoolClient;
  callbacks: (() => void)[];
  done: boolean;
  /** Joined runs open now (each a savepoint). */
  depth: number;
}

/** bigint (int8: counts, seq) as a JavaScript number, as better-sqlite3 returns SQLite's integers. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The PostgreSQL adapter of the storage port (docs/storage.md "PostgreSQL").
 *
 * - A pool of at most `poolSize` connections (default 10). `read` runs each statement on any
 *   pooled connection: it sees committed rows only, except from inside a unit's async context,
 *   where it reads through the unit (its own writes seen).
 * - A unit of work is one transaction on one pooled connection: BEGIN, then the transaction-scoped
 *   advisory lock UNIT_LOCK_KEY, then the unit's statements, then COMMIT (ROLLBACK on any
 *   rejection). The lock serialises units across every process on the database, so the audit
 *   chain's prev_hash, layer slices, the feed's seq and telemetry sums are read and written with
 *   no other writer in between, as with SQLite's one writer. Within this process units also queue
 *   in memory first, so a waiting unit holds no connection and reads keep theirs.
 * - A `run` inside a unit (same async context) joins it as a SAVEPOINT (see `joined`).
 * - Each unit adds one to `change_counter` and sends `pg_notify(CHANGE_CHANNEL, <this process's
 *   id>)` in one statement, delivered at COMMIT only; a LISTEN connection hears other processes'
 *   commits and tells `onExternalChange` listeners.
 * - `fresh()` is the read barrier (ADR 0012): the snapshots' readers call it before answering, and
 *   it resolves once they hold every unit committed before the call (or after a short bound).
 * - Driver errors are translated in driver-errors.ts, nowhere else.
 */
export class PostgresStorage implements Storage {
  readonly engine = 'postgres' as const;
  readonly read: ReadStores;
  readonly tx: UnitOfWork;
  /** This process's id in notifications, to tell its own commits from others'. */
  readonly instanceId = crypto.randomUUID();
  private readonly pool: pg.Pool;
  private readonly writer: Stores;
  private readonly context = new AsyncLocalStorage<OpenUnit>();
  private readonly listeners = new Set<() => unknown>();
  /** The read barrier (ADR 0012); undefined when turned off (readBarrierMs 0). */
  readonly barrier: ReadBarrier | undefined;
  private readonly lockTimeoutMs: number;
  private current: pg.PoolClient | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private listener: pg.Client | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private catchUp: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PostgresStorageOptions) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle pooled connection that breaks (a server restart) is dropped by the pool; without a
    // listener the 'error' event would end the process.
    this.pool.on('error', (err) => this.options.onCallbackError?.(translate(err), 'an idle pooled PostgreSQL connection broke (the pool drops it)'));
    // A connection that breaks while checked out also emits 'error' (besides failing its query):
    // that one is answered by the failed query, and must not end the process either.
    this.pool.on('connect', (c) => c.on('error', () => {}));
    const committed = storesOn(sqlOn(() => this.pool));
    this.writer = storesOn(
      sqlOn(() => {
        if (!this.current) throw new StorageError('a unit-of-work store was used outside its unit', { cause: undefined });
        return this.current;
      }),
    );
    this.read = this.routed(committed);
    this.tx = { run: (fn) => this.run(fn) };
    const bound = options.readBarrierMs ?? DEFAULT_READ_BARRIER_MS;
    this.barrier =
      bound > 0
        ? new ReadBarrier(
            {
              counter: () => this.counter(),
              refresh: () => this.reloadAll(),
            },
            bound,
            options.readLeaseMs ?? DEFAULT_READ_LEASE_MS,
          )
        : undefined;
  }

  /**
   * The read barrier (ADR 0012): resolves when this process's snapshots hold every unit committed
   * (on any instance) before the call, or after the bound, or at once while the database fails.
   * Never rejects.
   */
  fresh(): Promise<void> {
    return this.barrier ? this.barrier.wait() : Promise.resolve();
  }

  /**
   * `read`: any pooled connection (committed rows), except inside a unit's async context, where a
   * read goes through the unit's connection (its own writes): a handler that writes in the
   * idempotency unit and then reads its answer must see what it wrote (unit-of-work.ts ReadStores).
   */
  private routed(committed: Stores): ReadStores {
    const route = <K extends keyof Stores>(k: K): Stores[K] =>
      new Proxy(committed[k], {
        get: (target, method) => {
          const open = this.context.getStore();
          const via = open && !open.done ? this.writer[k] : target;
          const f = (via as unknown as Record<string | symbol, unknown>)[method];
          return typeof f === 'function' ? (f as (...a: unknown[]) => unknown).bind(via) : f;
        },
      });
    return {
      intents: route('intents'),
      rollouts: route('rollouts'),
      decisions: route('decisions'),
      flags: route('flags'),
      audit: route('audit'),
      tokens: route('tokens'),
      telemetry: route('telemetry'),
      policies: route('policies'),
      idempotency: route('idempotency'),
    };
  }

  /** Applies the migrations not yet applied, under an advisory lock, then starts listening. */
  async start(): Promise<void> {
    try {
      await this.migrate();
    } catch (err) {
      throw translate(err);
    }
    if (this.options.listen !== false) await this.listen();
    const every = this.options.catchUpMs ?? DEFAULT_CATCH_UP_MS;
    if (every > 0 && !this.closed) {
      this.catchUp = setInterval(() => this.changed(), every);
      this.catchUp.unref();
    }
  }

  onExternalChange(listener: () => unknown): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {
    if (this.closed) throw new StorageError('the storage is closed', { cause: undefined });
    try {
      const r = await this.pool.query<{ one: number }>('SELECT 1 AS one');
      if (r.rows[0]?.one !== 1) throw new StorageError('SELECT 1 did not answer 1', { cause: undefined });
    } catch (err) {
      throw translate(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.relisten) clearTimeout(this.relisten);
    if (this.catchUp) clearInterval(this.catchUp);
    // A unit under way finishes first.
    await this.tail.catch(() => {});
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }

  /** One unit at a time in this process: the next starts when the previous has settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }

  private async run<T>(fn: (u: Unit) => Promise<T>): Promise<T> {
    const open = this.context.getStore();
    if (open && !open.done) return this.joined(open, fn);
    let committedAt: number | undefined;
    const result = await this.exclusive(async () => {
      if (this.closed) throw new StorageError('the storage is closed', { cause: undefined });
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw translate(err);
      }
      const state: OpenUnit = { unit: { ...this.writer, afterCommit: (cb) => state.callbacks.push(cb) }, client, callbacks: [], done: false, depth: 0 };
      let broken: Error | undefined;
      let result: T;
      let counter: number | undefined;
      this.current = client;
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
        await client.query({ name: 'sy_unit_lock', text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [UNIT_LOCK_KEY] });
        result = await this.context.run(state, () => fn(state.unit));
        const counted = await client.query<{ n: number }>({ name: 'sy_unit_commit', text: COMMIT_COUNT_SQL, values: [CHANGE_CHANNEL, this.instanceId] });
        counter = counted.rows[0]?.n;
        await client.query('COMMIT');
        committedAt = this.barrier?.now();
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (e) {
          broken = e instanceof Error ? e : new Error(String(e));
        }
        throw translate(err);
      } finally {
        state.done = true;
        this.current = undefined;
        client.release(broken);
      }
      // Still in this process's queue: no other unit commits (and publishes) between this commit and its events.
      for (const cb of state.callbacks) {
        try {
          cb();
        } catch (err) {
          this.options.onCallbackError?.(err);
        }
      }
      // The snapshots took this unit in (above): if they held every earlier unit, they hold this one.
      if (counter !== undefined) this.barrier?.committed(counter);
      return result;
    });
    // The commit wait (the barrier's lease, ADR 0012), outside the queue, so the next unit does not wait for it.
    if (committedAt !== undefined) await this.barrier?.commitWait(committedAt);
    return result;
  }

  /**
   * A run inside an open unit is a SAVEPOINT (unit-of-work.ts): if it rejects, its own writes are
   * rolled back and its afterCommit callbacks dropped, and the outer unit may go on. In PostgreSQL
   * this is also what keeps the transaction usable after a failed statement inside it.
   */
  private async joined<T>(open: OpenUnit, fn: (u: Unit) => Promise<T>): Promise<T> {
    const name = `sy_sp_${++open.depth}`;
    const mark = open.callbacks.length;
    try {
      await open.client.query(`SAVEPOINT ${name}`);
      const result = await fn(open.unit);
      await open.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      open.callbacks.length = mark;
      try {
        await open.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        await open.client.query(`RELEASE SAVEPOINT ${name}`);
      } catch {
        // The connection is gone: the outer unit fails at its next statement, with the translated error.
      }
      throw translate(err);
    } finally {
      open.depth--;
    }
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATE_LOCK_KEY]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at text NOT NULL
      )`);
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const m of pgMigrations) {
        if (applied.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** A dedicated connection LISTENs for other processes' commits; if it is lost it is re-made, and listeners reload. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url, types });
    const retry = (err: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      void client.end().catch(() => {});
      this.options.onCallbackError?.(translate(err), 'the LISTEN connection was lost (re-made; snapshots reload)');
      if (!this.closed) {
        this.relisten = setTimeout(() => {
          void this.listen()
            .then(() => this.changed())
            .catch((e: unknown) => this.options.onCallbackError?.(translate(e), 'the LISTEN connection could not be re-made (retrying)'));
        }, RELISTEN_MS);
        this.relisten.unref();
      }
    };
    client.on('notification', (n) => {
      if (n.channel !== CHANGE_CHANNEL || n.payload === this.instanceId) return;
      if (this.barrier) this.barrier.kick();
      else this.changed();
    });
    client.on('error', retry);
    client.on('end', () => retry(new StorageError('the LISTEN connection ended', { cause: undefined })));
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      retry(err);
    }
  }

  /**
   * Another process may have committed unheard (the catch-up, a re-made LISTEN; a notification
   * too when the barrier is off): every listener reloads. The counter is read first, so once the reloads succeeded the barrier knows the
   * snapshots hold it, and the next read does not reload again.
   */
  private changed(): void {
    void (async () => {
      const n = this.barrier ? await this.counter().catch(() => undefined) : undefined;
      await this.reloadAll();
      if (n !== undefined) this.barrier?.caughtUp(n);
    })().catch(() => {});
  }

  /** The change counter now: committed units of every process (the read barrier's one query). */
  private async counter(): Promise<number> {
    try {
      const r = await this.pool.query<{ n: number }>({ name: 'sy_change_counter', text: 'SELECT n FROM change_counter WHERE id = 1' });
      return r.rows[0]?.n ?? 0;
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Runs every listener and waits for them; rejects if one failed (its snapshot then keeps its
   * last good state, and the barrier does not count it as current).
   */
  private async reloadAll(): Promise<void> {
    const runs = [...this.listeners].map(async (l) => {
      try {
        await l();
        return true;
      } catch {
        // A reload that fails (the database went away) is fail static, not an error to log.
        return false;
      }
    });
    const ok = await Promise.all(runs);
    if (ok.includes(false)) throw new StorageError('a snapshot did not reload', { cause: undefined });
  }
}

/** A unit's last statement before COMMIT: one more on the change counter, and the notification. */
const COMMIT_COUNT_SQL = 'WITH c AS (UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n) SELECT c.n, pg_notify($1, $2) IS NULL AS sent FROM c';

function sqlOn(target: () => pg.Pool | pg.PoolClient): Sql {
  return {
    async rows<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
      checkParams(params);
      const r = await target().query({ name: statementName(text), text, values: params as unknown[] });
      return r.rows as R[];
    },
    async run(text: string, params: readonly unknown[] = []): Promise<number> {
      checkParams(params);
      const r = await target().query({ name: statementName(text), text, values: params as unknown[] });
      return r.rowCount ?? 0;
    },
  };
}

function storesOn(sql: Sql): Stores {
  return {
    intents: translated(new PgIntentStore(sql)),
    rollouts: translated(new PgRolloutStore(sql)),
    decisions: translated(new PgDecisionStore(sql)),
    flags: translated(new PgFlagStore(sql)),
    audit: translated(new PgAuditStore(sql)),
    tokens: translated(new PgTokenStore(sql)),
    telemetry: translated(new PgTelemetryStore(sql)),
    policies: translated(new PgPolicyStore(sql)),
    idempotency: translated(new PgIdempotencyStore(sql)),
  };
}

/** Opens the PostgreSQL adapter (migrating the database first): SWITCHYARD_DATABASE_URL. */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const storage = new PostgresStorage(options);
  try {
    await storage.start();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}
