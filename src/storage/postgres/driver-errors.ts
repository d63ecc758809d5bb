import { SwitchyardError } from '../../errors.js';
import { StorageBusyError, StorageConstraintError } from '../storage-errors.js';

/**
 * The one place that knows `pg`'s errors (SQLSTATE codes and socket errors): every store method and
 * the unit of work pass what they catch through `translate`, so no `pg` error leaves
 * src/storage/postgres. The domain errors are the ones the SQLite adapter raises for the same
 * situations (src/storage/sqlite/driver-errors.ts), so both engines answer the same problem codes.
 */

const UNIQUE_VIOLATION = '23505';

/** A unique or primary-key constraint refused a row. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === UNIQUE_VIOLATION;
}

/**
 * PostgreSQL cannot be reached (refused, reset, terminated, shutting down): 503 `store_unavailable`
 * (SPEC §11). Writes fail with it; the read path keeps serving its snapshots (fail static,
 * docs/deployment.md), and everything recovers by itself when the database answers again.
 */
export class StoreUnavailableError extends SwitchyardError {
  constructor(message: string, options: { cause: unknown }) {
    super('store_unavailable', 'The database is unavailable; flag reads keep serving the last state, writes are refused until it returns. Retry later');
    this.name = 'StoreUnavailableError';
    this.cause = options.cause;
    // The driver's words stay in the log (the cause), not in the answer.
    this.driverMessage = message;
  }
  readonly driverMessage: string;
}

/** Any other driver failure: a 500 whose message keeps the driver's words and SQLSTATE. */
export class StorageError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Socket-level codes Node reports when the server is not there or went away. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT']);

/** `pg` raises these without a code when the connection ends under a query or before one. */
const LOST = /Connection terminated|connection error|not queryable|Client was closed|timeout exceeded when trying to connect|Cannot use a pool after calling end/i;

/** Returns what to throw instead of `err`: domain errors and non-driver errors pass through unchanged. */
export function translate(err: unknown): unknown {
  if (err instanceof SwitchyardError || err instanceof StorageError || !(err instanceof Error)) return err;
  const code = sqlState(err);
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    // Class 23: integrity constraint violation (23505 unique, 23503 foreign key, 23502 not null, 23514 check).
    if (code.startsWith('23')) return new StorageConstraintError(err.message, { cause: err });
    // P0001: a trigger's RAISE EXCEPTION (the append-only tables), as SQLite's RAISE(ABORT) is a constraint error there.
    if (code === 'P0001') return new StorageConstraintError(err.message, { cause: err });
    // 40001 serialization failure, 40P01 deadlock, 55P03 lock_timeout on the unit-of-work lock.
    if (code === '40001' || code === '40P01' || code === '55P03') return new StorageBusyError('another writer holds its lock', { cause: err });
    // Class 08: connection exception; 57P01–57P03: admin/crash shutdown, cannot connect now; 53300: too many connections.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') {
      return new StoreUnavailableError(`${code}: ${err.message}`, { cause: err });
    }
    return new StorageError(`${code}: ${err.message}`, { cause: err });
  }
  if ((code !== undefined && SOCKET_CODES.has(code)) || LOST.test(err.message)) {
    return new StoreUnavailableError(err.message, { cause: err });
  }
  return err;
}

/**
 * Wraps every method of a store so that what it rejects with goes through `translate`: the store
 * classes stay plain, and the translation stays in this file.
 */
export function translated<T extends object>(store: T): T {
  const out: Record<string, unknown> = {};
  let proto: object | null = Object.getPrototypeOf(store) as object | null;
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const m = (store as Record<string, unknown>)[name];
      if (name === 'constructor' || name in out || typeof m !== 'function') continue;
      out[name] = function (this: unknown, ...args: unknown[]) {
        try {
          const r = (m as (...a: unknown[]) => unknown).apply(store, args);
          if (r instanceof Promise) return r.catch((e: unknown) => Promise.reject(translate(e)));
          if (r !== null && typeof r === 'object' && Symbol.asyncIterator in r) return translatedIterable(r as AsyncIterable<unknown>);
          return r;
        } catch (e) {
          throw translate(e);
        }
      };
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return out as T;
}

async function* translatedIterable<T>(it: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* it;
  } catch (e) {
    throw translate(e);
  }
}
