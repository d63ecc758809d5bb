import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { ValidationError } from '../errors.js';
import { feedEventView, type EventFeedStreams } from '../flags/event-feed-stream.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { READERS, requireServiceAccess, type Actor } from '../access/actor.js';
import { int, lastEventIdHeader, time } from './api-schemas.js';
import { decimalInt } from './body.js';
import { declare, route } from './route.js';
import { eventStreamOf, lastEventId, refuseWhileClosing, startEventStream } from './sse.js';
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

// ---------------------------------------------------------------------------------------------
// Answers.

export const AuditEvent = z.object({
  id: z.string(),
  seq: int().min(1),
  type: z.string(),
  experiment: z.string().nullable(),
  version: int().nullable(),
  service: z.string().nullable(),
  actor: z.string(),
  at: time(),
  data: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});
export const AuditPage = z.object({ events: z.array(AuditEvent), next_cursor: z.string().nullable() });
export const AuditVerifyQuery = z.strictObject({
  head: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a head an earlier verify answered: 64 lowercase hex digits')
    .optional()
    .meta({ description: "A `head` recorded earlier, kept outside this database: the chain must still pass through it (`ok` is false if not). Shows deleted last events and a chain rewritten with every hash recomputed, which the chain alone cannot." }),
});

export const AuditVerification = z.object({
  ok: z.boolean().meta({ description: 'The chain is intact (and, with `?head=`, passes through that head).' }),
  events: int(),
  head: z.string().meta({ description: 'The hash of the last event (64 zeros for an empty trail): record it elsewhere and pass it back as `?head=` later.' }),
  broken_at: z.object({ seq: int(), id: z.string(), reason: z.string() }).optional(),
  witness: z
    .object({ head: z.string(), found: z.boolean(), seq: int().nullable().meta({ description: 'The event whose hash it is (0: the genesis hash); null when not found.' }) })
    .optional()
    .meta({ description: 'With `?head=`: whether that head is still on the chain.' }),
});

export const FeedEvent = z.object({
  id: int().meta({ description: 'The feed position: pass the last one applied as `after`.' }),
  service: z.string(),
  version: int(),
  etag: z.string(),
  at: time(),
  type: z.string(),
  experiment: z.string(),
  experiment_version: int().nullable(),
  decision_id: z.string().nullable(),
  policy_revision: z.string().nullable(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()).optional().meta({ description: "What made an automatic transition: on a guardrail's pause, the Analysis that tripped it." }),
});
export const EventsPage = z.object({ events: z.array(FeedEvent), next_cursor: z.string() });

// ---------------------------------------------------------------------------------------------
// Routes.

/** The change feed: the human roles, and a service token for its own service only. */
const feedReaders = (what: string) => ({ kind: 'roles', roles: [...READERS, 'service'], what, qualify: { service: 'its own service only' } }) as const;

export const AUDIT_ROUTES = {
  list: declare({
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAuditEvents',
    tag: 'audit',
    summary: 'The audit trail, oldest first, cursor-paged',
    access: { kind: 'roles', roles: READERS, what: 'read the audit trail' },
    query: AuditQuery,
    responses: { 200: { description: 'One page.', body: { name: 'AuditPage', schema: AuditPage } } },
    errors: ['validation_failed', 'forbidden'],
  }),
  verify: declare({
    method: 'get',
    path: '/v1/audit/verify',
    operationId: 'verifyAuditChain',
    tag: 'audit',
    summary: 'Recompute the hash chain of the audit trail',
    access: { kind: 'roles', roles: READERS, what: 'verify the audit trail' },
    query: AuditVerifyQuery,
    responses: { 200: { description: 'Whether the chain is intact, and where it breaks.', body: { name: 'AuditVerification', schema: AuditVerification } } },
    errors: ['validation_failed', 'forbidden'],
  }),
};

export const EVENTS_ROUTES = {
  list: declare({
    method: 'get',
    path: '/v1/events',
    operationId: 'listFlagEvents',
    tag: 'events',
    summary: 'The change feed: every flags-document version with its provenance',
    access: feedReaders('read the change feed'),
    query: EventsQuery,
    responses: { 200: { description: 'Events after `after`.', body: { name: 'EventsPage', schema: EventsPage } } },
    errors: ['validation_failed', 'forbidden', 'forbidden_service'],
  }),
  stream: declare({
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamFlagEvents',
    tag: 'events',
    summary: 'The change feed as Server-Sent Events',
    access: feedReaders('read the change feed'),
    query: EventsStreamQuery,
    extraParameters: [lastEventIdHeader],
    responses: { 200: eventStreamOf("The stream; each event's data is a FeedEvent.") },
    errors: ['validation_failed', 'forbidden', 'forbidden_service', 'too_many_streams', 'shutting_down', 'server_busy'],
  }),
};

export function auditRouter(audit: AuditLog): Router {
  const r = Router();
  route(r, AUDIT_ROUTES.list, async ({ query: q, reply }) => {
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
    return reply(200, { events: page, next_cursor: items.length > q.limit ? String(page[page.length - 1]!.seq) : null });
  });
  route(r, AUDIT_ROUTES.verify, async ({ query, reply }) => reply(200, await audit.verify(query.head)));
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
  route(r, EVENTS_ROUTES.list, async ({ actor, query: q, reply }) => {
    const service = feedService(actor, q.service);
    const events = (await flags.events(q.after, service, q.limit)).map(feedEventView);
    return reply(200, { events, next_cursor: events.length > 0 ? String(events[events.length - 1]!.id) : String(q.after) });
  });
  route(r, EVENTS_ROUTES.stream, ({ req, res, actor, query: q, handedOver }) => {
    const service = feedService(actor, q.service);
    refuseWhileClosing(res, feeds.closed);
    const after = lastEventId(req, undefined) ?? q.after;
    leases.hold(res, actor.tokenId, () => {
      startEventStream(req, res);
      return feeds.open(res, after, service);
    });
    return handedOver();
  });
  return r;
}
