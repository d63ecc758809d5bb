export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a released migration is never edited, a change is a new entry. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  team TEXT,
  approval_roles TEXT NOT NULL DEFAULT '[]',
  service TEXT,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by TEXT,
  revoked_at TEXT
);

CREATE TABLE experiments (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  current_version INTEGER NOT NULL,
  active_version INTEGER,
  state TEXT NOT NULL,
  due_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX experiments_owner ON experiments (owner, key);
CREATE INDEX experiments_due ON experiments (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE intent_versions (
  key TEXT NOT NULL REFERENCES experiments (key),
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  decision_id TEXT,
  layer TEXT,
  exposure REAL NOT NULL,
  slice_start INTEGER,
  slice_end INTEGER,
  submitted_by TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  retired_at TEXT,
  PRIMARY KEY (key, version)
);
CREATE INDEX intent_versions_layer ON intent_versions (layer) WHERE layer IS NOT NULL;

CREATE TABLE version_flags (
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  service TEXT NOT NULL,
  flag TEXT NOT NULL,
  PRIMARY KEY (key, version, service, flag),
  FOREIGN KEY (key, version) REFERENCES intent_versions (key, version)
);
CREATE INDEX version_flags_service_flag ON version_flags (service, flag);

CREATE TABLE decisions (
  id TEXT PRIMARY KEY,
  key TEXT,
  version INTEGER,
  policy_revision TEXT NOT NULL,
  input TEXT NOT NULL,
  result TEXT NOT NULL,
  status TEXT NOT NULL,
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX decisions_key ON decisions (key, version);

CREATE TABLE approvals (
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  actor TEXT NOT NULL,
  roles TEXT NOT NULL,
  comment TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (key, version, actor),
  FOREIGN KEY (key, version) REFERENCES intent_versions (key, version)
);

CREATE TABLE flag_documents (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  service TEXT NOT NULL,
  version INTEGER NOT NULL,
  document TEXT NOT NULL,
  etag TEXT NOT NULL,
  created_at TEXT NOT NULL,
  cause TEXT NOT NULL,
  UNIQUE (service, version)
);
CREATE TRIGGER flag_documents_no_update BEFORE UPDATE ON flag_documents
BEGIN SELECT RAISE(ABORT, 'flag_documents is append-only'); END;

CREATE TABLE idempotency_keys (
  token_id TEXT NOT NULL,
  key TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (token_id, key)
);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  experiment TEXT,
  version INTEGER,
  service TEXT,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_experiment ON audit_events (experiment, seq);
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

CREATE TABLE policy_bundles (
  revision TEXT PRIMARY KEY,
  manifest_revision TEXT,
  wasm_sha256 TEXT NOT NULL,
  entrypoints TEXT NOT NULL,
  raw BLOB NOT NULL,
  uploaded_at TEXT NOT NULL,
  uploaded_by TEXT NOT NULL
);

CREATE TABLE policy_activations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  revision TEXT NOT NULL REFERENCES policy_bundles (revision),
  activated_at TEXT NOT NULL,
  activated_by TEXT NOT NULL
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
`,
  },
  {
    // Idempotency records of POST /v1/tokens used to keep the new token's secret in the clear; the
    // stored answer now carries it as null (src/http/idempotency.ts SHOWN_ONCE). Scrub older ones.
    version: 2,
    name: 'idempotency_keys_without_token_secrets',
    sql: `
UPDATE idempotency_keys SET body = json_set(body, '$.token', json('null'))
WHERE method = 'POST' AND path LIKE '/v1/tokens%'
  AND CASE WHEN json_valid(body) THEN json_type(body, '$.token') = 'text' ELSE 0 END;
`,
  },
  {
    // Retention (docs/storage.md): a flags document's body moves to its own table, whose rows are
    // deleted beyond the retention; the flag_documents row (the change feed's entry) stays. A body
    // written before this migration stays in flag_documents and may be pruned to '' in place;
    // nothing else in that table may change, and no row may go.
    // Idempotency records expire after a day: the index finds the expired ones.
    version: 3,
    name: 'flag_document_retention',
    sql: `
CREATE TABLE flag_document_bodies (
  seq INTEGER PRIMARY KEY REFERENCES flag_documents (seq),
  document TEXT NOT NULL
);
DROP TRIGGER flag_documents_no_update;
CREATE TRIGGER flag_documents_prune_only BEFORE UPDATE ON flag_documents
WHEN NEW.document <> '' OR NEW.seq IS NOT OLD.seq OR NEW.service IS NOT OLD.service
  OR NEW.version IS NOT OLD.version OR NEW.etag IS NOT OLD.etag
  OR NEW.created_at IS NOT OLD.created_at OR NEW.cause IS NOT OLD.cause
BEGIN SELECT RAISE(ABORT, 'flag_documents is append-only: only an old document body may be pruned'); END;
CREATE TRIGGER flag_documents_no_delete BEFORE DELETE ON flag_documents
BEGIN SELECT RAISE(ABORT, 'flag_documents is append-only'); END;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`,
  },
  {
    // Staged rollouts (SPEC §10, docs/rollouts.md): where each rollout is, and the variant a version
    // ships (null: an ordinary version). A ship version is stored without a layer: it serves
    // nobody through a slice, so it holds no layer room.
    version: 4,
    name: 'rollouts_progress_and_ship',
    sql: `
ALTER TABLE intent_versions ADD COLUMN ship TEXT;
CREATE TABLE rollout_progress (
  key TEXT PRIMARY KEY REFERENCES experiments (key),
  stage INTEGER NOT NULL,
  stage_started_at TEXT NOT NULL,
  hold_until TEXT NOT NULL,
  auto_due_at TEXT,
  paused_by TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX rollout_progress_auto_due ON rollout_progress (auto_due_at) WHERE auto_due_at IS NOT NULL;
`,
  },
  {
    // Telemetry (SPEC §10.1, docs/telemetry.md): no raw event is kept. Per (experiment version,
    // unit) its arm and first exposure; per (experiment version, unit, metric) the unit's aggregate;
    // per (experiment version, arm, metric) running sums.
    // The partial index lets the guardrail loop find the versions that carry a rollout without
    // reading every running experiment.
    version: 5,
    name: 'telemetry',
    sql: `
CREATE TABLE telemetry_exposures (
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL,
  unit TEXT NOT NULL,
  arm TEXT NOT NULL,
  first_at TEXT NOT NULL,
  PRIMARY KEY (experiment, version, unit)
) WITHOUT ROWID;
CREATE INDEX telemetry_exposures_unit ON telemetry_exposures (unit);
CREATE TABLE telemetry_unit_metrics (
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL,
  unit TEXT NOT NULL,
  metric TEXT NOT NULL,
  agg REAL NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (experiment, version, unit, metric)
) WITHOUT ROWID;
CREATE TABLE telemetry_arm_stats (
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL,
  arm TEXT NOT NULL,
  metric TEXT NOT NULL,
  n INTEGER NOT NULL,
  sum REAL NOT NULL,
  sumsq REAL NOT NULL,
  PRIMARY KEY (experiment, version, arm, metric)
) WITHOUT ROWID;
CREATE TABLE telemetry_mismatches (
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (experiment, version)
) WITHOUT ROWID;
CREATE INDEX intent_versions_rollout ON intent_versions (key, version) WHERE json_type(body, '$.rollout') IS NOT NULL;
`,
  },
  {
    // A bounded history of analysis points per experiment version (docs/telemetry.md "History"): the
    // guardrail loop appends one when the analysis changed, at most ANALYSIS_HISTORY_MAX per version,
    // thinning the older ones; the console charts it.
    version: 6,
    name: 'analysis_history',
    sql: `
CREATE TABLE telemetry_analysis_history (
  experiment TEXT NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  point TEXT NOT NULL,
  PRIMARY KEY (experiment, version, seq)
) WITHOUT ROWID;
`,
  },
];
