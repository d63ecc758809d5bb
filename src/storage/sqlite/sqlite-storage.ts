import { AsyncLocalStorage } from 'node:async_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { Mutex } from 'async-mutex';
import type { ChangeFeed, ReadStores, Storage, Stores, Unit, UnitOfWork } from '../../unit-of-work.js';
import { SqliteAuditStore } from './audit-store.js';
import { openDatabase, type Database } from './database.js';
import { SqliteDecisionStore } from './decision-store.js';
import { translate, translated } from './driver-errors.js';
import { SqliteFlagStore } from './flag-store.js';
import { SqliteIdempotencyStore } from './idempotency-store.js';
import { LayerSpaces, SqliteIntentStore } from './intent-store.js';
import { SqlitePolicyStore } from './policy-store.js';
import { SqliteRolloutStore } from './rollout-store.js';
import { SqliteTelemetryStore } from './telemetry-store.js';
import { SqliteTokenStore } from './token-store.js';

/**
 * How often another process's commits are looked for (PRAGMA data_version): a second writer on the
 * same file (`make run` twice, a script) is seen within about this.
 */
export const OTHER_WRITER_POLL_MS = 100;

export interface SqliteStorageOptions {
  /** Path of the SQLite file (its folder is created); ':memory:' for unit tests (one connection, see below). */
  path: string;
  pollMs?: number;
  /** Told of an afterCommit callback that threw (it does not undo the commit nor stop the others). */
  onCallbackError?: (err: unknown) => void;
}

interface OpenUnit {
  unit: Unit;
  callbacks: (() => void)[];
  done: boolean;
  /** Joined runs open now (each is a savepoint). */
  depth: number;
}

/**
 * The SQLite adapter of the storage port (docs/adr/0008-storage-port.md).
 *
 * - One writer connection. Units of work run one at a time under an async mutex, each inside
 *   `BEGIN IMMEDIATE … COMMIT` on that connection: better-sqlite3 is synchronous, but a unit's
 *   function awaits between statements, and without the mutex a second unit's statements would
 *   land inside the first one's transaction at such an await.
 * - One read-only connection for `read`: in WAL mode it sees the last commit, never the writer's
 *   open transaction, and it never waits for the mutex. (':memory:' cannot be opened twice; there
 *   `read` shares the writer, which only unit tests use.)
 * - A timer asks the writer's `PRAGMA data_version` every OTHER_WRITER_POLL_MS; it moves when
 *   another connection (another process) has committed, and `onExternalChange` listeners hear it.
 */
export class SqliteStorage implements Storage {
  readonly engine = 'sqlite' as const;
  readonly read: ReadStores;
  readonly tx: UnitOfWork;
  private readonly reader: Database;
  private readonly writerIntents: SqliteIntentStore;
  private readonly layers: LayerSpaces;
  private readonly mutex = new Mutex();
  private readonly context = new AsyncLocalStorage<OpenUnit>();
  private readonly listeners = new Set<() => void>();
  private readonly poll: NodeJS.Timeout | undefined;
  private readonly dataVersion;
  private seenVersion: number;
  private closed = false;

  /**
   * The writer connection, for SQLite-specific tests and tools only (tamper tests, db-dump,
   * benches): the domain never receives it.
   */
  readonly db: Database;
  /** The stores every unit gets (bound to the writer), for SQLite-specific tests only (fault injection). */
  readonly writer: Stores;

  constructor(private readonly options: SqliteStorageOptions) {
    this.db = openDatabase({ path: options.path });
    this.reader = options.path === ':memory:' ? this.db : openReader(options.path);
    this.layers = new LayerSpaces(this.db);
    this.writerIntents = new SqliteIntentStore(this.db, this.layers);
    const writer = storesOn(this.db, this.writerIntents);
    this.writer = writer;
    const committed = storesOn(this.reader, new SqliteIntentStore(this.reader, this.layers));
    this.read = this.routed(committed, writer);
    this.dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    this.seenVersion = this.dataVersion.get()!;
    this.tx = { run: (fn) => this.run(writer, fn) };
    if (options.path !== ':memory:') {
      this.poll = setInterval(() => this.checkExternal(), options.pollMs ?? OTHER_WRITER_POLL_MS);
      this.poll.unref();
    }
  }

  /**
   * `read`: the read connection (committed rows), except inside a unit's async context, where a
   * read goes through the unit (its own writes): a handler that writes in the idempotency unit and
   * then reads its answer must see what it wrote.
   */
  private routed(committed: Stores, writer: Stores): ReadStores {
    const route = <K extends keyof Stores>(k: K): Stores[K] =>
      new Proxy(committed[k], {
        get: (target, method) => {
          const open = this.context.getStore();
          const via = open && !open.done ? writer[k] : target;
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

  onExternalChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {
    if (this.closed || !this.db.open) throw new Error('the database is closed');
    try {
      if (this.reader.prepare('SELECT 1').pluck().get() !== 1) throw new Error('SELECT 1 did not answer 1');
    } catch (err) {
      throw translate(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    // A unit under way finishes first: closing under it would fail its COMMIT.
    if (this.mutex.isLocked()) await this.mutex.waitForUnlock();
    if (this.reader !== this.db && this.reader.open) this.reader.close();
    if (this.db.open) this.db.close();
  }

  /** Asks data_version now (the timer does every OTHER_WRITER_POLL_MS); true when another connection committed. */
  checkExternal(): boolean {
    if (this.closed || !this.db.open) return false;
    let version: number;
    try {
      version = this.dataVersion.get()!;
    } catch {
      return false;
    }
    if (version === this.seenVersion) return false;
    this.seenVersion = version;
    this.layers.clear();
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.options.onCallbackError?.(err);
      }
    }
    return true;
  }

  /** A run inside an open unit: a savepoint, so its failure undoes its own writes and callbacks only. */
  private async joined<T>(open: OpenUnit, fn: (u: Unit) => Promise<T>): Promise<T> {
    const name = savepoint(++open.depth);
    const mark = open.callbacks.length;
    try {
      this.db.exec(`SAVEPOINT ${name}`);
      const result = await fn(open.unit);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.inTransaction) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
      }
      open.callbacks.length = mark;
      throw translate(err);
    } finally {
      open.depth--;
    }
  }

  private async run<T>(writer: Stores, fn: (u: Unit) => Promise<T>): Promise<T> {
    const open = this.context.getStore();
    if (open && !open.done) return this.joined(open, fn);
    return this.mutex.runExclusive(async () => {
      if (this.closed) throw new Error('the storage is closed');
      const state: OpenUnit = { unit: { ...writer, afterCommit: (cb) => state.callbacks.push(cb) }, callbacks: [], done: false, depth: 0 };
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        state.done = true;
        throw translate(err);
      }
      let result: T;
      try {
        result = await this.context.run(state, () => fn(state.unit));
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw translate(err);
      } finally {
        state.done = true;
        // Committed or rolled back: the layer spaces re-read what the unit wrote, from the committed rows.
        this.writerIntents.settleLayers();
        // Our own commit moved no data_version of this connection; nothing to tell listeners.
      }
      // Still under the mutex: no other unit commits (and publishes) between this commit and its events.
      for (const cb of state.callbacks) {
        try {
          cb();
        } catch (err) {
          this.options.onCallbackError?.(err);
        }
      }
      return result;
    });
  }
}

/** A savepoint name; never client text. */
const savepoint = (depth: number) => `sy_unit_${depth}`;

function openReader(file: string): Database {
  const reader = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  reader.pragma('busy_timeout = 5000');
  return reader;
}

function storesOn(db: Database, intents: SqliteIntentStore): Stores {
  return {
    intents: translated<SqliteIntentStore>(intents),
    rollouts: translated(new SqliteRolloutStore(db)),
    decisions: translated(new SqliteDecisionStore(db)),
    flags: translated(new SqliteFlagStore(db)),
    audit: translated(new SqliteAuditStore(db)),
    tokens: translated(new SqliteTokenStore(db)),
    telemetry: translated(new SqliteTelemetryStore(db)),
    policies: translated(new SqlitePolicyStore(db)),
    idempotency: translated(new SqliteIdempotencyStore(db)),
  };
}

/** Opens the SQLite adapter on a file (creating and migrating it): SWITCHYARD_DB. */
export function openSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  return new SqliteStorage(options);
}

export type { ChangeFeed };
