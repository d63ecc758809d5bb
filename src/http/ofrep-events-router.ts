/**
 * OFREP change notifications (OFREP 0.3.0, ADR-0008): every bulk OFREP answer advertises
 * `eventStreams: [{"type": "sse", "endpoint": {"requestUri": …}}]`, a Server-Sent Events stream
 * that tells a provider when the service's flags change, so a stock provider that supports it
 * re-fetches on change instead of polling.
 *
 * The stream sends notices, never flags: one unnamed event (`message`) per flags version, `id` =
 * the version, data `{"type": "refetchEvaluation", "etag": <the flags document's ETag>,
 * "lastModified": <Unix seconds it was written>}`. The provider re-fetches the bulk evaluation with
 * `flagConfigEtag` / `flagConfigLastModified`, which the bulk route honours (ofrep-router.ts). On
 * connect the current version is sent at once unless `Last-Event-ID` names it, so a change between
 * the bulk answer and the connection is not missed.
 *
 * Authentication: the `Authorization` header, as everywhere, or the advertised `ticket` query
 * parameter, since a browser `EventSource` cannot send headers (src/access/stream-ticket.ts).
 * Access is the flags GET's. Each stream holds a lease: the same caps as every stream, and the end
 * of the stream when its token is revoked.
 */
import { Router } from 'express';
import type { Actor } from '../access/actor.js';
import type { StreamTickets } from '../access/stream-ticket.js';
import type { TokenService } from '../access/token-service.js';
import { sseEvent, type FlagStreamHub, type FlagsVersion } from '../flags/flag-stream.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { requireServiceAccess } from '../access/actor.js';
import { lastEventIdHeader } from './api-schemas.js';
import { actorFromAuthorization } from './auth.js';
import { param, queryString } from './body.js';
import { knownServiceDocument, unixSeconds } from './flag-reads.js';
import { SERVICE_READERS } from './flags-router.js';
import type { OfrepEventStream } from './ofrep-router.js';
import { declare, route } from './route.js';
import { eventStreamOf, lastEventId, refuseWhileClosing, startEventStream } from './sse.js';
import type { StreamLeases } from './stream-leases.js';

export const OFREP_EVENTS_ROUTES = {
  events: declare({
    method: 'get',
    path: '/v1/services/:service/ofrep/events',
    operationId: 'ofrepEventStream',
    tag: 'ofrep',
    summary: 'OFREP change notifications (ADR-0008): Server-Sent Events, one `refetchEvaluation` per flags version of the service',
    description: 'The URL a bulk answer advertises in `eventStreams`. Takes the `ticket` it carries (for an EventSource, which cannot send headers) or the Authorization header.',
    access: { ...SERVICE_READERS, ticket: true },
    extraParameters: [
      lastEventIdHeader,
      { name: 'ticket', in: 'query', required: false, description: 'The ticket from the bulk answer, instead of the Authorization header.', schema: { type: 'string' } },
    ],
    responses: { 200: eventStreamOf('The stream; `data` of each event is `{"type": "refetchEvaluation", "etag", "lastModified"}`, `id` the flags version.') },
    errors: ['forbidden_service', 'service_not_found', 'too_many_streams', 'shutting_down', 'server_busy'],
  }),
};

/** The path of a service's notification stream. */
export const ofrepEventsPath = (service: string): string => `/v1/services/${encodeURIComponent(service)}/ofrep/events`;

/** One `refetchEvaluation` notice (OFREP ADR-0008's event format). */
export function refetchEvent(v: FlagsVersion): string {
  return sseEvent(v.version, JSON.stringify({ type: 'refetchEvaluation', etag: v.etag, lastModified: unixSeconds(v.at) }));
}

/** The `eventStreams` a bulk answer gives `actor` for `service`: one SSE stream, with its ticket. */
export function ofrepEventStreams(tickets: StreamTickets) {
  return (actor: Actor, service: string): OfrepEventStream[] => [
    { type: 'sse', endpoint: { requestUri: `${ofrepEventsPath(service)}?ticket=${tickets.issue(actor, service)}` } },
  ];
}

/**
 * `GET /v1/services/{service}/ofrep/events`. Mounted before the app's `/v1` authentication, since
 * it also takes a ticket instead of a header; every check that can fail comes before the first
 * byte, so refusals are ordinary problem+json.
 */
export function ofrepEventsRouter(deps: {
  hub: FlagStreamHub;
  flags: FlagStateService;
  catalog: () => ServiceCatalog;
  leases: StreamLeases;
  tokens: TokenService;
  tickets: StreamTickets;
}): Router {
  const r = Router();
  route(r, OFREP_EVENTS_ROUTES.events, async ({ req, res, handedOver }) => {
    const service = param(req, 'service');
    const ticket = queryString(req, 'ticket');
    const actor = req.headers.authorization === undefined && ticket !== undefined
      ? deps.tickets.verify(ticket, service, deps.tokens)
      : await actorFromAuthorization(deps.tokens, req.headers.authorization);
    requireServiceAccess(actor, service);
    refuseWhileClosing(res, deps.hub.closed);
    const doc = knownServiceDocument(deps.flags, deps.catalog, service);
    const lastId = lastEventId(req, undefined);
    deps.leases.hold(res, actor.tokenId, () => {
      startEventStream(req, res);
      const stream = deps.hub.open(res, doc, lastId);
      return () => stream.close();
    });
    return handedOver();
  });
  return r;
}
