import { IDEMPOTENCY_TTL_MS, type IdempotencyStore, type StoredResponse } from '../../http/idempotency-store.js';
import type { Database } from './database.js';

/**
 * Stored answers per (token, Idempotency-Key), kept for IDEMPOTENCY_TTL_MS: a retry within a day
 * replays; after that the key is free again. Each write deletes the expired records in its own
 * transaction (indexed on created_at), so the table holds about one day of keyed writes.
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly getStmt;
  private readonly putStmt;
  private readonly expireStmt;

  constructor(
    db: Database,
    private readonly ttlMs = IDEMPOTENCY_TTL_MS,
  ) {
    this.expireStmt = db.prepare<[string]>('DELETE FROM idempotency_keys WHERE created_at <= ?');
    this.getStmt = db.prepare<[string, string], { method: string; path: string; request_hash: string; status: number; headers: string; body: string; created_at: string }>(
      'SELECT * FROM idempotency_keys WHERE token_id = ? AND key = ?',
    );
    this.putStmt = db.prepare(
      `INSERT INTO idempotency_keys (token_id, key, method, path, request_hash, status, headers, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, key) DO NOTHING`,
    );
  }

  /** The stored answer, unless it has expired by `now` (whether or not its row is deleted yet). */
  async get(tokenId: string, key: string, now: Date): Promise<StoredResponse | undefined> {
    const r = this.getStmt.get(tokenId, key);
    return r && Date.parse(r.created_at) > now.getTime() - this.ttlMs
      ? { method: r.method, path: r.path, requestHash: r.request_hash, status: r.status, headers: JSON.parse(r.headers) as Record<string, string>, body: r.body, createdAt: r.created_at }
      : undefined;
  }

  async put(tokenId: string, key: string, r: StoredResponse): Promise<void> {
    this.expireStmt.run(new Date(Date.parse(r.createdAt) - this.ttlMs).toISOString());
    this.putStmt.run(tokenId, key, r.method, r.path, r.requestHash, r.status, JSON.stringify(r.headers), r.body, r.createdAt);
  }
}
