/**
 * The answers clients read, one name each: `Answer<typeof ROUTES.x, status>` is `z.output` of the
 * response schema the route declares beside its handler (route.ts, docs/adr/0011-route-declarations.md),
 * so renaming a field on the server fails `tsc` in every client that reads it. Types only: the CLI
 * (src/cli/api-types.ts) and the console (src/console/types.d.ts) re-export this file with type-only
 * exports, so neither loads the HTTP layer at run time.
 */
import type { DECISION_ROUTES, TOKEN_ROUTES } from './admin-router.js';
import type { Problem as DeclaredProblem } from './api-schemas.js';
import type { AUDIT_ROUTES } from './audit-router.js';
import type { FLAG_ROUTES } from './flags-router.js';
import type { INTENT_ROUTES } from './intents-router.js';
import type { POLICY_ROUTES } from './policy-router.js';
import type { Answer, RequestBody } from './route.js';
import type { TELEMETRY_ROUTES } from './telemetry-router.js';
import type { WHOAMI_ROUTES } from './whoami-router.js';
import type { PolicyInput } from '../policy/policy-input.js';
import type { PolicyActivatedData as DomainPolicyActivatedData } from '../policy/policy-service.js';

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
/** `POST …/actions`: the intent after the action (200), or a ship's new version with its decision (201). */
export type ActionAnswer = Answer<typeof INTENT_ROUTES.act, 200>;
export type ShipAnswer = Answer<typeof INTENT_ROUTES.act, 201>;
/** POST /v1/tokens */
export type TokenCreated = Answer<typeof TOKEN_ROUTES.create, 201>;
export type Approval = IntentDetail['approvals'][number];
export type OutstandingApproval = IntentDetail['outstanding_approvals'][number];
export type RolloutView = NonNullable<IntentDetail['rollout']>;
