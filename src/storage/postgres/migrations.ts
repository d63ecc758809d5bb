/**
 * The PostgreSQL schema (docs/storage.md "PostgreSQL"). It starts where the SQLite schema stands
 * after its migrations 1–6 (src/storage/sqlite/migrations.ts): the same tables, columns, keys,
 * constraints and indexes, so both engines hold the same rows and answer byte-identical JSON.
 * Append only, like SQLite's: a released migration is never edited, a change is a new entry.
 *
 * How SQLite's types are translated:
 * - TEXT stays text, with `COLLATE "C"`: ORDER BY then compares code points (UTF-8 bytes), as
 *   SQLite's BINARY collation does, whatever the database's default collation is.
 * - JSON stays text, so the bytes written are the bytes read (jsonb would reorder members and drop
 *   duplicates; the flags document and its ETag must round-trip exactly).
 * - Timestamps stay the ISO 8601 text the domain writes (`2026-11-25T12:00:00.000Z`), compared as
 *   text exactly like SQLite does: a timestamptz would come back in another spelling.
 * - Sequence numbers, counters and sums of counts are bigint (they may pass 2^31); versions, stages,
 *   slice bounds and HTTP statuses are integer. REAL is double precision. BLOB is bytea.
 * - Free text a client sends that may hold U+0000 (an approval's `comment`, a telemetry `unit`):
 *   PostgreSQL text cannot hold that character, so these columns are bytea holding the UTF-8 bytes,
 *   and read back decoded. Everything else that reaches a column is an identifier (SPEC §2: no
 *   control characters), a generated id or time, or JSON text (JSON.stringify escapes U+0000).
 * - SQLite's AUTOINCREMENT keys (`seq`) are plain bigint keys that the adapter numbers max + 1
 *   inside the unit of work (which holds the advisory lock): gapless like SQLite's, where a sequence
 *   would skip the numbers of rolled-back inserts and the feed cursors would differ between engines.
 *
 * Append-only tables are enforced by triggers that raise, as SQLite's are: `audit_events` refuses
 * every UPDATE and DELETE; `flag_documents` refuses DELETE, and an UPDATE other than emptying an
 * old `document` (kept for parity with SQLite, where bodies written before migration 3 live there).
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const pgMigrations: PgMigration[] = [
  {
    version: 1,
    name: 'schema_of_sqlite_6',
    sql: `
CREATE TABLE tokens (
  id text COLLATE "C" PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  role text COLLATE "C" NOT NULL,
  team text COLLATE "C",
  approval_roles text COLLATE "C" NOT NULL DEFAULT '[]',
  service text COLLATE "C",
  hash text COLLATE "C" NOT NULL UNIQUE,
  created_at text COLLATE "C" NOT NULL,
  created_by text COLLATE "C",
  revoked_at text COLLATE "C"
);

CREATE TABLE experiments (
  key text COLLATE "C" PRIMARY KEY,
  owner text COLLATE "C" NOT NULL,
  current_version integer NOT NULL,
  active_version integer,
  state text COLLATE "C" NOT NULL,
  due_at text COLLATE "C",
  created_at text COLLATE "C" NOT NULL,
  updated_at text COLLATE "C" NOT NULL
);
CREATE INDEX experiments_owner ON experiments (owner, key);
CREATE INDEX experiments_due ON experiments (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE intent_versions (
  key text COLLATE "C" NOT NULL REFERENCES experiments (key),
  version integer NOT NULL,
  body text COLLATE "C" NOT NULL,
  status text COLLATE "C" NOT NULL,
  decision_id text COLLATE "C",
  layer text COLLATE "C",
  exposure double precision NOT NULL,
  slice_start integer,
  slice_end integer,
  submitted_by text COLLATE "C" NOT NULL,
  submitted_at text COLLATE "C" NOT NULL,
  retired_at text COLLATE "C",
  ship text COLLATE "C",
  PRIMARY KEY (key, version)
);
CREATE INDEX intent_versions_layer ON intent_versions (layer) WHERE layer IS NOT NULL;
-- SQLite: WHERE json_type(body, '$.rollout') IS NOT NULL. PostgreSQL's json operators refuse a
-- whole document that holds the escape \\u0000 anywhere (22P05), so it is replaced by \\ufffd
-- first: that changes string contents only, never which members exist (see JSON_MEMBERS_SAFE).
CREATE INDEX intent_versions_rollout ON intent_versions (key, version) WHERE (replace(body, '\\u0000', '\\ufffd')::json -> 'rollout') IS NOT NULL;

CREATE TABLE version_flags (
  key text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  service text COLLATE "C" NOT NULL,
  flag text COLLATE "C" NOT NULL,
  PRIMARY KEY (key, version, service, flag),
  FOREIGN KEY (key, version) REFERENCES intent_versions (key, version)
);
CREATE INDEX version_flags_service_flag ON version_flags (service, flag);

CREATE TABLE decisions (
  id text COLLATE "C" PRIMARY KEY,
  key text COLLATE "C",
  version integer,
  policy_revision text COLLATE "C" NOT NULL,
  input text COLLATE "C" NOT NULL,
  result text COLLATE "C" NOT NULL,
  status text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  created_at text COLLATE "C" NOT NULL
);
CREATE INDEX decisions_key ON decisions (key, version);

CREATE TABLE approvals (
  key text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  actor text COLLATE "C" NOT NULL,
  roles text COLLATE "C" NOT NULL,
  comment bytea,
  created_at text COLLATE "C" NOT NULL,
  PRIMARY KEY (key, version, actor),
  FOREIGN KEY (key, version) REFERENCES intent_versions (key, version)
);

CREATE TABLE flag_documents (
  seq bigint PRIMARY KEY,
  service text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  document text COLLATE "C" NOT NULL DEFAULT '',
  etag text COLLATE "C" NOT NULL,
  created_at text COLLATE "C" NOT NULL,
  cause text COLLATE "C" NOT NULL,
  UNIQUE (service, version)
);

CREATE TABLE flag_document_bodies (
  seq bigint PRIMARY KEY REFERENCES flag_documents (seq),
  document text COLLATE "C" NOT NULL
);

CREATE TABLE idempotency_keys (
  token_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  method text COLLATE "C" NOT NULL,
  path text COLLATE "C" NOT NULL,
  request_hash text COLLATE "C" NOT NULL,
  status integer NOT NULL,
  headers text COLLATE "C" NOT NULL,
  body text COLLATE "C" NOT NULL,
  created_at text COLLATE "C" NOT NULL,
  PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  type text COLLATE "C" NOT NULL,
  experiment text COLLATE "C",
  version integer,
  service text COLLATE "C",
  actor text COLLATE "C" NOT NULL,
  at text COLLATE "C" NOT NULL,
  data text COLLATE "C" NOT NULL,
  prev_hash text COLLATE "C" NOT NULL,
  hash text COLLATE "C" NOT NULL
);
CREATE INDEX audit_events_experiment ON audit_events (experiment, seq);
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

CREATE TABLE policy_bundles (
  revision text COLLATE "C" PRIMARY KEY,
  manifest_revision text COLLATE "C",
  wasm_sha256 text COLLATE "C" NOT NULL,
  entrypoints text COLLATE "C" NOT NULL,
  raw bytea NOT NULL,
  uploaded_at text COLLATE "C" NOT NULL,
  uploaded_by text COLLATE "C" NOT NULL
);

CREATE TABLE policy_activations (
  seq bigint PRIMARY KEY,
  revision text COLLATE "C" NOT NULL REFERENCES policy_bundles (revision),
  activated_at text COLLATE "C" NOT NULL,
  activated_by text COLLATE "C" NOT NULL
);

CREATE TABLE rollout_progress (
  key text COLLATE "C" PRIMARY KEY REFERENCES experiments (key),
  stage integer NOT NULL,
  stage_started_at text COLLATE "C" NOT NULL,
  hold_until text COLLATE "C" NOT NULL,
  auto_due_at text COLLATE "C",
  paused_by text COLLATE "C",
  updated_at text COLLATE "C" NOT NULL
);
CREATE INDEX rollout_progress_auto_due ON rollout_progress (auto_due_at) WHERE auto_due_at IS NOT NULL;

CREATE TABLE telemetry_exposures (
  experiment text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  unit bytea NOT NULL,
  arm text COLLATE "C" NOT NULL,
  first_at text COLLATE "C" NOT NULL,
  PRIMARY KEY (experiment, version, unit)
);
CREATE INDEX telemetry_exposures_unit ON telemetry_exposures (unit);
CREATE TABLE telemetry_unit_metrics (
  experiment text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  unit bytea NOT NULL,
  metric text COLLATE "C" NOT NULL,
  agg double precision NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (experiment, version, unit, metric)
);
CREATE TABLE telemetry_arm_stats (
  experiment text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  arm text COLLATE "C" NOT NULL,
  metric text COLLATE "C" NOT NULL,
  n bigint NOT NULL,
  sum double precision NOT NULL,
  sumsq double precision NOT NULL,
  PRIMARY KEY (experiment, version, arm, metric)
);
CREATE TABLE telemetry_mismatches (
  experiment text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (experiment, version)
);
CREATE TABLE telemetry_analysis_history (
  experiment text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  seq integer NOT NULL,
  at text COLLATE "C" NOT NULL,
  point text COLLATE "C" NOT NULL,
  PRIMARY KEY (experiment, version, seq)
);

-- Append-only, enforced by the database as SQLite's triggers do (RAISE(ABORT) there, an exception here).
CREATE FUNCTION switchyard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'raise_exception';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION switchyard_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION switchyard_append_only();
-- TRUNCATE fires no row trigger; SQLite has no TRUNCATE, here it is refused too.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION switchyard_append_only();

CREATE FUNCTION switchyard_flag_documents_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.document <> '' OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.service IS DISTINCT FROM OLD.service
     OR NEW.version IS DISTINCT FROM OLD.version OR NEW.etag IS DISTINCT FROM OLD.etag
     OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.cause IS DISTINCT FROM OLD.cause THEN
    RAISE EXCEPTION 'flag_documents is append-only: only an old document body may be pruned' USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER flag_documents_prune_only BEFORE UPDATE ON flag_documents FOR EACH ROW EXECUTE FUNCTION switchyard_flag_documents_prune_only();
CREATE TRIGGER flag_documents_no_delete BEFORE DELETE ON flag_documents FOR EACH ROW EXECUTE FUNCTION switchyard_append_only();
CREATE TRIGGER flag_documents_no_truncate BEFORE TRUNCATE ON flag_documents FOR EACH STATEMENT EXECUTE FUNCTION switchyard_append_only();
`,
  },
  {
    version: 2,
    name: 'change_counter',
    // PostgreSQL only (ADR 0012): the read barrier's counter. Every unit of work adds one to it in
    // its own transaction (the same statement that sends its NOTIFY), so a process that reads it
    // knows whether its snapshots hold every unit committed so far.
    sql: `
CREATE TABLE change_counter (
  id smallint PRIMARY KEY CHECK (id = 1),
  n bigint NOT NULL
);
INSERT INTO change_counter (id, n) VALUES (1, 0);
`,
  },
];
