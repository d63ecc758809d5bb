import type { LayerMember, LayerRoom, Slice } from '../flags/layer-allocator.js';
import type { Intent } from './intent-schema.js';

/**
 * The intents' storage port (docs/adr/0008-storage-port.md): what Lifecycle, IntentService, the
 * policy input and the rollout analysis need from the experiments, their versions and approvals.
 * Every adapter (src/storage/sqlite, src/storage/postgres) implements it with the same behaviour;
 * the conformance suite pins it. Every method returns a Promise; none hands out a driver object.
 *
 * Reads through `Storage.read` see committed rows only; reads through a `Unit` see that unit's own
 * writes. Records returned are fresh objects the caller may keep.
 */

/** Every status a version can have; the HTTP schemas, the CLI and the console import this list. */
export const VERSION_STATUSES = ['denied', 'pending_approval', 'approved'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];
/**
 * `archived`: a draft that never ran, withdrawn by its owner (DELETE /v1/intents/{key}); final.
 * `shipped`: one variant served to every unit (SPEC §10 "Ship") until `complete` or `rollback`.
 */
export const EXPERIMENT_STATES = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed', 'archived'] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];

export interface ExperimentRecord {
  key: string;
  owner: string;
  currentVersion: number;
  activeVersion: number | null;
  state: ExperimentState;
  dueAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  key: string;
  version: number;
  intent: Intent;
  status: VersionStatus;
  decisionId: string | null;
  slice: { start: number; end: number } | null;
  submittedBy: string;
  submittedAt: string;
  retiredAt: string | null;
  /** The variant this version ships to every unit (SPEC §10), or null for an ordinary version. */
  ship: string | null;
}

export interface ApprovalRecord {
  key: string;
  version: number;
  actor: string;
  roles: string[];
  comment: string | null;
  createdAt: string;
}

/** A live version of another experiment that drives one of the asked (service, flag) pairs. */
export interface LiveFlagClaim {
  key: string;
  version: number;
  status: string;
  service: string;
  flag: string;
}

/** A live version of another experiment in the same layer: the allocator's LayerMember. */
export type LiveLayerClaim = LayerMember;

/**
 * At most this many live claims per (service, flag) pair reach the policy: one is enough to deny,
 * and the input stays bounded even if a policy without flag_conflict let many experiments share a flag.
 */
export const FLAG_CLAIMS_PER_PAIR = 8;

/**
 * "Live" (a version holds its flags and its layer slice against other experiments), the one
 * definition every adapter implements: the experiment is neither completed nor archived, and the
 * version is the active one, or the current one while it is not retired and is pending approval
 * or approved.
 *
 * The status a live claim reports (`LiveFlagClaim.status`, `LiveLayerClaim.status`,
 * `liveStatus`) is the experiment's state for its active version while that state is running,
 * paused, scheduled or shipped, else the version's status.
 */
export interface IntentReader {
  getExperiment(key: string): Promise<ExperimentRecord | undefined>;
  getVersion(key: string, version: number): Promise<VersionRecord | undefined>;
  /** Every version of one experiment, by version ascending. */
  listVersions(key: string): Promise<VersionRecord[]>;
  /**
   * One page of experiments by key ascending, keys strictly after `after`; `state` absent lists
   * every state but `archived`; `owner` absent lists every owner.
   */
  listExperiments(filter: { owner?: string; state?: string; after?: string; limit: number }): Promise<ExperimentRecord[]>;
  /** Experiments with `dueAt` at or before `now` (an ISO instant), by (dueAt, key) ascending. */
  listDue(now: string): Promise<ExperimentRecord[]>;
  /**
   * Live claims of OTHER experiments (not `key`) on these (service, flag) pairs: per pair at most
   * FLAG_CLAIMS_PER_PAIR, by (key, version) ascending; pairs in the order given.
   */
  liveFlagClaims(key: string, pairs: { service: string; flag: string }[]): Promise<LiveFlagClaim[]>;
  /** The room summary of `layer` for an intent of `key` (its own versions left out); bounded cost. */
  layerRoom(key: string, layer: string): Promise<LayerRoom>;
  /** First fit of `size` buckets in `layer` among the slices other experiments' live versions hold; null if none. */
  layerFirstFit(key: string, layer: string, size: number): Promise<Slice | null>;
  /** True when no other experiment's live version holds a bucket of `slice` in `layer`. */
  layerSliceFree(key: string, layer: string, slice: Slice): Promise<boolean>;
  /** Live versions of other experiments in one layer, by slice start ascending (nulls first). */
  liveLayerClaims(key: string, layer: string): Promise<LiveLayerClaim[]>;
  /** Live versions of every experiment in one layer, by slice start ascending (nulls first). */
  liveLayerMembers(layer: string): Promise<LiveLayerClaim[]>;
  /** Every live version of every experiment, by (key, version): for impact reports, not hot paths. */
  liveVersions(): Promise<(VersionRecord & { liveStatus: string })[]>;
  /** Approvals of one version, by (createdAt, actor) ascending. */
  listApprovals(key: string, version: number): Promise<ApprovalRecord[]>;
}

/**
 * Writes, available on a `Unit` only. Layer allocation (layerFirstFit / layerSliceFree followed by
 * insertVersion / setSlice) is only safe because the unit of work serialises units: call both in
 * the same unit.
 */
export interface IntentStore extends IntentReader {
  /** A new experiment in state `draft` with current version 1. Throws ConflictError `intent_exists` if the key exists. */
  createExperiment(key: string, owner: string, at: string): Promise<void>;
  /**
   * Stores a version with its (service, flag) claims. A ship version (SPEC §10) is stored without a
   * layer: it holds no room in the layer (docs/rollouts.md).
   */
  insertVersion(v: Omit<VersionRecord, 'retiredAt' | 'ship'> & { ship?: string | null }): Promise<void>;
  setCurrentVersion(key: string, version: number, owner: string, at: string): Promise<void>;
  /** Sets what drives the flags, the state, and when the scheduler must next look at this experiment. */
  setActive(key: string, activeVersion: number | null, state: ExperimentState, dueAt: string | null, at: string): Promise<void>;
  /** Archives a draft with no active version; false if it is not one (any more). */
  archive(key: string, at: string): Promise<boolean>;
  /** A rolled-back version stops holding flags and layer room, and is never rolled back to. */
  retire(key: string, version: number, at: string): Promise<void>;
  setStatus(key: string, version: number, status: VersionStatus): Promise<void>;
  setSlice(key: string, version: number, slice: { start: number; end: number } | null): Promise<void>;
  /** False (nothing stored) when this actor has already approved this version: never throws on that duplicate. */
  insertApproval(a: ApprovalRecord): Promise<boolean>;
}
