import { Router } from 'express';
import { z } from 'zod';
import { READERS } from '../access/actor.js';
import { ROLES, TokenRequestSchema, type TokenService } from '../access/token-service.js';
import { NotFoundError } from '../errors.js';
import type { PolicyDecision } from '../policy/policy-engine.js';
import type { DecisionReader } from '../policy/decision-store.js';
import type { VersionStatus as Status } from '../intents/intent-store.js';
import { IntentRef, Obligations, time, VersionStatus, Violation } from './api-schemas.js';
import { jsonBody, param } from './body.js';
import { SHOWN_ONCE } from './idempotency.js';
import { declare, route } from './route.js';

export const TokenCreated = z.object({
  id: z.string(),
  token: z.string().meta({ description: 'The bearer token. Shown once; the server keeps only its SHA-256.' }),
  name: z.string(),
  role: z.enum(ROLES),
});
export const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  team: z.string().optional(),
  approval_roles: z.array(z.string()).optional(),
  service: z.string().optional(),
  created_at: time(),
  revoked_at: time().optional().meta({ description: 'Present once the token is revoked.' }),
});
export const TokenList = z.object({ tokens: z.array(TokenInfo).meta({ description: 'Every token, revoked ones included, oldest first; never a secret or its hash.' }) });

/** Tokens are the admin's alone: no role is named, and admin passes every rule. */
const adminOnly = (what: string) => ({ kind: 'roles', roles: [], what }) as const;

export const TOKEN_ROUTES = {
  create: declare({
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    tag: 'tokens',
    summary: 'Create a token; the secret is in this answer only',
    access: adminOnly('create tokens'),
    body: { name: 'TokenRequest', schema: TokenRequestSchema },
    jsonBody: true,
    responses: { 201: { description: 'Created.', body: { name: 'TokenCreated', schema: TokenCreated } } },
    errors: ['validation_failed', 'forbidden'],
  }),
  list: declare({
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    tag: 'tokens',
    summary: 'Every token without its secret, revoked ones included',
    access: adminOnly('list tokens'),
    responses: { 200: { description: 'The tokens.', body: { name: 'TokenList', schema: TokenList } } },
    errors: ['forbidden'],
  }),
  revoke: declare({
    method: 'delete',
    path: '/v1/tokens/:id',
    operationId: 'revokeToken',
    tag: 'tokens',
    summary: 'Revoke a token',
    access: adminOnly('revoke tokens'),
    responses: { 204: { description: 'Revoked.' } },
    errors: ['forbidden', 'token_not_found'],
  }),
};

export function tokensRouter(tokens: TokenService): Router {
  const r = Router();
  const D = TOKEN_ROUTES;
  route(r, D.create, async ({ req, res, actor, reply }) => {
    const created = await tokens.create(jsonBody(req), actor);
    // Shown once: a retry with the same Idempotency-Key gets the same id, never the secret again.
    res.locals[SHOWN_ONCE] = ['token'];
    return reply(201, created);
  });
  route(r, D.list, async ({ reply }) => reply(200, { tokens: await tokens.list() }));
  route(r, D.revoke, async ({ req, actor, empty }) => {
    await tokens.revoke(param(req, 'id'), actor);
    return empty(204);
  });
  return r;
}

export const DecisionRecord = z.object({
  id: z.string(),
  policy_revision: z.string(),
  allow: z.boolean(),
  violations: z.array(Violation),
  obligations: Obligations.nullable(),
  limits: z.record(z.string(), z.unknown()),
  intent: IntentRef.nullable(),
  status: VersionStatus,
  actor: z.string(),
  at: time(),
  input: z.unknown().meta({ description: 'The policy input (docs/policy-contract.md).' }),
  result: z.unknown().meta({ description: 'The policy answer as stored.' }),
});

export const DECISION_ROUTES = {
  get: declare({
    method: 'get',
    path: '/v1/decisions/:id',
    operationId: 'getDecision',
    tag: 'decisions',
    summary: 'One stored decision with its input',
    access: { kind: 'roles', roles: READERS, what: 'read decisions' },
    responses: { 200: { description: 'The decision.', body: { name: 'DecisionRecord', schema: DecisionRecord } } },
    errors: ['forbidden', 'decision_not_found'],
  }),
};

export function decisionsRouter(decisions: DecisionReader): Router {
  const r = Router();
  route(r, DECISION_ROUTES.get, async ({ req, reply }) => {
    const d = await decisions.get(param(req, 'id'));
    if (!d) throw new NotFoundError('decision_not_found', `No decision with id ${param(req, 'id')}`);
    const result = d.result as Partial<PolicyDecision>;
    return reply(200, {
      id: d.id,
      policy_revision: d.policyRevision,
      allow: result.allow ?? false,
      violations: result.violations ?? [],
      obligations: result.obligations ?? null,
      limits: result.limits ?? {},
      intent: d.key === null ? null : { key: d.key, version: d.version! },
      // The column is text; only the intent service writes it, from a VersionStatus.
      status: d.status as Status,
      actor: d.actor,
      at: d.createdAt,
      input: d.input,
      result: d.result,
    });
  });
  return r;
}
