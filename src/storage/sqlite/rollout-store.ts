import type { RolloutProgress } from '../../intents/rollout.js';
import type { RolloutStore } from '../../intents/rollout-store.js';
import type { Database } from './database.js';

interface Row {
  key: string;
  stage: number;
  stage_started_at: string;
  hold_until: string;
  auto_due_at: string | null;
  paused_by: string | null;
  updated_at: string;
}

const toProgress = (r: Row): RolloutProgress => ({
  key: r.key,
  stage: r.stage,
  stageStartedAt: r.stage_started_at,
  holdUntil: r.hold_until,
  autoDueAt: r.auto_due_at,
  pausedBy: r.paused_by,
  updatedAt: r.updated_at,
});

/** Where each staged rollout is (SPEC §10): one row per experiment, written by Lifecycle only. */
export class SqliteRolloutStore implements RolloutStore {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      get: db.prepare<[string], Row>('SELECT * FROM rollout_progress WHERE key = ?'),
      put: db.prepare(
        `INSERT INTO rollout_progress (key, stage, stage_started_at, hold_until, auto_due_at, paused_by, updated_at)
         VALUES (@key, @stage, @stageStartedAt, @holdUntil, @autoDueAt, @pausedBy, @updatedAt)
         ON CONFLICT (key) DO UPDATE SET stage = excluded.stage, stage_started_at = excluded.stage_started_at,
           hold_until = excluded.hold_until, auto_due_at = excluded.auto_due_at, paused_by = excluded.paused_by,
           updated_at = excluded.updated_at`,
      ),
      autoDue: db.prepare<[string], { key: string }>(
        'SELECT key FROM rollout_progress WHERE auto_due_at IS NOT NULL AND auto_due_at <= ? ORDER BY auto_due_at, key',
      ),
    };
  }

  async get(key: string): Promise<RolloutProgress | undefined> {
    const row = this.stmts.get.get(key);
    return row ? toProgress(row) : undefined;
  }

  async put(p: RolloutProgress): Promise<void> {
    this.stmts.put.run(p);
  }

  /** Keys whose automatic advance is due at or before `now` (an ISO instant), by the index. */
  async listAutoDue(now: string): Promise<string[]> {
    return this.stmts.autoDue.all(now).map((r) => r.key);
  }
}
