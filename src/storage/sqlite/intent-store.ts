import { LayerSpace, type LayerMember, type LayerRoom, type Slice } from '../../flags/layer-allocator.js';
import type { Intent } from '../../intents/intent-schema.js';
import {
  FLAG_CLAIMS_PER_PAIR,
  type ApprovalRecord,
  type ExperimentRecord,
  type ExperimentState,
  type IntentStore,
  type LiveFlagClaim,
  type LiveLayerClaim,
  type VersionRecord,
  type VersionStatus,
} from '../../intents/intent-store.js';
import { ConflictError } from '../../errors.js';
import type { Database } from './database.js';
import { isUniqueViolation } from './driver-errors.js';
import { storedText } from './stored-text.js';

/**
 * `key_bytes`: the key as a BLOB (see storedText), so a key stored before the text rules (with a
 * lone surrogate) reads back as written and still finds its versions, approvals and flags.
 */
interface ExperimentRow {
  key: string;
  key_bytes?: Buffer;
  owner: string;
  current_version: number;
  active_version: number | null;
  state: ExperimentState;
  due_at: string | null;
  created_at: string;
  updated_at: string;
}

interface VersionRow {
  key: string;
  key_bytes?: Buffer;
  version: number;
  body: string;
  status: VersionStatus;
  decision_id: string | null;
  slice_start: number | null;
  slice_end: number | null;
  submitted_by: string;
  submitted_at: string;
  retired_at: string | null;
  ship?: string | null;
}

const toExperiment = (r: ExperimentRow): ExperimentRecord => ({
  key: storedText(r.key_bytes ?? r.key)!,
  owner: r.owner,
  currentVersion: r.current_version,
  activeVersion: r.active_version,
  state: r.state,
  dueAt: r.due_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toVersion = (r: VersionRow): VersionRecord => ({
  key: storedText(r.key_bytes ?? r.key)!,
  version: r.version,
  intent: JSON.parse(r.body) as Intent,
  status: r.status,
  decisionId: r.decision_id,
  slice: r.slice_start === null || r.slice_end === null ? null : { start: r.slice_start, end: r.slice_end },
  submittedBy: r.submitted_by,
  submittedAt: r.submitted_at,
  retiredAt: r.retired_at,
  ship: r.ship ?? null,
});

/**
 * A version is "live" (it holds its flags and its layer slice against other experiments) when the
 * experiment is neither completed nor archived and the version is either the active (approved, driving flags) one or
 * the current one while it is allowed (pending approval or approved). This one SQL predicate is the
 * definition the conflict context and the layer allocator share.
 */
const LIVE_VERSION = `e.state NOT IN ('completed', 'archived') AND (
    v.version = e.active_version
    OR (v.version = e.current_version AND v.retired_at IS NULL AND v.status IN ('pending_approval', 'approved')))`;

/**
 * One instance per connection: the unit of work's on the writer, `Storage.read`'s on the reader.
 * Both share the adapter's LayerSpaces, and hand it loaders on their own connection.
 */
export class SqliteIntentStore implements IntentStore {
  private readonly stmts;
  private readonly loaders: LayerLoaders;

  constructor(
    db: Database,
    private readonly layers: LayerSpaces,
  ) {
    this.loaders = {
      layer: (layer) => this.stmts.liveLayerMembers.all(layer).map(toLayerClaim),
      key: (key) => this.stmts.liveLayerOfKey.all(key).map((r) => ({ layer: r.layer, member: toLayerClaim(r) })),
    };
    this.stmts = {
      getExperiment: db.prepare<[string], ExperimentRow>('SELECT *, CAST(key AS BLOB) AS key_bytes FROM experiments WHERE key = ?'),
      insertExperiment: db.prepare(
        `INSERT INTO experiments (key, owner, current_version, active_version, state, created_at, updated_at)
         VALUES (@key, @owner, @currentVersion, NULL, 'draft', @at, @at)`,
      ),
      setCurrent: db.prepare('UPDATE experiments SET current_version = ?, owner = ?, updated_at = ? WHERE key = ?'),
      setActive: db.prepare('UPDATE experiments SET active_version = ?, state = ?, due_at = ?, updated_at = ? WHERE key = ?'),
      archive: db.prepare(`UPDATE experiments SET state = 'archived', due_at = NULL, updated_at = ? WHERE key = ? AND state = 'draft' AND active_version IS NULL`),
      retire: db.prepare('UPDATE intent_versions SET retired_at = ? WHERE key = ? AND version = ?'),
      getVersion: db.prepare<[string, number], VersionRow>('SELECT *, CAST(key AS BLOB) AS key_bytes FROM intent_versions WHERE key = ? AND version = ?'),
      listVersions: db.prepare<[string], VersionRow>('SELECT *, CAST(key AS BLOB) AS key_bytes FROM intent_versions WHERE key = ? ORDER BY version'),
      insertVersion: db.prepare(
        `INSERT INTO intent_versions (key, version, body, status, decision_id, layer, exposure, slice_start, slice_end, submitted_by, submitted_at, ship)
         VALUES (@key, @version, @body, @status, @decisionId, @layer, @exposure, @sliceStart, @sliceEnd, @submittedBy, @submittedAt, @ship)`,
      ),
      insertVersionFlag: db.prepare('INSERT INTO version_flags (key, version, service, flag) VALUES (?, ?, ?, ?)'),
      setStatus: db.prepare('UPDATE intent_versions SET status = ? WHERE key = ? AND version = ?'),
      setSlice: db.prepare('UPDATE intent_versions SET slice_start = ?, slice_end = ? WHERE key = ? AND version = ?'),
      liveFlag: db.prepare<[string, string, string], { key: string; version: number; status: string; state: string; active: number | null }>(
        `SELECT v.key, v.version, v.status, e.state, e.active_version AS active
           FROM version_flags f
           JOIN intent_versions v ON v.key = f.key AND v.version = f.version
           JOIN experiments e ON e.key = v.key
          WHERE f.service = ? AND f.flag = ? AND f.key <> ? AND ${LIVE_VERSION}
          ORDER BY v.key, v.version
          LIMIT ${FLAG_CLAIMS_PER_PAIR}`,
      ),
      // Only the columns the room summary needs: never the intent bodies of every layer member.
      liveLayer: db.prepare<
        [string, string],
        { key: string; version: number; status: string; exposure: number; slice_start: number | null; slice_end: number | null; state: string; active: number | null }
      >(
        `SELECT v.key, CAST(v.key AS BLOB) AS key_bytes, v.version, v.status, v.exposure, v.slice_start, v.slice_end, e.state, e.active_version AS active
           FROM intent_versions v
           JOIN experiments e ON e.key = v.key
          WHERE v.layer = ? AND v.key <> ? AND ${LIVE_VERSION}
          ORDER BY v.slice_start`,
      ),
      liveLayerMembers: db.prepare<
        [string],
        { key: string; version: number; status: string; exposure: number; slice_start: number | null; slice_end: number | null; state: string; active: number | null }
      >(
        `SELECT v.key, CAST(v.key AS BLOB) AS key_bytes, v.version, v.status, v.exposure, v.slice_start, v.slice_end, e.state, e.active_version AS active
           FROM intent_versions v
           JOIN experiments e ON e.key = v.key
          WHERE v.layer = ? AND ${LIVE_VERSION}
          ORDER BY v.slice_start`,
      ),
      // One experiment's live versions that sit in a layer (by the primary key): what LayerSpaces re-read after it changes.
      liveLayerOfKey: db.prepare<
        [string],
        { key: string; version: number; status: string; exposure: number; layer: string; slice_start: number | null; slice_end: number | null; state: string; active: number | null }
      >(
        `SELECT v.key, v.version, v.status, v.exposure, v.layer, v.slice_start, v.slice_end, e.state, e.active_version AS active
           FROM intent_versions v
           JOIN experiments e ON e.key = v.key
          WHERE v.key = ? AND v.layer IS NOT NULL AND ${LIVE_VERSION}`,
      ),
      liveVersions: db.prepare<[], VersionRow & { state: string; active: number | null }>(
        `SELECT v.*, CAST(v.key AS BLOB) AS key_bytes, e.state, e.active_version AS active
           FROM intent_versions v JOIN experiments e ON e.key = v.key
          WHERE ${LIVE_VERSION}
          ORDER BY v.key, v.version`,
      ),
      // Named, not numbered (?1), parameters: better-sqlite3 binds ?NNN by name and refuses positional values.
      listExperiments: db.prepare<[{ owner: string; state: string; after: string; limit: number }], ExperimentRow>(
        `SELECT *, CAST(key AS BLOB) AS key_bytes FROM experiments
          WHERE (@owner = '' OR owner = @owner) AND (@state = '' AND state <> 'archived' OR state = @state) AND key > @after
          ORDER BY key LIMIT @limit`,
      ),
      due: db.prepare<[string], ExperimentRow>('SELECT *, CAST(key AS BLOB) AS key_bytes FROM experiments WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, key'),
      insertApproval: db.prepare(
        `INSERT INTO approvals (key, version, actor, roles, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      listApprovals: db.prepare<[string, number], { key: string; version: number; actor: string; roles: string; comment: string | null; created_at: string }>(
        'SELECT * FROM approvals WHERE key = ? AND version = ? ORDER BY created_at, actor',
      ),
    };
  }

  async getExperiment(key: string): Promise<ExperimentRecord | undefined> {
    const row = this.stmts.getExperiment.get(key);
    return row ? toExperiment(row) : undefined;
  }

  async getVersion(key: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.stmts.getVersion.get(key, version);
    return row ? toVersion(row) : undefined;
  }

  async listVersions(key: string): Promise<VersionRecord[]> {
    return this.stmts.listVersions.all(key).map(toVersion);
  }

  async listExperiments(filter: { owner?: string; state?: string; after?: string; limit: number }): Promise<ExperimentRecord[]> {
    return this.stmts.listExperiments
      .all({ owner: filter.owner ?? '', state: filter.state ?? '', after: filter.after ?? '', limit: filter.limit })
      .map(toExperiment);
  }

  /** Experiments with a scheduled transition at or before `now` (an ISO instant), by the due index. */
  async listDue(now: string): Promise<ExperimentRecord[]> {
    return this.stmts.due.all(now).map(toExperiment);
  }

  async createExperiment(key: string, owner: string, at: string): Promise<void> {
    try {
      this.stmts.insertExperiment.run({ key, owner, currentVersion: 1, at });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ConflictError('intent_exists', `An intent with key ${key} exists already; send PUT /v1/intents/${key} for a new version`);
      }
      throw err;
    }
  }

  /**
   * A ship version (SPEC §10) is stored without a layer: it serves every unit through the default
   * variant and none through a slice, so it holds no room in the layer (docs/rollouts.md).
   */
  async insertVersion(v: Omit<VersionRecord, 'retiredAt' | 'ship'> & { ship?: string | null }): Promise<void> {
    this.layers.touch(v.key);
    this.stmts.insertVersion.run({
      key: v.key,
      version: v.version,
      body: JSON.stringify(v.intent),
      status: v.status,
      decisionId: v.decisionId,
      layer: v.ship ? null : (v.intent.layer ?? null),
      exposure: v.intent.exposure,
      sliceStart: v.slice?.start ?? null,
      sliceEnd: v.slice?.end ?? null,
      submittedBy: v.submittedBy,
      submittedAt: v.submittedAt,
      ship: v.ship ?? null,
    });
    for (const s of v.intent.services) this.stmts.insertVersionFlag.run(v.key, v.version, s.service, s.flag);
  }

  async setCurrentVersion(key: string, version: number, owner: string, at: string): Promise<void> {
    this.layers.touch(key);
    this.stmts.setCurrent.run(version, owner, at, key);
  }

  /** Sets what drives the flags, the state, and when the scheduler must next look at this experiment. */
  async setActive(key: string, activeVersion: number | null, state: ExperimentState, dueAt: string | null, at: string): Promise<void> {
    this.layers.touch(key);
    this.stmts.setActive.run(activeVersion, state, dueAt, at, key);
  }

  async archive(key: string, at: string): Promise<boolean> {
    this.layers.touch(key);
    return this.stmts.archive.run(at, key).changes === 1;
  }

  async retire(key: string, version: number, at: string): Promise<void> {
    this.layers.touch(key);
    this.stmts.retire.run(at, key, version);
  }

  async setStatus(key: string, version: number, status: VersionStatus): Promise<void> {
    this.layers.touch(key);
    this.stmts.setStatus.run(status, key, version);
  }

  async setSlice(key: string, version: number, slice: { start: number; end: number } | null): Promise<void> {
    this.layers.touch(key);
    this.stmts.setSlice.run(slice?.start ?? null, slice?.end ?? null, key, version);
  }

  /** Live claims of other experiments on these (service, flag) pairs: one indexed lookup per pair, a few rows each. */
  async liveFlagClaims(key: string, pairs: { service: string; flag: string }[]): Promise<LiveFlagClaim[]> {
    const out: LiveFlagClaim[] = [];
    for (const p of pairs) {
      for (const r of this.stmts.liveFlag.all(p.service, p.flag, key)) {
        out.push({ key: r.key, version: r.version, status: liveStatus(r), service: p.service, flag: p.flag });
      }
    }
    return out;
  }

  /**
   * The room summary of a layer for an intent of experiment `key` (its own versions left out), from
   * the layer's LayerSpace: the same cost whatever the number of members.
   */
  async layerRoom(key: string, layer: string): Promise<LayerRoom> {
    return this.layers.space(layer, this.loaders).room(key);
  }

  /** First fit in a layer among the slices other experiments' live versions hold. */
  async layerFirstFit(key: string, layer: string, size: number): Promise<Slice | null> {
    return this.layers.space(layer, this.loaders).firstFit(size, key);
  }

  /** True when no other experiment's live version holds a bucket of `slice` in the layer. */
  async layerSliceFree(key: string, layer: string, slice: Slice): Promise<boolean> {
    return this.layers.space(layer, this.loaders).isFree(slice, key);
  }

  /**
   * The unit of work calls this after its transaction has ended (committed or rolled back), on the
   * writer's store: the layer spaces re-read the experiments it wrote, now at their committed
   * state, and forget them.
   */
  settleLayers(): void {
    this.layers.settle(this.loaders);
  }

  /** Live versions of other experiments in one layer, read from SQLite (the policy gets their summary from `layerRoom`, not these rows). */
  async liveLayerClaims(key: string, layer: string): Promise<LiveLayerClaim[]> {
    return this.stmts.liveLayer.all(layer, key).map(toLayerClaim);
  }

  /** Live versions of every experiment in one layer (for judging many of them at once). */
  async liveLayerMembers(layer: string): Promise<LiveLayerClaim[]> {
    return this.stmts.liveLayerMembers.all(layer).map(toLayerClaim);
  }

  /** Every live version of every experiment (for policy impact reports, not for hot paths). */
  async liveVersions(): Promise<(VersionRecord & { liveStatus: string })[]> {
    return this.stmts.liveVersions.all().map((r) => ({ ...toVersion(r), liveStatus: liveStatus(r) }));
  }

  async insertApproval(a: ApprovalRecord): Promise<boolean> {
    try {
      this.stmts.insertApproval.run(a.key, a.version, a.actor, JSON.stringify(a.roles), a.comment, a.createdAt);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async listApprovals(key: string, version: number): Promise<ApprovalRecord[]> {
    return this.stmts.listApprovals.all(key, version).map((r) => ({
      key: r.key,
      version: r.version,
      actor: r.actor,
      roles: JSON.parse(r.roles) as string[],
      comment: r.comment,
      createdAt: r.created_at,
    }));
  }
}

function toLayerClaim(r: { key: string; key_bytes?: Buffer; version: number; status: string; exposure: number; slice_start: number | null; slice_end: number | null; state: string; active: number | null }): LiveLayerClaim {
  return {
    key: storedText(r.key_bytes ?? r.key)!,
    version: r.version,
    status: liveStatus(r),
    exposure: r.exposure,
    ...(r.slice_start !== null && r.slice_end !== null ? { start: r.slice_start, end: r.slice_end } : {}),
  };
}

/** The status a policy author reads: the experiment's state for the running version, else the version's. */
function liveStatus(r: { version: number; status: string; state: string; active: number | null }): string {
  if (r.version === r.active && (r.state === 'running' || r.state === 'paused' || r.state === 'scheduled' || r.state === 'shipped')) return r.state;
  return r.status;
}

/**
 * The LayerSpace of each layer read so far, kept coherent with the database (docs/layers.md):
 *
 * - Every IntentStore write names the experiment it changes (`touch`). A touched experiment is
 *   re-read (its live layer rows, by primary key) before the next answer: inside a transaction that
 *   read sees the transaction's own writes, so a decision sees what its transaction did. It stays
 *   marked until it is re-read outside any transaction, so a space that held an uncommitted or
 *   rolled-back state of it is corrected from the committed rows; `settle` (called by Lifecycle
 *   when its outermost transaction ends) does that at once.
 * - A commit by another connection (a second process on the file) moves `PRAGMA data_version`,
 *   asked before every answer (inside a write transaction no one else can commit meanwhile): every
 *   space is then dropped and rebuilt from SQLite when next asked.
 *
 * Experiments untouched by this connection's open transaction have the same rows inside it as
 * committed, so a space built inside a transaction is right for them, and touched ones are re-read.
 * Writes to experiments or intent_versions must go through IntentStore.
 */
interface LayerLoaders {
  layer: (layer: string) => LayerMember[];
  key: (key: string) => { layer: string; member: LayerMember }[];
}

export class LayerSpaces {
  /** At most this many spaces are kept (40 KB each), least recently asked dropped first: rebuilding one reads its layer once. */
  static readonly MAX = 256;
  private readonly spaces = new Map<string, LayerSpace>();
  /** The layers whose spaces hold each experiment. */
  private readonly holders = new Map<string, Set<string>>();
  private readonly touched = new Set<string>();
  private readonly dataVersion;
  private seen = -1;

  /** `db` is the writer connection: whether it is in a transaction, and its data_version. */
  constructor(private readonly db: Database) {
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  touch(key: string): void {
    this.touched.add(key);
  }

  settle(load: LayerLoaders): void {
    if (!this.db.inTransaction) this.refresh(load);
  }

  /** Drops every space: another process changed the file (the adapter's data_version poll). */
  clear(): void {
    this.spaces.clear();
    this.holders.clear();
  }

  space(layer: string, load: LayerLoaders): LayerSpace {
    const version = this.dataVersion.get()!;
    if (version !== this.seen) {
      this.spaces.clear();
      this.holders.clear();
      this.seen = version;
    }
    this.refresh(load);
    let space = this.spaces.get(layer);
    if (space) {
      // Most recently asked last, so the first is the one to drop.
      this.spaces.delete(layer);
      this.spaces.set(layer, space);
    } else {
      if (this.spaces.size >= LayerSpaces.MAX) this.spaces.delete(this.spaces.keys().next().value!);
      space = new LayerSpace(layer);
      const byKey = new Map<string, LayerMember[]>();
      for (const m of load.layer(layer)) {
        const list = byKey.get(m.key);
        if (list) list.push(m);
        else byKey.set(m.key, [m]);
      }
      for (const [key, list] of byKey) {
        space.set(key, list);
        this.hold(key, layer);
      }
      this.spaces.set(layer, space);
    }
    return space;
  }

  /** Re-reads every touched experiment into the spaces; forgets them once read outside a transaction. */
  private refresh(load: LayerLoaders): void {
    if (this.touched.size === 0) return;
    for (const key of this.touched) {
      const byLayer = new Map<string, LayerMember[]>();
      for (const { layer, member } of load.key(key)) {
        const list = byLayer.get(layer);
        if (list) list.push(member);
        else byLayer.set(layer, [member]);
      }
      const before = this.holders.get(key);
      if (before) for (const layer of before) if (!byLayer.has(layer)) this.spaces.get(layer)?.set(key, []);
      const now = new Set<string>();
      for (const [layer, list] of byLayer) {
        const space = this.spaces.get(layer);
        if (!space) continue;
        space.set(key, list);
        now.add(layer);
      }
      if (now.size > 0) this.holders.set(key, now);
      else this.holders.delete(key);
    }
    if (!this.db.inTransaction) this.touched.clear();
  }

  private hold(key: string, layer: string): void {
    const set = this.holders.get(key);
    if (set) set.add(layer);
    else this.holders.set(key, new Set([layer]));
  }
}
