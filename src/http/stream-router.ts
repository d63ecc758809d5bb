import { Router, type Express } from 'express';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { FlagStreamHub } from '../flags/flag-stream.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { lastEventIdHeader } from './api-schemas.js';
import { param, queryString } from './body.js';
import { knownServiceDocument } from './flag-reads.js';
import { SERVICE_READERS } from './flags-router.js';
import { declare, route } from './route.js';
import { eventStreamOf, lastEventId, refuseWhileClosing, startEventStream } from './sse.js';
import type { StreamLeases } from './stream-leases.js';

export const STREAM_ROUTES = {
  stream: declare({
    method: 'get',
    path: '/v1/services/:service/flags/stream',
    operationId: 'streamFlags',
    tag: 'flags',
    summary: "A service's flags as Server-Sent Events: each event's id is the flags version, its data the whole document",
    access: SERVICE_READERS,
    extraParameters: [
      lastEventIdHeader,
      { name: 'last_event_id', in: 'query', required: false, description: 'Last-Event-ID for clients that cannot set headers.', schema: { type: 'string' } },
    ],
    responses: { 200: eventStreamOf('The stream; `data` of each event is a FlagsDocument.') },
    errors: ['forbidden_service', 'service_not_found', 'too_many_streams', 'shutting_down', 'server_busy'],
  }),
};

const HUB_KEY = 'switchyard.flagStreams';

/** Lets `main.ts` reach the app's stream hub to end every stream on shutdown. */
export function attachFlagStreams(app: Express, hub: FlagStreamHub): void {
  app.locals[HUB_KEY] = hub;
}

export function flagStreamsOf(app: Express): FlagStreamHub | undefined {
  return app.locals[HUB_KEY] as FlagStreamHub | undefined;
}

/**
 * `GET /v1/services/{service}/flags/stream` (SPEC §7): Server-Sent Events, one unnamed event
 * (`message`, so `EventSource.onmessage` sees it) per flags version, `id` = version, data = the
 * document. Same access as the flags GET. Resume with the `Last-Event-ID` header, or with
 * `?last_event_id=` for clients that cannot set headers (a browser `EventSource` on first connect).
 * Every check that can fail happens before the first byte, so errors are ordinary problem+json.
 */
export function streamRouter(hub: FlagStreamHub, flags: FlagStateService, catalog: () => ServiceCatalog, leases: StreamLeases): Router {
  const r = Router();
  route(r, STREAM_ROUTES.stream, ({ req, res, actor, handedOver }) => {
    const service = param(req, 'service');
    refuseWhileClosing(res, hub.closed);
    const doc = knownServiceDocument(flags, catalog, service);
    const lastId = lastEventId(req, queryString(req, 'last_event_id'));
    // When the token is revoked: stop delivering, say why in a comment, end the stream.
    leases.hold(res, actor.tokenId, () => {
      startEventStream(req, res);
      const stream = hub.open(res, doc, lastId);
      return () => stream.close();
    });
    return handedOver();
  });
  return r;
}
