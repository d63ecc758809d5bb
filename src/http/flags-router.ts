import { Router, type Request, type Response } from 'express';
import type { Actor } from '../access/actor.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import type { StoredFlagDocument } from '../storage/flag-store.js';
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
 * Flag reads fail static: a service that has flags keeps being served even if the catalog (which
 * comes from the active policy) is momentarily unavailable.
 */
export function knownServiceDocument(flags: FlagStateService, catalog: () => ServiceCatalog, service: string): StoredFlagDocument {
  const doc = flags.current(service);
  if (doc.version === 0 && !catalog().has(service)) {
    throw new NotFoundError('service_not_found', `No service ${service} in the catalog`);
  }
  return doc;
}

export function sendDocument(req: Request, res: Response, doc: StoredFlagDocument): void {
  res.setHeader('ETag', doc.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (etagMatches(req.headers['if-none-match'], doc.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('application/json').send(doc.json);
}

export function flagsRouter(flags: FlagStateService, catalog: () => ServiceCatalog): Router {
  const r = Router();
  r.get('/v1/services/:service/flags', (req, res) => {
    const service = param(req, 'service');
    requireServiceAccess(actorOf(res), service);
    sendDocument(req, res, knownServiceDocument(flags, catalog, service));
  });
  return r;
}
