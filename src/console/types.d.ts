/**
 * The types of the web console's JSDoc (`// @ts-check`, checked by `tsc -p tsconfig.console.json`).
 *
 * Every answer shape and enum is the server's own, taken with type-only imports (as
 * src/cli/api-types.ts does): `Answer<typeof ROUTES.x, status>` is `z.output` of the response schema
 * the route declares beside its handler (src/http/route.ts, docs/adr/0011-route-declarations.md), so
 * a field the console reads that a declaration lacks fails `make typecheck`. Type imports are erased:
 * the browser loads only src/console/static/, never a server module. Declared here by hand: only
 * what is the console's own (element children, the pure modules' interfaces, view rows).
 */
import type { ROLES } from '../access/token-store.js';
import type { AuditEventType } from '../audit/audit-log.js';
import type { AUDIT_ROUTES } from '../http/audit-router.js';
import type { DECISION_ROUTES } from '../http/admin-router.js';
import type { Problem as DeclaredProblem } from '../http/api-schemas.js';
import type { FLAG_ROUTES } from '../http/flags-router.js';
import type { INTENT_ROUTES } from '../http/intents-router.js';
import type { POLICY_ROUTES } from '../http/policy-router.js';
import type { Answer, RequestBody } from '../http/route.js';
import type { TELEMETRY_ROUTES } from '../http/telemetry-router.js';
import type { WHOAMI_ROUTES } from '../http/whoami-router.js';
import type { IntentAction as DomainIntentAction } from '../intents/intent-actions.js';
import type { ExperimentState as DomainExperimentState, VersionStatus as DomainVersionStatus } from '../intents/intent-store.js';
import type { PolicyInput } from '../policy/policy-input.js';
import type { PolicyActivatedData as DomainPolicyActivatedData } from '../policy/policy-service.js';

// ---- Enums: the domain's.

export type Role = (typeof ROLES)[number];
export type VersionStatus = DomainVersionStatus;
export type ExperimentState = DomainExperimentState;
/** `allowed_actions` of GET /v1/intents/{key} (src/intents/intent-actions.ts INTENT_ACTIONS). */
export type IntentAction = DomainIntentAction;
export type { AuditEventType };

// ---- Answers: the routes' declared response schemas.

/** An RFC 9457 problem document (docs/errors.md): the declared `Problem`, as the CLI's. */
export type Problem = DeclaredProblem;

/** GET /v1/whoami */
export type Me = Answer<typeof WHOAMI_ROUTES.whoami, 200>;

/** GET /v1/intents/{key} (SPEC §4), and the answer of POST …/actions. */
export type IntentDetail = Answer<typeof INTENT_ROUTES.get, 200>;
/** GET /v1/intents */
export type IntentList = Answer<typeof INTENT_ROUTES.list, 200>;
/** POST /v1/intents; PUT /v1/intents/{key} answers the same schema with 200. */
export type SubmitAnswer = Answer<typeof INTENT_ROUTES.submit, 201>;
/** POST /v1/intents:evaluate */
export type EvaluateAnswer = Answer<typeof INTENT_ROUTES.evaluate, 200>;
/** POST /v1/intents/{key}/approvals */
export type ApprovalResult = Answer<typeof INTENT_ROUTES.approve, 201>;
/** The intent as a client sends it (SPEC §2): the declared request body, defaults optional. */
export type IntentSpec = RequestBody<typeof INTENT_ROUTES.submit>;
/** The intent as stored and answered, defaults filled in. */
export type StoredIntent = IntentDetail['intent'];
export type AudienceCondition = StoredIntent['audience'][number];
export type ServiceFlag = StoredIntent['services'][number];
export type Variant = IntentSpec['variants'][number];
/** A policy decision (SPEC §3). */
export type Decision = SubmitAnswer['decision'];
export type Violation = Decision['violations'][number];

/** GET /v1/audit */
export type AuditPage = Answer<typeof AUDIT_ROUTES.list, 200>;
export type AuditEvent = AuditPage['events'][number];
/** GET /v1/audit/verify */
export type ChainVerification = Answer<typeof AUDIT_ROUTES.verify, 200>;

/** GET /v1/services/{service}/flags (SPEC §5) */
export type FlagsDocument = Answer<typeof FLAG_ROUTES.flags, 200>;
export type FlagState = FlagsDocument['flags'][string];

/** GET /v1/policy */
export type PolicyInfo = Answer<typeof POLICY_ROUTES.get, 200>;
/** PUT /v1/policy (and ?dry_run=true, whose answer is the same with `activated: false`). */
export type PublishResult = Answer<typeof POLICY_ROUTES.publish, 200>;
/** One row of PublishResult.impact.experiments. */
export type ImpactRow = PublishResult['impact']['experiments'][number];
/** One member of the rules' data that a candidate bundle changes (src/policy/policy-data-diff.ts). */
export type DataChange = PublishResult['data_changes'][number];
/** POST /v1/decisions/{id}:replay */
export type ReplayResult = Answer<typeof POLICY_ROUTES.replay, 200>;
/** GET /v1/decisions/{id}: one decision with the input it judged. */
export type DecisionRecord = Answer<typeof DECISION_ROUTES.get, 200>;
/**
 * The input a decision judged (docs/policy-contract.md): `DecisionRecord.input` is declared
 * `unknown` (the document as stored), so the decision page reads it as the domain's input type.
 */
export type DecisionInput = PolicyInput;
/** The `data` of a `policy_activated` audit event (`AuditEvent.data` is declared as a record). */
export type PolicyActivatedData = DomainPolicyActivatedData;

/** GET /v1/intents/{key}/analysis?history=true (SPEC §10.2) */
export type Analysis = Answer<typeof TELEMETRY_ROUTES.analysis, 200>;
export type AnalysisStatus = Analysis['status'];
export type GuardrailResult = Analysis['guardrails'][number];

// ---- The console's own.

/**
 * What the console's ApiError holds: the server's problem document, or one the console writes
 * itself (the server unreachable, an error body that is not JSON, a page the console lacks).
 */
export type ConsoleProblem = Problem | { detail: string; code?: 'page_not_found' };

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

/** static/author-model.js, as a test imports it. */
export interface AuthorModule {
  blankIntent(team: string): IntentSpec;
  schedulePlaceholder(now: Date): { start: string; end: string };
  violationField(v: Violation, draft: IntentSpec): string | null;
  nearestSlot(path: string | null, has: (path: string) => boolean): string | null;
  readValue(text: string): unknown;
  showValue(v: unknown): string;
  readList(text: string): unknown[];
  showList(values: unknown[] | undefined): string;
  toBody(draft: IntentSpec): IntentSpec;
}

