import { Router } from 'express';
import { z } from 'zod';
import { EXPERIMENT_STATES } from '../intents/intent-store.js';
import type { IntentService } from '../intents/intent-service.js';
import { LIFECYCLE_ACTIONS, type Lifecycle } from '../intents/lifecycle.js';
import { ROLLOUT_STATUSES } from '../intents/rollout.js';
import { READERS } from '../access/actor.js';
import { INTENT_ACTIONS } from '../intents/intent-actions.js';
import { IntentSchema } from '../intents/intent-schema.js';
import { Decision, ExperimentState, IntentRef, int, time, VersionStatus } from './api-schemas.js';
import { decimalInt, jsonBody, param, parseWith } from './body.js';
import { parseIfMatch } from './if-match.js';
import { declare, route } from './route.js';

export const ApprovalSchema = z.strictObject({
  comment: z.string().max(2000).optional(),
  /** The version the approver read: the approval is refused (409 version_changed) if another is current. */
  version: z.int32().positive().optional(),
});
const reason = z.string().min(1).max(2000);
/** SPEC §4 and §10: `advance` may omit its reason; `ship` names the variant to serve to every unit. */
export const ActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.enum(LIFECYCLE_ACTIONS).exclude(['advance']), reason }),
  z.strictObject({ action: z.literal('advance'), reason: reason.optional() }),
  z.strictObject({ action: z.literal('ship'), variant: z.string().min(1).max(200), reason }),
]);
export const ListQuery = z.strictObject({
  owner: z.string().max(128).optional(),
  /** Archived intents are listed only when asked for by name. */
  state: z.enum(EXPERIMENT_STATES).optional(),
  cursor: z.string().max(256).optional(),
  limit: decimalInt(1, 500).default(100),
});

// ---------------------------------------------------------------------------------------------
// Answers.

export const SubmitResult = z.object({ intent: IntentRef, status: VersionStatus, state: ExperimentState, decision: Decision });
export const EvaluateResult = z.object({ intent: IntentRef, status: VersionStatus, decision: Decision });

const Approval = z.object({ actor: z.string(), roles: z.array(z.string()), comment: z.string().nullable(), at: time() });
const OutstandingApproval = z.object({ role: z.string(), count: int(), approved_by: z.array(z.string()), missing: int() });
const Slice = z.object({ start: int(), end: int() });

export const IntentDetail = z.object({
  key: z.string(),
  owner: z.string(),
  version: int(),
  status: VersionStatus,
  state: ExperimentState,
  active_version: int().nullable(),
  intent: IntentSchema,
  ship: z.string().optional().meta({ description: 'The variant the current version ships to every unit (SPEC §10).' }),
  rollout: z
    .object({
      stage: int().min(0),
      stages: int().min(1),
      exposure: z.number(),
      hold_until: time().nullable(),
      status: z.enum(ROLLOUT_STATUSES),
    })
    .optional()
    .meta({ description: 'Where a staged rollout is (SPEC §10 "State"); present when the intent has a rollout.' }),
  decision: Decision.nullable(),
  approvals: z.array(Approval),
  outstanding_approvals: z.array(OutstandingApproval),
  allowed_actions: z.array(z.enum(INTENT_ACTIONS)).optional().meta({
    description:
      'Present on every answer to a token (the domain leaves it out only when asked without a caller). What the caller may do to this intent now: `approve` (POST …/approvals) and the actions of POST …/actions. The action routes apply the same rule, so an action listed is not refused with 403, and one not listed is refused with 403 or 409. An addition to SPEC §4: clients show these instead of re-deriving the access rules.',
  }),
  editable: z.boolean().optional().meta({
    description:
      'Present on every answer to a token, beside `allowed_actions`. Whether the caller may submit a new version now (PUT /v1/intents/{key}): the rule that route applies (an owner of the team or admin, and the experiment neither completed nor archived). An addition to SPEC §4.',
  }),
  versions: z.array(
    z.object({
      version: int(),
      status: VersionStatus,
      decision_id: z.string().nullable(),
      submitted_by: z.string(),
      submitted_at: time(),
      slice: Slice.optional(),
      ship: z.string().optional(),
      rolled_back_at: time().optional(),
    }),
  ),
  created_at: time(),
  updated_at: time(),
});

export const IntentList = z.object({
  items: z.array(
    z.object({
      key: z.string(),
      owner: z.string(),
      version: int(),
      active_version: int().nullable(),
      status: VersionStatus,
      state: ExperimentState,
      description: z.string().nullable(),
      services: IntentSchema.shape.services,
      exposure: z.number(),
      layer: z.string().nullable(),
      updated_at: time(),
    }),
  ),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
});

export const ApprovalResult = z.object({
  intent: IntentRef,
  status: VersionStatus.exclude(['denied']),
  state: ExperimentState,
  approvals: z.array(Approval),
  outstanding: z.array(OutstandingApproval),
});

// ---------------------------------------------------------------------------------------------
// Routes.

const intentBody = { name: 'Intent', schema: IntentSchema } as const;
const submitted = { body: { name: 'SubmitResult', schema: SubmitResult } } as const;
const detail = { body: { name: 'IntentDetail', schema: IntentDetail } } as const;
const ownTeam = { owner: 'own team' } as const;

export const INTENT_ROUTES = {
  submit: declare({
    method: 'post',
    path: '/v1/intents',
    operationId: 'submitIntent',
    tag: 'intents',
    summary: 'Submit an intent as version 1: decided, stored, and live when approved',
    description: 'A denied intent is still a 201: the decision lists the violations.',
    access: { kind: 'domain', roles: ['owner'], qualify: ownTeam },
    body: intentBody,
    jsonBody: true,
    responses: { 201: { description: 'Stored with its decision.', ...submitted } },
    errors: ['validation_failed', 'forbidden', 'forbidden_team', 'intent_exists', 'document_too_large'],
  }),
  evaluate: declare({
    method: 'post',
    path: '/v1/intents\\:evaluate',
    operationId: 'evaluateIntent',
    tag: 'intents',
    summary: 'The decision an intent would get now; nothing is stored',
    access: { kind: 'domain', roles: READERS },
    body: intentBody,
    jsonBody: true,
    responses: { 200: { description: 'The decision (its id is not stored).', body: { name: 'EvaluateResult', schema: EvaluateResult } } },
    errors: ['validation_failed', 'forbidden'],
  }),
  list: declare({
    method: 'get',
    path: '/v1/intents',
    operationId: 'listIntents',
    tag: 'intents',
    summary: 'Intents, paged by key',
    access: { kind: 'roles', roles: READERS, what: 'read intents' },
    query: ListQuery,
    responses: { 200: { description: 'One page.', body: { name: 'IntentList', schema: IntentList } } },
    errors: ['validation_failed', 'forbidden'],
  }),
  get: declare({
    method: 'get',
    path: '/v1/intents/:key',
    operationId: 'getIntent',
    tag: 'intents',
    summary: 'An intent: its current version, decision, approvals and versions',
    access: { kind: 'roles', roles: READERS, what: 'read intents' },
    responses: {
      200: {
        description: 'The intent.',
        ...detail,
        headers: { ETag: { description: 'Strong entity tag of the current version (not of these bytes: approvals keep it); send it in If-Match when approving.', schema: { type: 'string' } } },
      },
    },
    errors: ['forbidden', 'intent_not_found'],
  }),
  update: declare({
    method: 'put',
    path: '/v1/intents/:key',
    operationId: 'updateIntent',
    tag: 'intents',
    summary: 'The next version of an intent, decided afresh',
    description:
      "The body's key must equal the path's. The last approved version keeps running while the new one waits. Send the ETag of the version edited in If-Match: a version submitted meanwhile makes it 409 version_changed, and nothing is stored.",
    access: { kind: 'domain', roles: ['owner'], qualify: ownTeam },
    extraParameters: [
      {
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'The ETag of GET /v1/intents/{key} as read: the new version is refused (409 version_changed) unless that version is still the current one. `*` or no header pins nothing.',
        schema: { type: 'string' },
      },
    ],
    body: intentBody,
    jsonBody: true,
    responses: { 200: { description: 'The new version with its decision.', ...submitted } },
    errors: ['validation_failed', 'forbidden', 'forbidden_team', 'intent_not_found', 'version_changed', 'experiment_completed', 'invalid_transition', 'document_too_large'],
  }),
  archive: declare({
    method: 'delete',
    path: '/v1/intents/:key',
    operationId: 'archiveIntent',
    tag: 'intents',
    summary: 'Archive an intent that never ran',
    description:
      'Only a draft none of whose versions was ever approved. It leaves `GET /v1/intents` (ask for `state=archived`), a pending version is withdrawn, `GET /v1/intents/{key}` answers with `state: "archived"`, the audit trail keeps every event plus `archived`, and the key stays reserved (`POST` answers `intent_exists`).',
    access: { kind: 'domain', roles: ['owner'], qualify: ownTeam },
    responses: { 200: { description: 'The intent, archived.', ...detail } },
    errors: ['forbidden', 'forbidden_team', 'intent_not_found', 'invalid_transition'],
  }),
  approve: declare({
    method: 'post',
    path: '/v1/intents/:key/approvals',
    operationId: 'approveIntent',
    tag: 'intents',
    summary: "Approve the current version with the caller's approval roles",
    description: 'Send the version read (`version`, or its ETag in If-Match): an approval of anything but the current version is refused with 409 version_changed, and nothing is stored.',
    access: { kind: 'domain', roles: ['approver'] },
    extraParameters: [
      {
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'The ETag of GET /v1/intents/{key} as read: the approval is refused (409 version_changed) unless it names the current version. `*` pins nothing.',
        schema: { type: 'string' },
      },
    ],
    body: { name: 'ApprovalRequest', schema: ApprovalSchema, optional: true },
    jsonBody: true,
    responses: { 201: { description: 'Recorded; `status` is approved once every owed role is filled.', body: { name: 'ApprovalResult', schema: ApprovalResult } } },
    errors: ['validation_failed', 'forbidden', 'self_approval', 'approval_role_mismatch', 'intent_not_found', 'version_changed', 'not_pending_approval', 'already_approved', 'document_too_large'],
  }),
  act: declare({
    method: 'post',
    path: '/v1/intents/:key/actions',
    operationId: 'actOnIntent',
    tag: 'intents',
    summary: 'pause, resume, rollback, complete, advance (a rollout stage) or ship (a variant to every unit) an experiment',
    access: { kind: 'domain', roles: ['owner', 'operator'], qualify: ownTeam, note: '(ship: owner of the team, operator)' },
    body: { name: 'ActionRequest', schema: ActionSchema },
    jsonBody: true,
    responses: {
      200: { description: 'The intent after the action.', ...detail },
      201: { description: '`ship`: the new version with its decision, as a submission answers (SPEC §10).', ...submitted },
    },
    errors: [
      'validation_failed',
      'forbidden',
      'forbidden_team',
      'intent_not_found',
      'invalid_transition',
      'hold_not_elapsed',
      'guardrail_regressed',
      'flag_conflict',
      'layer_capacity',
      'document_too_large',
    ],
  }),
};

export function intentsRouter(intents: IntentService, lifecycle: Lifecycle): Router {
  const r = Router();
  const D = INTENT_ROUTES;

  route(r, D.submit, async ({ req, actor, reply }) => reply(201, await intents.submit(jsonBody(req), actor)));

  route(r, D.evaluate, async ({ req, actor, reply }) => reply(200, await intents.evaluate(jsonBody(req), actor)));

  route(r, D.list, async ({ query: q, reply }) =>
    reply(200, await intents.list({ ...(q.owner ? { owner: q.owner } : {}), ...(q.state ? { state: q.state } : {}), ...(q.cursor ? { after: q.cursor } : {}), limit: q.limit })),
  );

  route(r, D.get, async ({ req, actor, reply }) => {
    const { detail, etag } = await intents.read(param(req, 'key'), actor);
    // The ETag names the current version (what an approval's If-Match pins), not these bytes.
    return reply(200, detail, { etag });
  });

  route(r, D.archive, async ({ req, actor, reply }) => reply(200, await intents.archive(param(req, 'key'), actor)));

  route(r, D.update, async ({ req, actor, reply }) =>
    reply(200, await intents.update(param(req, 'key'), jsonBody(req), actor, { ifMatch: parseIfMatch(req.headers['if-match']) })),
  );

  route(r, D.approve, async ({ req, actor, reply }) => {
    const body = parseWith(ApprovalSchema, jsonBody(req), 'approval');
    const ifMatch = parseIfMatch(req.headers['if-match']);
    return reply(201, await intents.approve(param(req, 'key'), actor, { comment: body.comment, version: body.version, ifMatch }));
  });

  route(r, D.act, async ({ req, actor, reply }) => {
    const body = parseWith(ActionSchema, jsonBody(req), 'action');
    if (body.action === 'ship') {
      // A ship is a new version with its own decision (SPEC §10): answered like a submission.
      return reply(201, await intents.ship(param(req, 'key'), body.variant, body.reason, actor));
    }
    await lifecycle.act(param(req, 'key'), body.action, body.reason, actor);
    return reply(200, await intents.get(param(req, 'key'), actor));
  });

  return r;
}
