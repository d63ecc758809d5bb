import { SwitchyardError } from '../errors.js';

/**
 * The domain errors both adapters translate their drivers' failures into (each adapter's
 * driver-errors.ts decides which driver error is which; the answers are the same on both engines).
 */

/** A constraint the contract does not turn into an answer (a bug, or a tampered row): a 500 that names it. */
export class StorageConstraintError extends SwitchyardError {
  constructor(message: string, options: { cause: unknown }) {
    super('internal_error', `storage constraint: ${message}`);
    this.cause = options.cause;
  }
}

/** Another writer held the database past the adapter's wait (`why` says which lock): retry later. */
export class StorageBusyError extends SwitchyardError {
  constructor(why: string, options: { cause: unknown }) {
    super('server_busy', `The database is busy (${why}); retry the request`);
    this.cause = options.cause;
  }
}
