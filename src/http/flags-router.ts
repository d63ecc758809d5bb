import { Router, type Request, type Response } from 'express';
import type { Actor } from '../access/actor.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import type { StoredFlagDocument } from '../storage/flag-store.js';
import type { Metrics } from '../metrics.js';
import { actorOf } from './auth.js';
import { param } from './body.js';

/** RFC 9110 If-None-Match: a list of entity tags (weak comparison) or `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** A service token reads only its own service; every human role may read any service. */
export function requireServiceAccess(actor: Actor, service: string): void {
  if (actor.role === 'service' && actor.service !== service) {
    throw new ForbiddenError(`This token reads the flags of service ${actor.service ?? '(none)'}, not of ${service}`, 'forbidden_service');
  }
}

/**
 * Flag reads fail static: while the catalog (which comes from the active policy) is unavailable,
 * every service keeps being served what it has, even if that is nothing yet; a 404 would tell a
 * service that is in the catalog that it is not.
 */
export function knownServiceDocument(flags: FlagStateService, catalog: () => ServiceCatalog, service: string): StoredFlagDocument {
  const doc = flags.current(service);
  const known = catalog();
  if (doc.version === 0 && known.available && !known.has(service)) {
    throw new NotFoundError('service_not_found', `No service ${service} in the catalog`);
  }
  return doc;
}

/** Sends the document or 304; returns the status sent. */
export function sendDocument(req: Request, res: Response, doc: StoredFlagDocument): 200 | 304 {
  res.setHeader('ETag', doc.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (etagMatches(req.headers['if-none-match'], doc.etag)) {
    res.status(304).end();
    return 304;
  }
  res.status(200).type('application/json').send(doc.json);
  return 200;
}

export function flagsRouter(flags: FlagStateService, catalog: () => ServiceCatalog, metrics: Metrics): Router {
  const r = Router();
  r.get('/v1/services/:service/flags', (req, res) => {
    const service = param(req, 'service');
    requireServiceAccess(actorOf(res), service);
    const status = sendDocument(req, res, knownServiceDocument(flags, catalog, service));
    metrics.flagReads.inc({ service, status: String(status) });
  });
  return r;
}
