import { Router } from 'express';
import { z } from 'zod';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { FlagdExporter, type FlagdDefinition as FlagdDefinitionType } from '../flags/flagd-export.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { ETAG, ifNoneMatch, notModified } from './api-schemas.js';
import { param } from './body.js';
import { conditionalReply, knownServiceDocument } from './flag-reads.js';
import { SERVICE_READERS } from './flags-router.js';
import type { JsonText } from './reply.js';
import { declare, route } from './route.js';

const Primitive = z.union([z.string(), z.number(), z.boolean()]);
export const FlagdDefinition = z
  .object({
    $schema: z.string(),
    metadata: z.record(z.string(), Primitive),
    flags: z.record(
      z.string(),
      z.object({
        state: z.enum(['ENABLED', 'DISABLED']),
        variants: z.record(z.string(), z.unknown()),
        defaultVariant: z.string(),
        targeting: z.record(z.string(), z.unknown()).optional(),
        metadata: z.record(z.string(), Primitive),
      }),
    ),
  })
  .meta({ description: 'A flagd flag definition (https://flagd.dev/schema/v0/flags.json).' });

export const FLAGD_ROUTES = {
  flagd: declare({
    method: 'get',
    path: '/v1/services/:service/flagd.json',
    operationId: 'getFlagdDefinition',
    tag: 'flags',
    summary: "A service's flags as a flagd flag definition",
    access: SERVICE_READERS,
    extraParameters: [ifNoneMatch],
    responses: { 200: { description: 'The flagd definition.', body: { name: 'FlagdDefinition', schema: FlagdDefinition }, headers: ETAG }, 304: notModified },
    errors: ['forbidden_service', 'service_not_found'],
  }),
};

/**
 * `GET /v1/services/{service}/flagd.json` (SPEC §7): the service's flags as a flagd flag definition,
 * for flagd itself (a file or HTTP sync source) or an in-process flagd provider. Same access and
 * caching as the flags GET: a strong ETag and 304 for a matching `If-None-Match`.
 */
export function flagdRouter(flags: FlagStateService, catalog: () => ServiceCatalog): Router {
  const r = Router();
  const exporter = new FlagdExporter();
  route(r, FLAGD_ROUTES.flagd, ({ req, send }) => {
    const out = exporter.export(knownServiceDocument(flags, catalog, param(req, 'service')));
    return send(conditionalReply(out.json as JsonText<FlagdDefinitionType>, out.etag, req.headers['if-none-match']));
  });
  return r;
}
