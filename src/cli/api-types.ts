/**
 * The answers the CLI reads, as the routes declare them (docs/adr/0011-route-declarations.md): each
 * type is `z.output` of a declared response schema, so renaming a field on the server fails `tsc`
 * here. Type imports only: the CLI never loads the HTTP layer (express, the routers) at run time;
 * eslint.config.mjs refuses a value import of src/http in src/cli.
 */
import type { TOKEN_ROUTES } from '../http/admin-router.js';
import type { AUDIT_ROUTES } from '../http/audit-router.js';
import type { INTENT_ROUTES } from '../http/intents-router.js';
import type { POLICY_ROUTES } from '../http/policy-router.js';
import type { Answer } from '../http/route.js';
import type { TELEMETRY_ROUTES } from '../http/telemetry-router.js';

export type SubmitAnswer = Answer<typeof INTENT_ROUTES.submit, 201>;
export type EvaluateAnswer = Answer<typeof INTENT_ROUTES.evaluate, 200>;
export type IntentDetail = Answer<typeof INTENT_ROUTES.get, 200>;
export type IntentList = Answer<typeof INTENT_ROUTES.list, 200>;
export type ApprovalResult = Answer<typeof INTENT_ROUTES.approve, 201>;
/** `POST …/actions`: the intent after the action (200), or a ship's new version with its decision (201). */
export type ActionAnswer = Answer<typeof INTENT_ROUTES.act, 200>;
export type ShipAnswer = Answer<typeof INTENT_ROUTES.act, 201>;
export type Analysis = Answer<typeof TELEMETRY_ROUTES.analysis, 200>;
export type PublishResult = Answer<typeof POLICY_ROUTES.publish, 200>;
export type AuditPage = Answer<typeof AUDIT_ROUTES.list, 200>;
export type TokenCreated = Answer<typeof TOKEN_ROUTES.create, 201>;

export type Decision = SubmitAnswer['decision'];
export type Violation = Decision['violations'][number];
export type Approval = IntentDetail['approvals'][number];
export type OutstandingApproval = IntentDetail['outstanding_approvals'][number];
export type RolloutView = NonNullable<IntentDetail['rollout']>;
export type StoredIntent = IntentDetail['intent'];
export type AudienceCondition = StoredIntent['audience'][number];
