import express, { Router } from 'express';
import { z } from 'zod';
import { READERS } from '../access/actor.js';
import { PolicyError } from '../errors.js';
import type { PolicyService } from '../policy/policy-service.js';
import { int, Obligations, Violation } from './api-schemas.js';
import { param } from './body.js';
import { declare, route } from './route.js';

export const PublishQuery = z.strictObject({ dry_run: z.enum(['true', 'false', '1', '0']).optional() });

export const BUNDLE_LIMIT = '32mb';

/** The bundle body parser, mounted before idempotency so retries compare the real bytes. */
export const bundleBody = express.raw({ type: () => true, limit: BUNDLE_LIMIT });

// ---------------------------------------------------------------------------------------------
// Answers.

export const PolicyInfo = z.object({
  revision: z.string().nullable(),
  manifest_revision: z.string().nullable(),
  wasm_sha256: z.string().nullable(),
  entrypoints: z.array(z.string()),
  loaded_at: z.string().nullable(),
  activated_by: z.string().nullable(),
  services: z.array(z.string()),
});

const ImpactEntry = z.object({
  key: z.string(),
  version: int(),
  state: z.string(),
  old: z.object({ status: z.string(), policy_revision: z.string(), violations: z.array(Violation), obligations: Obligations.nullable() }),
  new: z.object({ status: z.string(), violations: z.array(Violation), obligations: Obligations }),
  changed: z.boolean(),
});
export const PublishResult = z.object({
  dry_run: z.boolean(),
  activated: z.boolean(),
  revision: z.string(),
  previous_revision: z.string().nullable(),
  impact: z.object({
    candidate_revision: z.string(),
    active_revision: z.string().nullable(),
    evaluated: int(),
    would_deny: int(),
    changed: int(),
    experiments: z.array(ImpactEntry),
  }),
  // issue #18: the candidate's data document against the active revision's (src/policy/policy-data-diff.ts)
  data_changes: z.array(
    z.discriminatedUnion('change', [
      z.object({ path: z.array(z.string()), change: z.literal('added'), after: z.unknown() }),
      z.object({ path: z.array(z.string()), change: z.literal('removed'), before: z.unknown() }),
      z.object({ path: z.array(z.string()), change: z.literal('changed'), before: z.unknown(), after: z.unknown() }),
    ]),
  ),
  data_changes_omitted: int(),
});

export const ReplayResult = z.object({ decision_id: z.string(), policy_revision: z.string(), matches: z.boolean(), original: z.unknown(), replayed: z.unknown() });

// ---------------------------------------------------------------------------------------------
// Routes.

export const POLICY_ROUTES = {
  get: declare({
    method: 'get',
    path: '/v1/policy',
    operationId: 'getPolicy',
    tag: 'policy',
    summary: 'The active policy',
    access: { kind: 'roles', roles: READERS, what: 'read the policy' },
    responses: { 200: { description: 'Its revision, digest, entrypoints and catalog services.', body: { name: 'PolicyInfo', schema: PolicyInfo } } },
    errors: ['forbidden'],
  }),
  publish: declare({
    method: 'put',
    path: '/v1/policy',
    operationId: 'publishPolicy',
    tag: 'policy',
    summary: 'Publish an `opa build -t wasm` bundle, or with dry_run only report its impact',
    access: { kind: 'roles', roles: ['governance'], what: 'publish policies' },
    query: PublishQuery,
    body: { contentTypes: ['application/gzip', 'application/octet-stream'], description: 'The bundle bytes (at most 32 MiB).' },
    responses: { 200: { description: 'Validated; activated unless dry_run. The impact on every live experiment.', body: { name: 'PublishResult', schema: PublishResult } } },
    errors: ['validation_failed', 'policy_invalid', 'policy_timeout', 'forbidden', 'payload_too_large', 'shutting_down'],
  }),
  replay: declare({
    method: 'post',
    path: '/v1/decisions/:id\\:replay',
    operationId: 'replayDecision',
    tag: 'decisions',
    summary: 'Re-evaluate a stored decision under the revision that made it',
    access: { kind: 'roles', roles: READERS, what: 'replay decisions' },
    responses: { 200: { description: 'Both answers and whether they match.', body: { name: 'ReplayResult', schema: ReplayResult } } },
    errors: ['forbidden', 'decision_not_found', 'policy_invalid'],
  }),
};

export function policyRouter(policy: PolicyService): Router {
  const r = Router();
  const D = POLICY_ROUTES;

  route(r, D.get, async ({ reply }) => reply(200, await policy.info()));

  route(r, D.publish, async ({ req, actor, query, reply }) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (body.length === 0) throw new PolicyError('policy_invalid', 'Send the bundle (`opa build -t wasm` output) as the request body');
    const dryRun = query.dry_run === 'true' || query.dry_run === '1';
    return reply(200, await policy.publish(body, actor.name, dryRun));
  });

  route(r, D.replay, async ({ req, reply }) => reply(200, await policy.replay(param(req, 'id'))));

  return r;
}
