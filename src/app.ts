import http, { type Server } from 'node:http';
import express, { type Express } from 'express';
import { DEFAULT_LIMITS, type ServerLimits } from './config.js';
import type { Container } from './container.js';
import { decisionsRouter, tokensRouter } from './http/admin-router.js';
import { guardConnections, type ConnectionGuardStats } from './http/connection-guard.js';
import { CORS_ROUTES, flagReadCors } from './http/cors.js';
import { StreamLeases } from './http/stream-leases.js';
import { StreamTickets } from './access/stream-ticket.js';
import { actorFromAuthorization } from './http/auth.js';
import { FlagSyncServer } from './sync/flag-sync-service.js';
import { flagStateDocuments } from './sync/service-documents.js';
import { ofrepEventStreams, ofrepEventsRouter, refetchEvent } from './http/ofrep-events-router.js';

import { auditRouter, eventsRouter } from './http/audit-router.js';
import { accessLog } from './http/access-log.js';
import { authenticate } from './http/auth.js';
import { keepRawJson, queryTextRules, registerBodySource } from './http/body.js';
import { idempotency } from './http/idempotency.js';
import { bundleBody, policyRouter } from './http/policy-router.js';
import { requireServiceAccess } from './access/actor.js';
import { knownServiceDocument } from './http/flag-reads.js';
import { flagsEndpoint, flagsRouter, servicesRouter } from './http/flags-router.js';
import { healthRouter } from './http/health-router.js';
import { flagdRouter } from './http/flagd-router.js';
import { OFREP_MOUNT, ofrepEndpoints, ofrepErrorFields, ofrepRouter } from './http/ofrep-router.js';
import { readPath, type ReadEndpoints, type ReadPathStats } from './http/read-path.js';
import { attachFlagStreams, streamRouter } from './http/stream-router.js';
import { FlagStreamHub } from './flags/flag-stream.js';
import { EventFeedStreams } from './flags/event-feed-stream.js';
import { intentsRouter } from './http/intents-router.js';
import { notFoundHandler, problemHandler } from './http/problem.js';
import { openApiRouter } from './http/openapi.js';
import { whoamiRouter } from './http/whoami-router.js';
import { TELEMETRY_BODY_LIMIT_BYTES, TELEMETRY_PATH, telemetryRouter } from './http/telemetry-router.js';
import { consoleRouter } from './console/console-router.js';

const FEEDS_KEY = 'switchyard.eventFeeds';
const OFREP_EVENTS_KEY = 'switchyard.ofrepEvents';
const LEASES_KEY = 'switchyard.streamLeases';

/**
 * One ticket key per container (per process in production), so every app built on it, the read
 * path's and express's, issues and takes the same tickets.
 */
const containerTickets = new WeakMap<Container, StreamTickets>();
function ticketsOf(c: Container): StreamTickets {
  let t = containerTickets.get(c);
  if (!t) containerTickets.set(c, (t = new StreamTickets()));
  return t;
}

/** Open OFREP notification streams, for shutdown. */
export function ofrepEventsOf(app: Express): FlagStreamHub | undefined {
  return app.locals[OFREP_EVENTS_KEY] as FlagStreamHub | undefined;
}

/** The app's stream leases: the flagd gRPC sync streams count against the same caps. */
export function streamLeasesOf(app: Express): StreamLeases {
  return app.locals[LEASES_KEY] as StreamLeases;
}
/** Paths (under /v1) whose handlers await more than storage: not run inside the idempotency unit. */
const OUTSIDE_UNIT = [/^\/policy$/, /^\/services\/[^/]+\/telemetry$/, /^\/decisions\/[^/]+:replay$/];
const READ_KEY = 'switchyard.readEndpoints';

/** Open change-feed streams, for shutdown. */
export function eventFeedsOf(app: Express): EventFeedStreams | undefined {
  return app.locals[FEEDS_KEY] as EventFeedStreams | undefined;
}

/** The largest JSON body accepted (the policy bundle upload has its own limit). */
export const BODY_LIMIT_BYTES = 256 * 1024;

export interface AppOptions {
  /** Interval of SSE heartbeat comments; 15 s unless a test wants to see one sooner. */
  streamHeartbeatMs?: number;
  /** Connection and stream caps and timeouts; DEFAULT_LIMITS for any left out. */
  limits?: Partial<ServerLimits>;
  /** Origins allowed to call the flag-read routes from a browser; none by default. */
  corsOrigins?: readonly string[];
  /** The key OFREP event-stream tickets are signed with; a random one per process by default. */
  streamTicketKey?: Buffer;
}

/** Builds the HTTP app from its dependencies. It never listens: main.ts and the tests do. */
export function buildApp(c: Container, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const accessLogger = accessLog(c.logger.child({ module: 'http' }));
  app.use((req, res, next) => {
    accessLogger(req, res);
    next();
  });
  const errorLogger = c.logger.child({ module: 'errors' });

  app.use(healthRouter({ ping: () => c.storage.ping(), revision: () => c.engine.revision() }, c.metrics));
  app.use(openApiRouter());

  // Before authentication: a preflight carries no token. Only the flag-read routes, only when
  // origins are configured.
  const corsHeaders = flagReadCors(options.corsOrigins ?? []);
  if (corsHeaders) {
    app.use((req, res, next) => {
      if (CORS_ROUTES.test(req.path)) corsHeaders(req, res, next);
      else next();
    });
  }

  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const leases = new StreamLeases(c.tokens, { perToken: limits.maxStreamsPerToken, total: limits.maxStreams });
  app.locals[LEASES_KEY] = leases;
  // OFREP change notifications take a ticket as well as a header (an EventSource sends none), so
  // they come before the app-wide authentication.
  const tickets = options.streamTicketKey ? new StreamTickets(options.streamTicketKey) : ticketsOf(c);
  const ofrepEvents = new FlagStreamHub(c.flags, {
    heartbeatMs: options.streamHeartbeatMs,
    render: refetchEvent,
    onCountChange: (n) => c.metrics.ofrepEventStreams.set(n),
  });
  app.locals[OFREP_EVENTS_KEY] = ofrepEvents;
  app.use(ofrepEventsRouter({ hub: ofrepEvents, flags: c.flags, catalog: () => c.engine.catalog(), leases, tokens: c.tokens, tickets }));

  // Authenticate before reading any body: without a token nobody makes the server read 256 KiB
  // (32 MiB for a policy bundle) only to be told 401.
  app.use('/v1', authenticate(c.tokens));
  // A telemetry batch (10,000 events) has a larger limit; the parser below then finds its body read.
  app.use(TELEMETRY_PATH, express.json({ limit: TELEMETRY_BODY_LIMIT_BYTES, strict: true, type: ['application/json', 'application/*+json'], verify: keepRawJson }));
  app.use('/v1', express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: ['application/json', 'application/*+json'], verify: keepRawJson }));
  app.use('/v1', registerBodySource, queryTextRules);
  app.use('/v1/policy', bundleBody);
  // The routes whose handlers await other work than storage (a policy check in a worker, the
  // telemetry group commit, a replay) answer first and record in a unit of their own.
  app.use('/v1', idempotency(c.idempotency, c.clock, c.tx, (req) => !OUTSIDE_UNIT.some((re) => re.test(req.path))));
  app.use(intentsRouter(c.intents, c.lifecycle));
  app.use(policyRouter(c.policy));
  app.use(auditRouter(c.audit));
  const feeds = new EventFeedStreams(c.flags, options.streamHeartbeatMs);
  app.locals[FEEDS_KEY] = feeds;
  app.use(eventsRouter(c.flags, feeds, leases));
  const read: ReadEndpoints = {
    tokens: c.tokens,
    flags: flagsEndpoint(c.flags, () => c.engine.catalog(), c.metrics),
    ofrep: ofrepEndpoints(c.flags, () => c.engine.catalog(), c.metrics.ofrepEvaluations, ofrepEventStreams(tickets)),
    accessLog: accessLogger,
    errors: errorLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    cors: corsHeaders,
  };
  app.locals[READ_KEY] = read;
  app.use(flagsRouter(read.flags));
  const streams = new FlagStreamHub(c.flags, {
    heartbeatMs: options.streamHeartbeatMs,
    onCountChange: (n) => c.metrics.sseClients.set(n),
  });
  attachFlagStreams(app, streams);
  app.use(streamRouter(streams, c.flags, () => c.engine.catalog(), leases));
  app.use(ofrepRouter(read.ofrep));
  app.use(flagdRouter(c.flags, () => c.engine.catalog()));
  app.use(decisionsRouter(c.decisions));
  app.use(tokensRouter(c.tokens));
  app.use(servicesRouter(() => c.engine.catalog()));
  app.use(telemetryRouter(c.telemetry, c.analysis, () => c.engine.catalog(), c.analysisHistory));
  app.use(whoamiRouter());
  // The web console: exactly `/` and `/console/*`, after every API route, so it shadows none.
  app.use(consoleRouter());

  app.use(OFREP_MOUNT, ofrepErrorFields);
  app.use(notFoundHandler);
  app.use(problemHandler(errorLogger));
  return app;
}

export interface BuiltServer {
  server: Server;
  app: Express;
  /** What the read path answered itself and what it passed to express. */
  readPath: ReadPathStats;
  connections: ConnectionGuardStats;
}

/**
 * The server main.ts runs: node:http with the read path in front of the app (see read-path.ts).
 * It does not listen yet.
 */
export function buildServer(c: Container, options: AppOptions = {}): BuiltServer {
  const app = buildApp(c, options);
  const stats: ReadPathStats = { served: 0, passed: 0 };
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks both timeouts only this often (30 s by default): a quarter of the header
      // timeout, at most a second, so a half-sent request is cut close to when it is due.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    readPath(app.locals[READ_KEY] as ReadEndpoints, app, stats),
  );
  const connections = guardConnections(server, limits.maxConnections);
  return { server, app, readPath: stats, connections };
}

/**
 * flagd's gRPC sync service (SPEC §11) for `app`'s container: the same tokens, documents and stream
 * caps as the HTTP reads. Not bound: main.ts (or a test) calls `listen`.
 */
export function buildFlagSync(c: Container, app: Express): FlagSyncServer {
  const catalog = () => c.engine.catalog();
  return new FlagSyncServer({
    authenticate: (header) => actorFromAuthorization(c.tokens, header),
    authorize: requireServiceAccess,
    // The one line to rewire when reads come from snapshots kept by change events.
    documents: flagStateDocuments((service) => knownServiceDocument(c.flags, catalog, service), c.flags),
    slots: streamLeasesOf(app),
    logger: c.logger.child({ module: 'flag-sync' }),
    onCountChange: (n) => c.metrics.syncStreams.set(n),
  });
}
