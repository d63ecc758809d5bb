import type { DecisionRecord, DecisionStore } from '../../policy/decision-store.js';
import type { Database } from './database.js';

interface Row {
  id: string;
  key: string | null;
  version: number | null;
  policy_revision: string;
  input: string;
  result: string;
  status: string;
  actor: string;
  created_at: string;
}

export class SqliteDecisionStore implements DecisionStore {
  private readonly insertStmt;
  private readonly getStmt;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO decisions (id, key, version, policy_revision, input, result, status, actor, created_at)
       VALUES (@id, @key, @version, @policyRevision, @input, @result, @status, @actor, @createdAt)`,
    );
    this.getStmt = db.prepare<[string], Row>('SELECT * FROM decisions WHERE id = ?');
  }

  async insert(d: DecisionRecord): Promise<void> {
    this.insertStmt.run({ ...d, input: JSON.stringify(d.input), result: JSON.stringify(d.result) });
  }

  async get(id: string): Promise<DecisionRecord | undefined> {
    const r = this.getStmt.get(id);
    if (!r) return undefined;
    return {
      id: r.id,
      key: r.key,
      version: r.version,
      policyRevision: r.policy_revision,
      input: JSON.parse(r.input),
      result: JSON.parse(r.result),
      status: r.status,
      actor: r.actor,
      createdAt: r.created_at,
    };
  }
}
