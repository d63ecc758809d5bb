import { SwitchyardError } from '../../errors.js';
import { StorageBusyError, StorageConstraintError } from '../storage-errors.js';

/**
 * The one place that knows better-sqlite3's error codes (docs/adr/0008-storage-port.md): every
 * store method and the unit of work pass what they catch through here, so no SqliteError leaves
 * src/storage/sqlite.
 */

/** A unique or primary-key constraint refused a row: a store turns this into its contract's answer. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Any other driver failure (I/O, a corrupt page): a 500 whose message keeps the driver's words. */
export class StorageError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Returns what to throw instead of `err`: domain errors pass through unchanged. */
export function translate(err: unknown): unknown {
  if (err instanceof SwitchyardError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  if (code.startsWith('SQLITE_CONSTRAINT')) return new StorageConstraintError(err.message, { cause: err });
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) return new StorageBusyError('another process holds its write lock', { cause: err });
  return new StorageError(`${code}: ${err.message}`, { cause: err });
}

/**
 * Wraps every method of a store so that what it throws or rejects with goes through `translate`:
 * the store classes stay plain, and the translation stays in this file.
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
          return r instanceof Promise ? r.catch((e: unknown) => Promise.reject(translate(e))) : r;
        } catch (e) {
          throw translate(e);
        }
      };
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return out as T;
}
