import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { ValidationError } from '../errors.js';
import { feedEventView, type EventFeedStreams } from '../flags/event-feed-stream.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import type { Actor } from '../access/actor.js';
import { actorOf, allow, READERS } from './auth.js';
import { decimalInt, parseWith } from './body.js';
import { requireServiceAccess } from './flags-router.js';
import { lastEventId, refuseWhileClosing, startEventStream } from './sse.js';
import type { StreamLeases } from './stream-leases.js';

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

export const AuditQuery = z.strictObject({
  experiment: z.string().max(128).optional(),
  service: z.string().max(128).optional(),
  actor: z.string().max(128).optional(),
  type: z.string().max(64).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  cursor: decimalInt(0).optional(),
  limit: decimalInt(1, 1000).default(100),
});

export const EventsStreamQuery = z.strictObject({
  after: decimalInt(0).default(0),
  service: z.string().max(128).optional(),
});

export const EventsQuery = z.strictObject({
  after: decimalInt(0).default(0),
  service: z.string().max(128).optional(),
  limit: decimalInt(1, 1000).default(100),
});

export function auditRouter(audit: AuditLog): Router {
  const r = Router();
  r.get('/v1/audit', allow([...READERS], 'read the audit trail'), async (req, res) => {
    const q = parseWith(AuditQuery, req.query, 'query');
    if (q.from && q.to && q.from > q.to) throw new ValidationError([{ path: 'to', message: 'must not be before from' }]);
    const items = await audit.query({
      ...(q.experiment ? { experiment: q.experiment } : {}),
      ...(q.service ? { service: q.service } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      afterSeq: q.cursor ?? 0,
      limit: q.limit + 1,
    });
    const page = items.slice(0, q.limit);
    res.json({ events: page, next_cursor: items.length > q.limit ? String(page[page.length - 1]!.seq) : null });
  });
  r.get('/v1/audit/verify', allow([...READERS], 'verify the audit trail'), async (_req, res) => {
    const result = await audit.verify();
    res.status(200).json(result);
  });
  return r;
}

/** The service whose events a caller asked for; a service token gets only its own. */
function feedService(actor: Actor, asked: string | undefined): string | undefined {
  if (actor.role !== 'service') return asked;
  if (asked !== undefined) requireServiceAccess(actor, asked);
  return actor.service!;
}

/**
 * The change feed: every flags-document version with its provenance, in commit order. The cursor is
 * the feed position (`seq`), so a consumer that stores the last id it applied resumes exactly there
 * and gets each event once. A service token sees only its own service: without `service` it gets
 * its own, and asking for another is 403 `forbidden_service` rather than a quiet answer about
 * something else.
 */
export function eventsRouter(flags: FlagStateService, feeds: EventFeedStreams, leases: StreamLeases): Router {
  const r = Router();
  const readers = allow([...READERS, 'service'], 'read the change feed');
  r.get('/v1/events', readers, async (req, res) => {
    const q = parseWith(EventsQuery, req.query, 'query');
    const service = feedService(actorOf(res), q.service);
    const events = (await flags.events(q.after, service, q.limit)).map(feedEventView);
    res.json({ events, next_cursor: events.length > 0 ? String(events[events.length - 1]!.id) : String(q.after) });
  });
  r.get('/v1/events/stream', readers, (req, res) => {
    const q = parseWith(EventsStreamQuery, req.query, 'query');
    const actor = actorOf(res);
    const service = feedService(actor, q.service);
    refuseWhileClosing(res, feeds.closed);
    const after = lastEventId(req, undefined) ?? q.after;
    leases.hold(res, actor.tokenId, () => {
      startEventStream(req, res);
      return feeds.open(res, after, service);
    });
  });
  return r;
}
