import { Router } from 'express';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { FlagdExporter } from '../flags/flagd-export.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { actorOf } from './auth.js';
import { param } from './body.js';
import { etagMatches, knownServiceDocument, requireServiceAccess } from './flags-router.js';

/**
 * `GET /v1/services/{service}/flagd.json` (SPEC §7): the service's flags as a flagd flag definition,
 * for flagd itself (a file or HTTP sync source) or an in-process flagd provider. Same access and
 * caching as the flags GET: a strong ETag and 304 for a matching `If-None-Match`.
 */
export function flagdRouter(flags: FlagStateService, catalog: () => ServiceCatalog): Router {
  const r = Router();
  const exporter = new FlagdExporter();
  r.get('/v1/services/:service/flagd.json', (req, res) => {
    const service = param(req, 'service');
    requireServiceAccess(actorOf(res), service);
    const out = exporter.export(knownServiceDocument(flags, catalog, service));
    res.setHeader('ETag', out.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], out.etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).type('application/json').send(out.json);
  });
  return r;
}
