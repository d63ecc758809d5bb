import type { Database } from './database.js';

export interface StoredResponse {
  method: string;
  path: string;
  requestHash: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  createdAt: string;
}

export class IdempotencyStore {
  private readonly getStmt;
  private readonly putStmt;

  constructor(db: Database) {
    this.getStmt = db.prepare<[string, string], { method: string; path: string; request_hash: string; status: number; headers: string; body: string; created_at: string }>(
      'SELECT * FROM idempotency_keys WHERE token_id = ? AND key = ?',
    );
    this.putStmt = db.prepare(
      `INSERT INTO idempotency_keys (token_id, key, method, path, request_hash, status, headers, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, key) DO NOTHING`,
    );
  }

  get(tokenId: string, key: string): StoredResponse | undefined {
    const r = this.getStmt.get(tokenId, key);
    return r
      ? { method: r.method, path: r.path, requestHash: r.request_hash, status: r.status, headers: JSON.parse(r.headers) as Record<string, string>, body: r.body, createdAt: r.created_at }
      : undefined;
  }

  put(tokenId: string, key: string, r: StoredResponse): void {
    this.putStmt.run(tokenId, key, r.method, r.path, r.requestHash, r.status, JSON.stringify(r.headers), r.body, r.createdAt);
  }
}
