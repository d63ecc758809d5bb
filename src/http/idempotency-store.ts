export interface StoredResponse {
  method: string;
  path: string;
  requestHash: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  createdAt: string;
}

/** How long a stored answer is replayed (Stripe keeps them 24 h too); older records are deleted. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Stored answers per (token, Idempotency-Key), kept for IDEMPOTENCY_TTL_MS. */
export interface IdempotencyReader {
  /** The stored answer, unless it has expired by `now` (whether or not its row is deleted yet). */
  get(tokenId: string, key: string, now: Date): Promise<StoredResponse | undefined>;
}

export interface IdempotencyStore extends IdempotencyReader {
  /**
   * Stores the answer unless one is stored under (tokenId, key) already (the first one wins, no
   * throw), and deletes the records expired by `r.createdAt`. Called in the unit of work that made
   * the request's writes, so the record commits with them or not at all.
   */
  put(tokenId: string, key: string, r: StoredResponse): Promise<void>;
}
