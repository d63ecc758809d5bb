import type { Role, TokenRecord, TokenStore } from '../../access/token-store.js';
import { readStoredData, type AuditQuery, type AuditRecord, type AuditStore } from '../../audit/audit-store.js';
import { ConflictError } from '../../errors.js';
import type { FlagChangeCause, FlagEventRecord, FlagStore, StoredFlagDocument } from '../../flags/flag-store.js';
import { firstFit, layerRoom, overlaps, type LayerRoom, type Slice } from '../../flags/layer-allocator.js';
import { IDEMPOTENCY_TTL_MS, type IdempotencyStore, type StoredResponse } from '../../http/idempotency-store.js';
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
import type { RolloutProgress } from '../../intents/rollout.js';
import type { RolloutStore } from '../../intents/rollout-store.js';
import type { DecisionRecord, DecisionStore } from '../../policy/decision-store.js';
import type { ActivationRecord, PolicyStore, StoredBundleMeta } from '../../policy/policy-store.js';
import type { ArmSums, TelemetryStore, UnitExposure, UnitMetric } from '../../telemetry/telemetry-store.js';
import { StorageError } from './driver-errors.js';

/**
 * The stores of the PostgreSQL adapter, one class per port, each on a `Sql`: the pool (for
 * `Storage.read`: committed rows) or the unit of work's connection (its own writes seen). Every
 * statement is a named prepared statement, bound positionally. The SQL is the SQLite adapter's,
 * translated (src/storage/sqlite/*): same predicates, same orderings, same answers.
 */

/** What a store runs its statements on. */
export interface Sql {
  rows<R>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** The number of rows a write touched. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
}

/** A named prepared statement per distinct text, the same names on every connection. */
const names = new Map<string, string>();
export function statementName(text: string): string {
  let n = names.get(text);
  if (!n) {
    n = `sy_${names.size + 1}`;
    names.set(text, n);
  }
  return n;
}

/**
 * The one check on what is bound: a string PostgreSQL would store differently from what was
 * given is refused here rather than changed. `pg` encodes a lone surrogate as U+FFFD (SQLite keeps
 * it; the HTTP boundary refuses it, SPEC §2), and text cannot hold U+0000 (columns that may get it
 * from a client are bytea: see migrations.ts).
 */
export function checkParams(params: readonly unknown[]): void {
  for (const p of params) {
    if (typeof p !== 'string') continue;
    if (!p.isWellFormed()) throw new StorageError('PostgreSQL cannot store a string with a lone surrogate (the HTTP boundary refuses them)', { cause: undefined });
    if (p.includes('\u0000')) throw new StorageError('PostgreSQL text cannot hold U+0000 (free-text columns are bytea)', { cause: undefined });
  }
}

/**
 * A JSON text column as json that PostgreSQL's operators accept: they refuse a whole document that
 * holds the escape \u0000 anywhere (22P05, "cannot be converted to text"), even when the member
 * asked is elsewhere. Replacing each `\u0000` by `\ufffd` changes string contents only (an escaped
 * backslash followed by "u0000" becomes one followed by "ufffd": still valid JSON), never which
 * members exist, so it is safe for asking whether a member is there or for an array of
 * identifiers (which hold no control characters). Never for reading values back.
 */
export const JSON_MEMBERS_SAFE = (column: string) => `replace(${column}, '\\u0000', '\\ufffd')::json`;

/** Free text that may hold U+0000 travels as UTF-8 bytes (bytea columns). */
const bytes = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'utf8'));
const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

// ---------------------------------------------------------------------------------------------
// intents

interface ExperimentRow {
  key: string;
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
  version: number;
  body: string;
  status: VersionStatus;
  decision_id: string | null;
  slice_start: number | null;
  slice_end: number | null;
  submitted_by: string;
  submitted_at: string;
  retired_at: string | null;
  ship: string | null;
}

interface LayerRow {
  key: string;
  version: number;
  status: string;
  exposure: number;
  slice_start: number | null;
  slice_end: number | null;
  state: string;
  active: number | null;
}

const toExperiment = (r: ExperimentRow): ExperimentRecord => ({
  key: r.key,
  owner: r.owner,
  currentVersion: r.current_version,
  activeVersion: r.active_version,
  state: r.state,
  dueAt: r.due_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toVersion = (r: VersionRow): VersionRecord => ({
  key: r.key,
  version: r.version,
  intent: JSON.parse(r.body) as Intent,
  status: r.status,
  decisionId: r.decision_id,
  slice: r.slice_start === null || r.slice_end === null ? null : { start: r.slice_start, end: r.slice_end },
  submittedBy: r.submitted_by,
  submittedAt: r.submitted_at,
  retiredAt: r.retired_at,
  ship: r.ship,
});

const toLayerClaim = (r: LayerRow): LiveLayerClaim => ({
  key: r.key,
  version: r.version,
  status: liveStatus(r),
  exposure: r.exposure,
  ...(r.slice_start !== null && r.slice_end !== null ? { start: r.slice_start, end: r.slice_end } : {}),
});

/** The status a policy author reads: the experiment's state for the running version, else the version's. */
function liveStatus(r: { version: number; status: string; state: string; active: number | null }): string {
  if (r.version === r.active && (r.state === 'running' || r.state === 'paused' || r.state === 'scheduled' || r.state === 'shipped')) return r.state;
  return r.status;
}

/** IntentReader's definition of "live", as SQL (the SQLite adapter's predicate, word for word). */
const LIVE_VERSION = `e.state NOT IN ('completed', 'archived') AND (
    v.version = e.active_version
    OR (v.version = e.current_version AND v.retired_at IS NULL AND v.status IN ('pending_approval', 'approved')))`;

const VERSION_COLUMNS = 'v.key, v.version, v.body, v.status, v.decision_id, v.slice_start, v.slice_end, v.submitted_by, v.submitted_at, v.retired_at, v.ship';
const LAYER_COLUMNS = 'v.key, v.version, v.status, v.exposure, v.slice_start, v.slice_end, e.state, e.active_version AS active';

export class PgIntentStore implements IntentStore {
  constructor(private readonly sql: Sql) {}

  async getExperiment(key: string): Promise<ExperimentRecord | undefined> {
    const [r] = await this.sql.rows<ExperimentRow>('SELECT * FROM experiments WHERE key = $1', [key]);
    return r ? toExperiment(r) : undefined;
  }

  async getVersion(key: string, version: number): Promise<VersionRecord | undefined> {
    const [r] = await this.sql.rows<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM intent_versions v WHERE v.key = $1 AND v.version = $2`, [key, version]);
    return r ? toVersion(r) : undefined;
  }

  async listVersions(key: string): Promise<VersionRecord[]> {
    return (await this.sql.rows<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM intent_versions v WHERE v.key = $1 ORDER BY v.version`, [key])).map(toVersion);
  }

  async listExperiments(filter: { owner?: string; state?: string; after?: string; limit: number }): Promise<ExperimentRecord[]> {
    const rows = await this.sql.rows<ExperimentRow>(
      `SELECT * FROM experiments
        WHERE ($1::text = '' OR owner = $1) AND (($2::text = '' AND state <> 'archived') OR state = $2) AND key > $3
        ORDER BY key LIMIT $4`,
      [filter.owner ?? '', filter.state ?? '', filter.after ?? '', filter.limit],
    );
    return rows.map(toExperiment);
  }

  async listDue(now: string): Promise<ExperimentRecord[]> {
    return (await this.sql.rows<ExperimentRow>('SELECT * FROM experiments WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, key', [now])).map(toExperiment);
  }

  async liveFlagClaims(key: string, pairs: { service: string; flag: string }[]): Promise<LiveFlagClaim[]> {
    const out: LiveFlagClaim[] = [];
    for (const p of pairs) {
      const rows = await this.sql.rows<{ key: string; version: number; status: string; state: string; active: number | null }>(
        `SELECT v.key, v.version, v.status, e.state, e.active_version AS active
           FROM version_flags f
           JOIN intent_versions v ON v.key = f.key AND v.version = f.version
           JOIN experiments e ON e.key = v.key
          WHERE f.service = $1 AND f.flag = $2 AND f.key <> $3 AND ${LIVE_VERSION}
          ORDER BY v.key, v.version
          LIMIT ${FLAG_CLAIMS_PER_PAIR}`,
        [p.service, p.flag, key],
      );
      for (const r of rows) out.push({ key: r.key, version: r.version, status: liveStatus(r), service: p.service, flag: p.flag });
    }
    return out;
  }

  /**
   * The room summary, computed from the layer's live members read now. Another instance may have
   * changed the layer a moment ago, so nothing is cached across calls; the member rows are a few
   * numbers each and a layer holds at most LAYER_BUCKETS placed members.
   */
  async layerRoom(key: string, layer: string): Promise<LayerRoom> {
    return layerRoom(layer, await this.liveLayerClaims(key, layer));
  }

  async layerFirstFit(key: string, layer: string, size: number): Promise<Slice | null> {
    return firstFit(placed(await this.liveLayerClaims(key, layer)), size);
  }

  async layerSliceFree(key: string, layer: string, slice: Slice): Promise<boolean> {
    return !placed(await this.liveLayerClaims(key, layer)).some((s) => overlaps(s, slice));
  }

  async liveLayerClaims(key: string, layer: string): Promise<LiveLayerClaim[]> {
    const rows = await this.sql.rows<LayerRow>(
      `SELECT ${LAYER_COLUMNS} FROM intent_versions v JOIN experiments e ON e.key = v.key
        WHERE v.layer = $1 AND v.key <> $2 AND ${LIVE_VERSION}
        ORDER BY v.slice_start NULLS FIRST, v.key, v.version`,
      [layer, key],
    );
    return rows.map(toLayerClaim);
  }

  async liveLayerMembers(layer: string): Promise<LiveLayerClaim[]> {
    const rows = await this.sql.rows<LayerRow>(
      `SELECT ${LAYER_COLUMNS} FROM intent_versions v JOIN experiments e ON e.key = v.key
        WHERE v.layer = $1 AND ${LIVE_VERSION}
        ORDER BY v.slice_start NULLS FIRST, v.key, v.version`,
      [layer],
    );
    return rows.map(toLayerClaim);
  }

  async liveVersions(): Promise<(VersionRecord & { liveStatus: string })[]> {
    const rows = await this.sql.rows<VersionRow & { state: string; active: number | null }>(
      `SELECT ${VERSION_COLUMNS}, e.state, e.active_version AS active
         FROM intent_versions v JOIN experiments e ON e.key = v.key
        WHERE ${LIVE_VERSION}
        ORDER BY v.key, v.version`,
    );
    return rows.map((r) => ({ ...toVersion(r), liveStatus: liveStatus(r) }));
  }

  async listApprovals(key: string, version: number): Promise<ApprovalRecord[]> {
    const rows = await this.sql.rows<{ key: string; version: number; actor: string; roles: string; comment: Buffer | null; created_at: string }>(
      'SELECT * FROM approvals WHERE key = $1 AND version = $2 ORDER BY created_at, actor',
      [key, version],
    );
    return rows.map((r) => ({ key: r.key, version: r.version, actor: r.actor, roles: JSON.parse(r.roles) as string[], comment: text(r.comment), createdAt: r.created_at }));
  }

  /** ON CONFLICT rather than catching 23505: an error would abort the whole PostgreSQL transaction. */
  async createExperiment(key: string, owner: string, at: string): Promise<void> {
    const n = await this.sql.run(
      `INSERT INTO experiments (key, owner, current_version, active_version, state, created_at, updated_at)
       VALUES ($1, $2, 1, NULL, 'draft', $3, $3) ON CONFLICT (key) DO NOTHING`,
      [key, owner, at],
    );
    if (n === 0) throw new ConflictError('intent_exists', `An intent with key ${key} exists already; send PUT /v1/intents/${key} for a new version`);
  }

  async insertVersion(v: Omit<VersionRecord, 'retiredAt' | 'ship'> & { ship?: string | null }): Promise<void> {
    await this.sql.run(
      `INSERT INTO intent_versions (key, version, body, status, decision_id, layer, exposure, slice_start, slice_end, submitted_by, submitted_at, ship)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        v.key,
        v.version,
        JSON.stringify(v.intent),
        v.status,
        v.decisionId,
        v.ship ? null : (v.intent.layer ?? null),
        v.intent.exposure,
        v.slice?.start ?? null,
        v.slice?.end ?? null,
        v.submittedBy,
        v.submittedAt,
        v.ship ?? null,
      ],
    );
    for (const s of v.intent.services) {
      await this.sql.run('INSERT INTO version_flags (key, version, service, flag) VALUES ($1, $2, $3, $4)', [v.key, v.version, s.service, s.flag]);
    }
  }

  async setCurrentVersion(key: string, version: number, owner: string, at: string): Promise<void> {
    await this.sql.run('UPDATE experiments SET current_version = $1, owner = $2, updated_at = $3 WHERE key = $4', [version, owner, at, key]);
  }

  async setActive(key: string, activeVersion: number | null, state: ExperimentState, dueAt: string | null, at: string): Promise<void> {
    await this.sql.run('UPDATE experiments SET active_version = $1, state = $2, due_at = $3, updated_at = $4 WHERE key = $5', [activeVersion, state, dueAt, at, key]);
  }

  async archive(key: string, at: string): Promise<boolean> {
    const n = await this.sql.run(
      `UPDATE experiments SET state = 'archived', due_at = NULL, updated_at = $1 WHERE key = $2 AND state = 'draft' AND active_version IS NULL`,
      [at, key],
    );
    return n === 1;
  }

  async retire(key: string, version: number, at: string): Promise<void> {
    await this.sql.run('UPDATE intent_versions SET retired_at = $1 WHERE key = $2 AND version = $3', [at, key, version]);
  }

  async setStatus(key: string, version: number, status: VersionStatus): Promise<void> {
    await this.sql.run('UPDATE intent_versions SET status = $1 WHERE key = $2 AND version = $3', [status, key, version]);
  }

  async setSlice(key: string, version: number, slice: { start: number; end: number } | null): Promise<void> {
    await this.sql.run('UPDATE intent_versions SET slice_start = $1, slice_end = $2 WHERE key = $3 AND version = $4', [slice?.start ?? null, slice?.end ?? null, key, version]);
  }

  async insertApproval(a: ApprovalRecord): Promise<boolean> {
    const n = await this.sql.run(
      'INSERT INTO approvals (key, version, actor, roles, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key, version, actor) DO NOTHING',
      [a.key, a.version, a.actor, JSON.stringify(a.roles), bytes(a.comment), a.createdAt],
    );
    return n === 1;
  }
}

const placed = (members: LiveLayerClaim[]): Slice[] =>
  members.filter((m) => m.start !== undefined && m.end !== undefined).map((m) => ({ start: m.start!, end: m.end! }));

// ---------------------------------------------------------------------------------------------
// rollouts

interface RolloutRow {
  key: string;
  stage: number;
  stage_started_at: string;
  hold_until: string;
  auto_due_at: string | null;
  paused_by: string | null;
  updated_at: string;
}

export class PgRolloutStore implements RolloutStore {
  constructor(private readonly sql: Sql) {}

  async get(key: string): Promise<RolloutProgress | undefined> {
    const [r] = await this.sql.rows<RolloutRow>('SELECT * FROM rollout_progress WHERE key = $1', [key]);
    return r
      ? { key: r.key, stage: r.stage, stageStartedAt: r.stage_started_at, holdUntil: r.hold_until, autoDueAt: r.auto_due_at, pausedBy: r.paused_by, updatedAt: r.updated_at }
      : undefined;
  }

  async put(p: RolloutProgress): Promise<void> {
    await this.sql.run(
      `INSERT INTO rollout_progress (key, stage, stage_started_at, hold_until, auto_due_at, paused_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (key) DO UPDATE SET stage = excluded.stage, stage_started_at = excluded.stage_started_at,
         hold_until = excluded.hold_until, auto_due_at = excluded.auto_due_at, paused_by = excluded.paused_by,
         updated_at = excluded.updated_at`,
      [p.key, p.stage, p.stageStartedAt, p.holdUntil, p.autoDueAt, p.pausedBy, p.updatedAt],
    );
  }

  async listAutoDue(now: string): Promise<string[]> {
    const rows = await this.sql.rows<{ key: string }>('SELECT key FROM rollout_progress WHERE auto_due_at IS NOT NULL AND auto_due_at <= $1 ORDER BY auto_due_at, key', [now]);
    return rows.map((r) => r.key);
  }
}

// ---------------------------------------------------------------------------------------------
// decisions

export class PgDecisionStore implements DecisionStore {
  constructor(private readonly sql: Sql) {}

  async insert(d: DecisionRecord): Promise<void> {
    await this.sql.run(
      `INSERT INTO decisions (id, key, version, policy_revision, input, result, status, actor, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [d.id, d.key, d.version, d.policyRevision, JSON.stringify(d.input), JSON.stringify(d.result), d.status, d.actor, d.createdAt],
    );
  }

  async get(id: string): Promise<DecisionRecord | undefined> {
    const [r] = await this.sql.rows<{ id: string; key: string | null; version: number | null; policy_revision: string; input: string; result: string; status: string; actor: string; created_at: string }>(
      'SELECT * FROM decisions WHERE id = $1',
      [id],
    );
    if (!r) return undefined;
    return { id: r.id, key: r.key, version: r.version, policyRevision: r.policy_revision, input: JSON.parse(r.input), result: JSON.parse(r.result), status: r.status, actor: r.actor, createdAt: r.created_at };
  }
}

// ---------------------------------------------------------------------------------------------
// flags

interface FlagRow {
  seq: number;
  service: string;
  version: number;
  document: string;
  etag: string;
  created_at: string;
}

const toDoc = (r: FlagRow): StoredFlagDocument => ({ service: r.service, version: r.version, json: r.document, etag: r.etag, createdAt: r.created_at });

/** The body from flag_document_bodies, or (parity with SQLite's pre-migration-3 rows) from the row itself. */
const WITH_BODY = `SELECT d.seq, d.service, d.version, coalesce(b.document, d.document) AS document, d.etag, d.created_at
  FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq`;

export class PgFlagStore implements FlagStore {
  constructor(private readonly sql: Sql) {}

  async latest(service: string): Promise<StoredFlagDocument | undefined> {
    const [r] = await this.sql.rows<FlagRow>(`${WITH_BODY} WHERE d.service = $1 ORDER BY d.version DESC LIMIT 1`, [service]);
    return r ? toDoc(r) : undefined;
  }

  async at(service: string, version: number): Promise<StoredFlagDocument | undefined> {
    const [r] = await this.sql.rows<FlagRow>(`${WITH_BODY} WHERE d.service = $1 AND d.version = $2`, [service, version]);
    return r && r.document !== '' ? toDoc(r) : undefined;
  }

  async allLatest(): Promise<StoredFlagDocument[]> {
    const rows = await this.sql.rows<FlagRow>(
      `${WITH_BODY} JOIN (SELECT service, max(version) AS version FROM flag_documents GROUP BY service) m
         ON m.service = d.service AND m.version = d.version`,
    );
    return rows.map(toDoc);
  }

  async events(afterSeq: number, service: string | undefined, limit: number): Promise<FlagEventRecord[]> {
    const rows = await this.sql.rows<{ seq: number; service: string; version: number; etag: string; created_at: string; cause: string }>(
      `SELECT seq, service, version, etag, created_at, cause FROM flag_documents
        WHERE seq > $1 AND ($2::text = '' OR service = $2) ORDER BY seq LIMIT $3`,
      [afterSeq, service ?? '', limit],
    );
    return rows.map((r) => ({ seq: r.seq, service: r.service, version: r.version, etag: r.etag, at: r.created_at, cause: JSON.parse(r.cause) as FlagChangeCause }));
  }

  async lastSeq(): Promise<number> {
    const [r] = await this.sql.rows<{ seq: number | null }>('SELECT max(seq) AS seq FROM flag_documents');
    return r?.seq ?? 0;
  }

  /** seq is max + 1, under the unit of work's lock: gapless and in commit order, like SQLite's AUTOINCREMENT. */
  async insert(doc: StoredFlagDocument, cause: FlagChangeCause): Promise<number> {
    const [r] = await this.sql.rows<{ seq: number }>(
      `INSERT INTO flag_documents (seq, service, version, document, etag, created_at, cause)
       SELECT coalesce(max(seq), 0) + 1, $1::text, $2::integer, '', $3::text, $4::text, $5::text FROM flag_documents RETURNING seq`,
      [doc.service, doc.version, doc.etag, doc.createdAt, JSON.stringify(cause)],
    );
    await this.sql.run('INSERT INTO flag_document_bodies (seq, document) VALUES ($1, $2)', [r!.seq, doc.json]);
    return r!.seq;
  }

  async pruneVersion(service: string, version: number): Promise<void> {
    if (version < 1) return;
    await this.sql.run('DELETE FROM flag_document_bodies WHERE seq = (SELECT seq FROM flag_documents WHERE service = $1 AND version = $2)', [service, version]);
  }

  async pruneBelow(service: string, version: number): Promise<number> {
    if (version <= 1) return 0;
    const a = await this.sql.run('DELETE FROM flag_document_bodies WHERE seq IN (SELECT seq FROM flag_documents WHERE service = $1 AND version < $2)', [service, version]);
    const b = await this.sql.run(`UPDATE flag_documents SET document = '' WHERE service = $1 AND version < $2 AND document <> ''`, [service, version]);
    return a + b;
  }
}

// ---------------------------------------------------------------------------------------------
// audit

interface AuditRow {
  seq: number;
  id: string;
  type: string;
  experiment: string | null;
  version: number | null;
  service: string | null;
  actor: string;
  at: string;
  data: string;
  prev_hash: string;
  hash: string;
}

const toAudit = (r: AuditRow): AuditRecord => ({
  seq: r.seq,
  id: r.id,
  type: r.type,
  experiment: r.experiment,
  version: r.version,
  service: r.service,
  actor: r.actor,
  at: r.at,
  data: readStoredData(r.data),
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** Events read per round trip by `iterate`: the trail is read by seq, a page at a time. */
const AUDIT_PAGE = 1000;

export class PgAuditStore implements AuditStore {
  constructor(private readonly sql: Sql) {}

  async last(): Promise<AuditRecord | undefined> {
    const [r] = await this.sql.rows<AuditRow>('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1');
    return r ? toAudit(r) : undefined;
  }

  async insert(e: Omit<AuditRecord, 'seq'>): Promise<number> {
    const [r] = await this.sql.rows<{ seq: number }>(
      `INSERT INTO audit_events (seq, id, type, experiment, version, service, actor, at, data, prev_hash, hash)
       SELECT coalesce(max(seq), 0) + 1, $1::text, $2::text, $3::text, $4::integer, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text FROM audit_events RETURNING seq`,
      [e.id, e.type, e.experiment, e.version, e.service, e.actor, e.at, JSON.stringify(e.data), e.prevHash, e.hash],
    );
    return r!.seq;
  }

  /**
   * SQLite's json_each(data, '$.services') yields the members of an array (or of an object); the
   * same here with json, only for an array, the one shape the domain writes.
   */
  async query(q: AuditQuery): Promise<AuditRecord[]> {
    const rows = await this.sql.rows<AuditRow>(
      `SELECT * FROM audit_events a
        WHERE seq > $1
          AND ($2::text IS NULL OR a.experiment = $2)
          AND ($3::text IS NULL OR a.service = $3 OR EXISTS (
                SELECT 1 FROM json_array_elements_text(CASE WHEN json_typeof(${JSON_MEMBERS_SAFE('a.data')} -> 'services') = 'array' THEN ${JSON_MEMBERS_SAFE('a.data')} -> 'services' END) s(value)
                 WHERE s.value = $3))
          AND ($4::text IS NULL OR a.actor = $4)
          AND ($5::text IS NULL OR a.type = $5)
          AND ($6::text IS NULL OR a.at >= $6)
          AND ($7::text IS NULL OR a.at < $7)
        ORDER BY seq LIMIT $8`,
      [q.afterSeq ?? 0, q.experiment ?? null, q.service ?? null, q.actor ?? null, q.type ?? null, q.from ?? null, q.to ?? null, q.limit],
    );
    return rows.map(toAudit);
  }

  async *iterate(): AsyncIterable<AuditRecord> {
    let after = 0;
    for (;;) {
      const rows = await this.sql.rows<AuditRow>('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, AUDIT_PAGE]);
      for (const r of rows) yield toAudit(r);
      if (rows.length < AUDIT_PAGE) return;
      after = rows[rows.length - 1]!.seq;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tokens

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  team: string | null;
  approval_roles: string;
  service: string | null;
  hash: string;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
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

export class PgTokenStore implements TokenStore {
  constructor(private readonly sql: Sql) {}

  async listActive(): Promise<{ hash: string; token: TokenRecord }[]> {
    return (await this.sql.rows<TokenRow>('SELECT * FROM tokens WHERE revoked_at IS NULL ORDER BY created_at, id')).map((r) => ({ hash: r.hash, token: toToken(r) }));
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const [r] = await this.sql.rows<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id]);
    return r ? toToken(r) : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.sql.rows<TokenRow>('SELECT * FROM tokens ORDER BY created_at, id')).map(toToken);
  }

  async count(): Promise<number> {
    const [r] = await this.sql.rows<{ n: number }>('SELECT count(*) AS n FROM tokens');
    return r!.n;
  }

  async insert(token: Omit<TokenRecord, 'revokedAt'>, hash: string): Promise<boolean> {
    const n = await this.sql.run(
      `INSERT INTO tokens (id, name, role, team, approval_roles, service, hash, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hash) DO NOTHING`,
      [token.id, token.name, token.role, token.team, JSON.stringify(token.approvalRoles), token.service, hash, token.createdAt, token.createdBy],
    );
    return n === 1;
  }

  async revoke(id: string, at: string): Promise<boolean> {
    return (await this.sql.run('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])) === 1;
  }
}

// ---------------------------------------------------------------------------------------------
// telemetry

export class PgTelemetryStore implements TelemetryStore {
  constructor(private readonly sql: Sql) {}

  async addExposure(experiment: string, version: number, unit: string, arm: string, at: string): Promise<boolean> {
    const n = await this.sql.run(
      'INSERT INTO telemetry_exposures (experiment, version, unit, arm, first_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [experiment, version, bytes(unit), arm, at],
    );
    if (n === 1) return true;
    await this.sql.run('UPDATE telemetry_exposures SET first_at = $1 WHERE experiment = $2 AND version = $3 AND unit = $4 AND first_at > $1', [at, experiment, version, bytes(unit)]);
    return false;
  }

  async exposuresOf(unit: string): Promise<UnitExposure[]> {
    const rows = await this.sql.rows<{ experiment: string; version: number; arm: string; first_at: string }>(
      'SELECT experiment, version, arm, first_at FROM telemetry_exposures WHERE unit = $1',
      [bytes(unit)],
    );
    return rows.map((r) => ({ experiment: r.experiment, version: r.version, arm: r.arm, firstAt: r.first_at }));
  }

  async unitMetric(experiment: string, version: number, unit: string, metric: string): Promise<UnitMetric | undefined> {
    const [r] = await this.sql.rows<UnitMetric>(
      'SELECT agg, count FROM telemetry_unit_metrics WHERE experiment = $1 AND version = $2 AND unit = $3 AND metric = $4',
      [experiment, version, bytes(unit), metric],
    );
    return r ? { agg: r.agg, count: r.count } : undefined;
  }

  async putUnitMetric(experiment: string, version: number, unit: string, metric: string, m: UnitMetric): Promise<void> {
    await this.sql.run(
      `INSERT INTO telemetry_unit_metrics (experiment, version, unit, metric, agg, count) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (experiment, version, unit, metric) DO UPDATE SET agg = excluded.agg, count = excluded.count`,
      [experiment, version, bytes(unit), metric, m.agg, m.count],
    );
  }

  async addArmSums(experiment: string, version: number, d: ArmSums): Promise<void> {
    await this.sql.run(
      `INSERT INTO telemetry_arm_stats AS t (experiment, version, arm, metric, n, sum, sumsq) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (experiment, version, arm, metric) DO UPDATE SET
         n = t.n + excluded.n, sum = t.sum + excluded.sum, sumsq = t.sumsq + excluded.sumsq`,
      [experiment, version, d.arm, d.metric, d.n, d.sum, d.sumsq],
    );
  }

  async addMismatches(experiment: string, version: number, count: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO telemetry_mismatches AS t (experiment, version, count) VALUES ($1, $2, $3)
       ON CONFLICT (experiment, version) DO UPDATE SET count = t.count + excluded.count`,
      [experiment, version, count],
    );
  }

  async armSums(experiment: string, version: number): Promise<ArmSums[]> {
    const rows = await this.sql.rows<ArmSums>('SELECT arm, metric, n, sum, sumsq FROM telemetry_arm_stats WHERE experiment = $1 AND version = $2', [experiment, version]);
    return rows.map((r) => ({ arm: r.arm, metric: r.metric, n: r.n, sum: r.sum, sumsq: r.sumsq }));
  }

  async mismatches(experiment: string, version: number): Promise<number> {
    const [r] = await this.sql.rows<{ count: number }>('SELECT count FROM telemetry_mismatches WHERE experiment = $1 AND version = $2', [experiment, version]);
    return r?.count ?? 0;
  }

  async appendPoint(experiment: string, version: number, at: string, point: object, max: number): Promise<boolean> {
    const json = JSON.stringify(point);
    const [last] = await this.sql.rows<{ seq: number; point: string }>(
      'SELECT seq, point FROM telemetry_analysis_history WHERE experiment = $1 AND version = $2 ORDER BY seq DESC LIMIT 1',
      [experiment, version],
    );
    if (last && last.point === json) return false;
    const seqs = (await this.sql.rows<{ seq: number }>('SELECT seq FROM telemetry_analysis_history WHERE experiment = $1 AND version = $2 ORDER BY seq', [experiment, version])).map((r) => r.seq);
    if (seqs.length >= max) {
      // keep the first, the newest half whole; drop every second one of the older half
      const older = seqs.slice(0, seqs.length - Math.floor(max / 2));
      const drop: number[] = [];
      for (let i = 1; i < older.length; i += 2) drop.push(older[i]!);
      if (drop.length > 0) {
        await this.sql.run('DELETE FROM telemetry_analysis_history WHERE experiment = $1 AND version = $2 AND seq = ANY($3::integer[])', [experiment, version, drop]);
      }
    }
    await this.sql.run('INSERT INTO telemetry_analysis_history (experiment, version, seq, at, point) VALUES ($1, $2, $3, $4, $5)', [experiment, version, (last?.seq ?? 0) + 1, at, json]);
    return true;
  }

  async history(experiment: string, version: number): Promise<Record<string, unknown>[]> {
    const rows = await this.sql.rows<{ at: string; point: string }>('SELECT at, point FROM telemetry_analysis_history WHERE experiment = $1 AND version = $2 ORDER BY seq', [experiment, version]);
    return rows.map((r) => ({ at: r.at, ...(JSON.parse(r.point) as Record<string, unknown>) }));
  }

  async guarded(): Promise<{ key: string; version: number }[]> {
    return this.sql.rows<{ key: string; version: number }>(
      `SELECT v.key AS key, v.version AS version FROM intent_versions v
         JOIN experiments e ON e.key = v.key AND e.active_version = v.version
        WHERE (${JSON_MEMBERS_SAFE('v.body')} -> 'rollout') IS NOT NULL AND e.state = 'running'
        ORDER BY v.key`,
    );
  }

  async prune(before: string, limit: number): Promise<number> {
    const keys = await this.sql.rows<{ key: string }>(
      `SELECT key FROM experiments WHERE state IN ('completed', 'archived', 'draft') AND updated_at < $1
         AND (EXISTS (SELECT 1 FROM telemetry_exposures t WHERE t.experiment = experiments.key)
           OR EXISTS (SELECT 1 FROM telemetry_unit_metrics m WHERE m.experiment = experiments.key))
        ORDER BY key`,
      [before],
    );
    let removed = 0;
    for (const { key } of keys) {
      removed += await this.sql.run(
        `DELETE FROM telemetry_exposures WHERE (experiment, version, unit) IN
           (SELECT experiment, version, unit FROM telemetry_exposures WHERE experiment = $1 LIMIT $2)`,
        [key, limit - removed],
      );
      if (removed < limit) {
        removed += await this.sql.run(
          `DELETE FROM telemetry_unit_metrics WHERE (experiment, version, unit, metric) IN
             (SELECT experiment, version, unit, metric FROM telemetry_unit_metrics WHERE experiment = $1 LIMIT $2)`,
          [key, limit - removed],
        );
      }
      if (removed >= limit) break;
    }
    return removed;
  }
}

// ---------------------------------------------------------------------------------------------
// policies

export class PgPolicyStore implements PolicyStore {
  constructor(private readonly sql: Sql) {}

  async saveBundle(meta: StoredBundleMeta, raw: Buffer): Promise<void> {
    await this.sql.run(
      `INSERT INTO policy_bundles (revision, manifest_revision, wasm_sha256, entrypoints, raw, uploaded_at, uploaded_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (revision) DO UPDATE SET manifest_revision = excluded.manifest_revision, entrypoints = excluded.entrypoints, raw = excluded.raw`,
      [meta.revision, meta.manifestRevision, meta.wasmSha256, JSON.stringify(meta.entrypoints), raw, meta.uploadedAt, meta.uploadedBy],
    );
  }

  async bundleRaw(revision: string): Promise<Buffer | undefined> {
    const [r] = await this.sql.rows<{ raw: Buffer }>('SELECT raw FROM policy_bundles WHERE revision = $1', [revision]);
    return r?.raw;
  }

  async bundleMeta(revision: string): Promise<StoredBundleMeta | undefined> {
    const [r] = await this.sql.rows<{ revision: string; manifest_revision: string | null; wasm_sha256: string; entrypoints: string; uploaded_at: string; uploaded_by: string }>(
      'SELECT revision, manifest_revision, wasm_sha256, entrypoints, uploaded_at, uploaded_by FROM policy_bundles WHERE revision = $1',
      [revision],
    );
    return r
      ? { revision: r.revision, manifestRevision: r.manifest_revision, wasmSha256: r.wasm_sha256, entrypoints: JSON.parse(r.entrypoints) as string[], uploadedAt: r.uploaded_at, uploadedBy: r.uploaded_by }
      : undefined;
  }

  async recordActivation(a: ActivationRecord): Promise<void> {
    await this.sql.run(
      'INSERT INTO policy_activations (seq, revision, activated_at, activated_by) SELECT coalesce(max(seq), 0) + 1, $1::text, $2::text, $3::text FROM policy_activations',
      [a.revision, a.activatedAt, a.activatedBy],
    );
  }

  async activeActivation(): Promise<ActivationRecord | undefined> {
    const [r] = await this.sql.rows<{ revision: string; activated_at: string; activated_by: string }>(
      'SELECT revision, activated_at, activated_by FROM policy_activations ORDER BY seq DESC LIMIT 1',
    );
    return r ? { revision: r.revision, activatedAt: r.activated_at, activatedBy: r.activated_by } : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// idempotency

export class PgIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly sql: Sql,
    private readonly ttlMs = IDEMPOTENCY_TTL_MS,
  ) {}

  async get(tokenId: string, key: string, now: Date): Promise<StoredResponse | undefined> {
    const [r] = await this.sql.rows<{ method: string; path: string; request_hash: string; status: number; headers: string; body: string; created_at: string }>(
      'SELECT * FROM idempotency_keys WHERE token_id = $1 AND key = $2',
      [tokenId, key],
    );
    return r && Date.parse(r.created_at) > now.getTime() - this.ttlMs
      ? { method: r.method, path: r.path, requestHash: r.request_hash, status: r.status, headers: JSON.parse(r.headers) as Record<string, string>, body: r.body, createdAt: r.created_at }
      : undefined;
  }

  async put(tokenId: string, key: string, r: StoredResponse): Promise<void> {
    await this.sql.run('DELETE FROM idempotency_keys WHERE created_at <= $1', [new Date(Date.parse(r.createdAt) - this.ttlMs).toISOString()]);
    await this.sql.run(
      `INSERT INTO idempotency_keys (token_id, key, method, path, request_hash, status, headers, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (token_id, key) DO NOTHING`,
      [tokenId, key, r.method, r.path, r.requestHash, r.status, JSON.stringify(r.headers), r.body, r.createdAt],
    );
  }
}
