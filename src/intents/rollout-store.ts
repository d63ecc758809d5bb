import type { RolloutProgress } from './rollout.js';

/** Where each staged rollout is (SPEC §10): one record per experiment, written by Lifecycle only. */
export interface RolloutReader {
  get(key: string): Promise<RolloutProgress | undefined>;
  /** Keys whose automatic advance is due at or before `now` (an ISO instant), by (autoDueAt, key) ascending. */
  listAutoDue(now: string): Promise<string[]>;
}

export interface RolloutStore extends RolloutReader {
  /** Inserts or replaces the experiment's progress (an upsert on `key`). */
  put(p: RolloutProgress): Promise<void>;
}
