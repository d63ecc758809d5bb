import type { Database } from './database.js';
import { ReadCache } from './read-cache.js';

export type Role = 'owner' | 'approver' | 'governance' | 'operator' | 'service' | 'admin';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  team: string | null;
  approvalRoles: string[];
  service: string | null;
  createdAt: string;
  createdBy: string | null;
  revokedAt: string | null;
}

interface Row {
  id: string;
  name: string;
  role: Role;
  team: string | null;
  approval_roles: string;
  service: string | null;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
}

const toRecord = (r: Row): TokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  team: r.team,
  approvalRoles: JSON.parse(r.approval_roles) as string[],
  service: r.service,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

/** Tokens are stored only as hashes; the secret is shown once, at creation. */
export class TokenStore {
  private readonly byHash;
  private readonly byId;
  private readonly all;
  private readonly insertStmt;
  private readonly revokeStmt;
  /** Every authenticated request looks its token up; revoking or adding one starts it over. */
  private readonly active;

  constructor(private readonly db: Database) {
    this.active = new ReadCache<string, TokenRecord>(db);
    this.byHash = db.prepare<[string], Row>('SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL');
    this.byId = db.prepare<[string], Row>('SELECT * FROM tokens WHERE id = ?');
    this.all = db.prepare<[], Row>('SELECT * FROM tokens ORDER BY created_at, id');
    this.insertStmt = db.prepare(
      `INSERT INTO tokens (id, name, role, team, approval_roles, service, hash, created_at, created_by)
       VALUES (@id, @name, @role, @team, @approvalRoles, @service, @hash, @createdAt, @createdBy)
       ON CONFLICT (hash) DO NOTHING`,
    );
    this.revokeStmt = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /** The record is shared by every caller of the same token: read it, do not change it. */
  findActiveByHash(hash: string): TokenRecord | undefined {
    return this.active.get(hash, () => {
      const row = this.byHash.get(hash);
      return row ? toRecord(row) : undefined;
    });
  }

  get(id: string): TokenRecord | undefined {
    const row = this.byId.get(id);
    return row ? toRecord(row) : undefined;
  }

  /** Every token ever created, revoked ones included, oldest first. */
  list(): TokenRecord[] {
    return this.all.all().map(toRecord);
  }

  /** Returns false when a token with the same hash already exists (bootstrap token on restart). */
  insert(token: Omit<TokenRecord, 'revokedAt'>, hash: string): boolean {
    this.active.clear();
    const info = this.insertStmt.run({
      ...token,
      approvalRoles: JSON.stringify(token.approvalRoles),
      hash,
    });
    return info.changes === 1;
  }

  revoke(id: string, at: string): boolean {
    this.active.clear();
    return this.revokeStmt.run(at, id).changes === 1;
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM tokens').pluck().get() as number;
  }
}
