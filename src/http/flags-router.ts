import { Router } from 'express';
import { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { AudienceConditionSchema } from '../intents/intent-schema.js';
import type { Metrics } from '../metrics.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { ETAG, ifNoneMatch, int, IntentRef, notModified } from './api-schemas.js';
import { param } from './body.js';
import { conditionalReply, documentText, knownServiceDocument } from './flag-reads.js';
import { declare, route, type DeclaredReply } from './route.js';

/** Still imported from here by the telemetry and audit routers; the rule lives in access/actor.ts. */

// ---------------------------------------------------------------------------------------------
// Answers.

export const FlagState = z.object({
  state: z.enum(['ENABLED', 'DISABLED']),
  default_variant: z.string(),
  variants: z.record(z.string(), z.unknown()),
  audience: z.array(AudienceConditionSchema),
  allocation: z.object({
    unit: z.string(),
    exposure: z.object({ seed: z.string(), start: int(), end: int(), total: int() }),
    variants: z.object({ seed: z.string(), buckets: z.array(z.tuple([z.string(), int()])) }),
  }),
  experiment: IntentRef,
  provenance: z.object({ decision_id: z.string(), policy_revision: z.string(), actor: z.string(), at: z.string() }),
});

export const FlagsDocument = z
  .object({ service: z.string(), version: int().min(0), flags: z.record(z.string(), FlagState) })
  .meta({ description: "A service's resolved flag states (SPEC §5); evaluate them as SPEC §6 says." });

export const ServiceList = z.object({
  services: z.array(z.object({ service: z.string(), tier: z.string().nullable() })).meta({ description: "The active policy's service catalog, sorted by service." }),
});

// ---------------------------------------------------------------------------------------------
// Routes.

/** Any human role, or a service token of the path's service. */
export const SERVICE_READERS = { kind: 'service', param: 'service' } as const;

export const FLAG_ROUTES = {
  services: declare({
    method: 'get',
    path: '/v1/services',
    operationId: 'listServices',
    tag: 'flags',
    summary: "The active policy's service catalog, each service with its tier",
    access: { kind: 'token' },
    responses: { 200: { description: 'The services.', body: { name: 'ServiceList', schema: ServiceList } } },
    errors: ['policy_unavailable'],
  }),
  flags: declare({
    method: 'get',
    path: '/v1/services/:service/flags',
    operationId: 'getFlags',
    tag: 'flags',
    summary: "A service's flag states",
    access: SERVICE_READERS,
    extraParameters: [ifNoneMatch],
    responses: { 200: { description: 'The flags document.', body: { name: 'FlagsDocument', schema: FlagsDocument }, headers: ETAG }, 304: notModified },
    errors: ['forbidden_service', 'service_not_found'],
  }),
};

/**
 * `GET /v1/services/{service}/flags` for a caller the declared access rule admitted, counted by
 * status. The read path answers it too, with the same function.
 */
export function flagsEndpoint(flags: FlagStateService, catalog: () => ServiceCatalog, metrics: Metrics) {
  return (service: string, ifNoneMatch: string | undefined): DeclaredReply<typeof FLAG_ROUTES.flags> => {
    const doc = knownServiceDocument(flags, catalog, service);
    const reply = conditionalReply(documentText(doc), doc.etag, ifNoneMatch);
    metrics.flagReads.inc({ service, status: String(reply.status) });
    return reply;
  };
}

export function flagsRouter(endpoint: ReturnType<typeof flagsEndpoint>): Router {
  const r = Router();
  route(r, FLAG_ROUTES.flags, ({ req, send }) => send(endpoint(param(req, 'service'), req.headers['if-none-match'])));
  return r;
}

/**
 * `GET /v1/services`: the catalog of the active policy, for any token. With no policy loaded there
 * is no catalog: 503 rather than an empty list, which would tell every service it does not exist.
 */
export function servicesRouter(catalog: () => ServiceCatalog): Router {
  const r = Router();
  route(r, FLAG_ROUTES.services, ({ reply }) => {
    const c = catalog();
    if (!c.available) throw new SwitchyardError('policy_unavailable', 'No policy is loaded, so there is no service catalog');
    return reply(200, { services: c.tiers() });
  });
  return r;
}

