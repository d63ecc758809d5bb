/**
 * The shapes of the /v1 answers the web console reads, for its JSDoc types (`// @ts-check`,
 * checked by `tsc -p tsconfig.console.json`). Only fields the server sends (src/http/openapi.ts
 * documents each); test/unit/console/console-types.test.ts holds the intent shapes to the server's own
 * return types, so a field renamed or dropped there fails `tsc` here.
 */

export type Role = 'owner' | 'approver' | 'governance' | 'operator' | 'service' | 'admin';
export type VersionStatus = 'denied' | 'pending_approval' | 'approved';
export type ExperimentState = 'draft' | 'scheduled' | 'running' | 'paused' | 'shipped' | 'completed' | 'archived';
/** `allowed_actions` of GET /v1/intents/{key} (src/intents/intent-actions.ts INTENT_ACTIONS). */
export type IntentAction = 'approve' | 'pause' | 'resume' | 'rollback' | 'complete' | 'advance' | 'ship';

/** An RFC 9457 problem document (docs/errors.md); other members may carry details. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  [member: string]: unknown;
}

/** GET /v1/whoami */
export interface Me {
  name: string;
  role: Role;
  team: string | null;
  approval_roles: string[];
  service: string | null;
}

export interface AudienceCondition {
  attribute: string;
  op: string;
  value?: unknown;
  values?: unknown[];
}

export interface ServiceFlag {
  service: string;
  flag: string;
}

export interface Variant {
  key: string;
  weight: number;
  value: unknown;
  overrides?: Record<string, unknown>;
}

export interface RolloutSpec {
  stages: { exposure: number; hold?: string }[];
  guardrails?: { metric: string; max_regression?: number }[];
  auto_advance?: boolean;
}

/** The intent as submitted (SPEC §2), with the defaults filled in. */
export interface IntentSpec {
  key: string;
  owner: string;
  description?: string;
  unit?: string;
  services: ServiceFlag[];
  variants: Variant[];
  exposure: number;
  audience?: AudienceCondition[];
  layer?: string;
  data_access?: string[];
  schedule?: { start?: string; end?: string };
  rollout?: RolloutSpec;
}

export interface Violation {
  code: string;
  policy: string;
  message: string;
  service?: string;
  data_class?: string;
}

/** A policy decision (SPEC §3). */
export interface Decision {
  id: string;
  policy_revision: string;
  allow: boolean;
  violations: Violation[];
  obligations: {
    approvals: { role: string; count: number }[];
    audit: { level: string; retention_days: number };
  };
  limits: { max_exposure?: number; [limit: string]: unknown };
}

export interface Approval {
  actor: string;
  roles: string[];
  comment: string | null;
  at: string;
}

export interface OutstandingApproval {
  role: string;
  count: number;
  approved_by: string[];
  missing: number;
}

/** SPEC §10 "State". */
export interface RolloutState {
  stage: number;
  stages: number;
  exposure: number;
  hold_until: string | null;
  status: 'holding' | 'ready' | 'blocked' | 'complete' | 'halted';
}

export interface VersionEntry {
  version: number;
  status: VersionStatus;
  decision_id: string | null;
  submitted_by: string;
  submitted_at: string;
  slice?: { start: number; end: number };
  ship?: string;
  rolled_back_at?: string;
}

/** GET /v1/intents/{key} (SPEC §4), and the answer of POST …/actions. */
export interface IntentDetail {
  key: string;
  owner: string;
  version: number;
  status: VersionStatus;
  state: ExperimentState;
  active_version: number | null;
  intent: IntentSpec;
  ship?: string;
  rollout?: RolloutState;
  decision: Decision | null;
  approvals: Approval[];
  outstanding_approvals: OutstandingApproval[];
  /** What the caller may do to the intent now, by the rule the action routes apply. */
  allowed_actions: IntentAction[];
  versions: VersionEntry[];
  created_at: string;
  updated_at: string;
}

/** GET /v1/intents */
export interface IntentList {
  items: {
    key: string;
    owner: string;
    version: number;
    active_version: number | null;
    status: VersionStatus;
    state: ExperimentState;
    description: string | null;
    services: ServiceFlag[];
    exposure: number;
    layer: string | null;
    updated_at: string;
  }[];
  next_cursor: string | null;
}

/** POST /v1/intents/{key}/approvals */
export interface ApprovalResult {
  intent: { key: string; version: number };
  status: 'approved' | 'pending_approval';
  state: ExperimentState;
  approvals: Approval[];
  outstanding: OutstandingApproval[];
}

/** GET /v1/audit */
export interface AuditEvent {
  id: string;
  seq: number;
  type: string;
  experiment: string | null;
  version: number | null;
  service: string | null;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  events: AuditEvent[];
  next_cursor: string | null;
}

/** One flag of GET /v1/services/{service}/flags (SPEC §5). */
export interface FlagState {
  state: 'ENABLED' | 'DISABLED';
  default_variant: string;
  variants: Record<string, unknown>;
  audience: AudienceCondition[];
  allocation: {
    unit: string;
    exposure: { seed: string; start: number; end: number; total: number };
    variants: { seed: string; buckets: [string, number][] };
  };
  experiment: { key: string; version: number };
  provenance: { decision_id: string; policy_revision: string; actor: string; at: string };
}

export interface FlagsDocument {
  service: string;
  version: number;
  flags: Record<string, FlagState>;
}

/** GET /v1/policy */
export interface PolicyInfo {
  revision: string | null;
  manifest_revision: string | null;
  wasm_sha256: string | null;
  entrypoints: string[];
  loaded_at: string | null;
  activated_by: string | null;
  services: string[];
}

/** PUT /v1/policy (and ?dry_run=true) */
export interface PublishResult {
  dry_run: boolean;
  activated: boolean;
  revision: string;
  previous_revision: string | null;
  impact: {
    candidate_revision: string;
    active_revision: string | null;
    evaluated: number;
    would_deny: number;
    changed: number;
    experiments: {
      key: string;
      version: number;
      state: string;
      old: { status: string; violations: Violation[] };
      new: { status: string; violations: Violation[] };
      changed: boolean;
    }[];
  };
}

export type AnalysisStatus = 'healthy' | 'collecting' | 'regressed' | 'srm';

export interface GuardrailResult {
  metric: string;
  arm: string;
  better: 'lower' | 'higher' | null;
  max_regression: number;
  control: { units: number; mean: number };
  arm_stats: { units: number; mean: number };
  relative_change: number | null;
  interval: [number, number] | null;
  status: 'ok' | 'collecting' | 'regressed';
}

/** GET /v1/intents/{key}/analysis?history=true (SPEC §10.2) */
export interface Analysis {
  key: string;
  version: number;
  units: Record<string, number>;
  srm: { p_value: number; flagged: boolean };
  assignment_mismatches: number;
  guardrails: GuardrailResult[];
  status: AnalysisStatus;
  history?: {
    at: string;
    units: Record<string, number>;
    status: AnalysisStatus;
    guardrails: { metric: string; arm: string; relative_change: number | null; interval: [number, number] | null; status: 'ok' | 'collecting' | 'regressed' }[];
  }[];
}

/** What the console's element builders take as children: nodes, text, nothing, or lists of these. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** One field of an approver's comparison (static/diff.js): the live version's text, the proposed one's, and whether they differ. */
export interface DiffRow {
  field: string;
  label: string;
  before: string;
  after: string;
  changed: boolean;
}

/** static/diff.js, as a test imports it. */
export interface DiffModule {
  intentDiff(live: IntentSpec | null, proposed: IntentSpec): DiffRow[];
  valueIn(v: Variant, service: string): unknown;
}

/** GET /v1/decisions/{id}: one decision with the input it judged (the intent of that version). */
export interface DecisionRecord {
  id: string;
  policy_revision: string;
  allow: boolean;
  violations: Violation[];
  obligations: Decision['obligations'] | null;
  limits: Decision['limits'];
  intent: { key: string; version: number } | null;
  status: VersionStatus;
  actor: string;
  at: string;
  input: { intent: IntentSpec; [member: string]: unknown };
}

// ---- Authoring (views/author.js, author-model.js) ----

/** GET /v1/intents/{key}: whether the caller may submit a new version now (the rule PUT applies). Merged into IntentDetail above. */
export interface IntentDetail {
  editable?: boolean;
}

/** static/author-model.js, as a test imports it. */
export interface AuthorModule {
  blankIntent(team: string): IntentSpec;
  violationField(v: Violation, draft: IntentSpec): string | null;
  nearestSlot(path: string | null, has: (path: string) => boolean): string | null;
  readValue(text: string): unknown;
  showValue(v: unknown): string;
  readList(text: string): unknown[];
  showList(values: unknown[] | undefined): string;
  toBody(draft: IntentSpec): IntentSpec;
}

// --- Governance views (issue #18, item 2): the policy preview's data diff, revision history,
// --- the audit trail and its chain check, the decision page and its replay.

/** One member of the rules' data that a candidate bundle changes (src/policy/policy-data-diff.ts). */
export type DataChange =
  | { path: string[]; change: 'added'; after: unknown }
  | { path: string[]; change: 'removed'; before: unknown }
  | { path: string[]; change: 'changed'; before: unknown; after: unknown };

/** PUT /v1/policy?dry_run=true, with what changed in the bundle's data.json. */
export interface PublishPreview extends PublishResult {
  data_changes: DataChange[];
  data_changes_omitted: number;
}

/** One row of PublishResult.impact.experiments. */
export type ImpactRow = PublishResult['impact']['experiments'][number];

/** GET /v1/audit/verify */
export interface ChainVerification {
  ok: boolean;
  events: number;
  head: string;
  broken_at?: { seq: number; id: string; reason: string };
}

/** The `data` of a `policy_activated` audit event. */
export interface PolicyActivatedData {
  revision?: string;
  manifest_revision?: string | null;
  wasm_sha256?: string;
  previous?: string | null;
  impact?: { evaluated: number; changed: number; would_deny: number };
}

/** The input a decision judged (docs/policy-contract.md): the intent and the context around it. */
export interface DecisionInput {
  intent: IntentSpec;
  actor?: { name: string; role: string; team?: string };
  now_ms?: number;
  schedule_ms?: { start?: number; end?: number };
  live?: {
    flags: { key: string; version: number; status: string; service: string; flag: string }[];
    layer_room: { layer: string; total: number; reserved: number; unplaced: number; largest_free: number; free_range_count: number; [member: string]: unknown } | null;
  };
  ship?: string;
}

/** POST /v1/decisions/{id}:replay */
export interface ReplayResult {
  decision_id: string;
  policy_revision: string;
  matches: boolean;
  original: unknown;
  replayed: unknown;
}
