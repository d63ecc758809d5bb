/**
 * What the service read routes share (the flags GET and stream, flagd.json, OFREP and its
 * notification stream, and the read path in front of express): conditional requests, the catalog
 * check that fails static, and the document as a prepared answer. Helpers only; each route's
 * declaration and handler live in its router.
 */
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { StoredFlagDocument } from '../flags/flag-store.js';
import type { FlagsDocument } from '../evaluation/types.js';
import { NotFoundError } from '../errors.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import type { JsonText } from './reply.js';

/** RFC 9110 If-None-Match: a list of entity tags (weak comparison) or `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
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

/** A stored document's text: the serialization of a `FlagsDocument`, kept byte for byte. */
export const documentText = (doc: StoredFlagDocument): JsonText<FlagsDocument> => doc.json as JsonText<FlagsDocument>;

/** The answer for a JSON text and its strong ETag: 304 when `If-None-Match` names it. */
export function conditionalReply<T>(json: JsonText<T>, etag: string, ifNoneMatch: string | undefined): { status: 304; etag: string } | { status: 200; etag: string; json: JsonText<T> } {
  if (etagMatches(ifNoneMatch, etag)) return { status: 304, etag };
  return { status: 200, etag, json };
}

/** Unix seconds of an ISO 8601 time (the `lastModified` the notification stream sends). */
export const unixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
