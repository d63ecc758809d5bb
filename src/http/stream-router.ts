import { Router, type Express } from 'express';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { FlagStreamHub } from '../flags/flag-stream.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { actorOf } from './auth.js';
import { param, queryString } from './body.js';
import { knownServiceDocument, requireServiceAccess } from './flags-router.js';
import { lastEventId, refuseWhileClosing, startEventStream } from './sse.js';
import type { StreamLeases } from './stream-leases.js';

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
  r.get('/v1/services/:service/flags/stream', (req, res) => {
    const service = param(req, 'service');
    const actor = actorOf(res);
    requireServiceAccess(actor, service);
    refuseWhileClosing(res, hub.closed);
    const doc = knownServiceDocument(flags, catalog, service);
    const lastId = lastEventId(req, queryString(req, 'last_event_id'));
    // When the token is revoked: stop delivering, say why in a comment, end the stream.
    leases.hold(res, actor.tokenId, () => {
      startEventStream(req, res);
      const stream = hub.open(res, doc, lastId);
      return () => stream.close();
    });
  });
  return r;
}
