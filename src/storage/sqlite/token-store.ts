import type { Role, TokenRecord, TokenStore } from '../../access/token-store.js';
import type { Database } from './database.js';

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
export class SqliteTokenStore implements TokenStore {
  private readonly activeStmt;
  private readonly byId;
  private readonly all;
  private readonly insertStmt;
  private readonly revokeStmt;

  private readonly countStmt;

  constructor(db: Database) {
    this.countStmt = db.prepare<[], number>('SELECT count(*) FROM tokens').pluck();
    this.activeStmt = db.prepare<[], Row & { hash: string }>('SELECT * FROM tokens WHERE revoked_at IS NULL ORDER BY created_at, id');
    this.byId = db.prepare<[string], Row>('SELECT * FROM tokens WHERE id = ?');
    this.all = db.prepare<[], Row>('SELECT * FROM tokens ORDER BY created_at, id');
    this.insertStmt = db.prepare(
      `INSERT INTO tokens (id, name, role, team, approval_roles, service, hash, created_at, created_by)
       VALUES (@id, @name, @role, @team, @approvalRoles, @service, @hash, @createdAt, @createdBy)
       ON CONFLICT (hash) DO NOTHING`,
    );
    this.revokeStmt = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  async listActive(): Promise<{ hash: string; token: TokenRecord }[]> {
    return this.activeStmt.all().map((r) => ({ hash: r.hash, token: toRecord(r) }));
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const row = this.byId.get(id);
    return row ? toRecord(row) : undefined;
  }

  /** Every token ever created, revoked ones included, oldest first. */
  async list(): Promise<TokenRecord[]> {
    return this.all.all().map(toRecord);
  }

  /** Returns false when a token with the same hash already exists (bootstrap token on restart). */
  async insert(token: Omit<TokenRecord, 'revokedAt'>, hash: string): Promise<boolean> {
    const info = this.insertStmt.run({
      ...token,
      approvalRoles: JSON.stringify(token.approvalRoles),
      hash,
    });
    return info.changes === 1;
  }

  async revoke(id: string, at: string): Promise<boolean> {
    return this.revokeStmt.run(at, id).changes === 1;
  }

  async count(): Promise<number> {
    return this.countStmt.get()!;
  }
}
