import { Router } from 'express';
import type { Actor } from '../access/actor.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import type { StoredFlagDocument } from '../flags/flag-store.js';
import type { Metrics } from '../metrics.js';
import { actorOf } from './auth.js';
import { param } from './body.js';
import { sendReply, type Reply } from './reply.js';

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

/** The flags document, or 304 when the caller already has this version. */
export function documentReply(doc: StoredFlagDocument, ifNoneMatch: string | undefined): Reply {
  if (etagMatches(ifNoneMatch, doc.etag)) return { status: 304, etag: doc.etag };
  return { status: 200, etag: doc.etag, json: doc.json };
}

/** `GET /v1/services/{service}/flags` for an authenticated caller, counted by status. */
export function flagsEndpoint(flags: FlagStateService, catalog: () => ServiceCatalog, metrics: Metrics) {
  return (actor: Actor, service: string, ifNoneMatch: string | undefined): Reply => {
    requireServiceAccess(actor, service);
    const reply = documentReply(knownServiceDocument(flags, catalog, service), ifNoneMatch);
    metrics.flagReads.inc({ service, status: String(reply.status) });
    return reply;
  };
}

export function flagsRouter(endpoint: ReturnType<typeof flagsEndpoint>): Router {
  const r = Router();
  r.get('/v1/services/:service/flags', (req, res) => {
    sendReply(res, endpoint(actorOf(res), param(req, 'service'), req.headers['if-none-match']));
  });
  return r;
}
