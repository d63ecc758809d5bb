import crypto from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { monotonicFactory } from 'ulid';
import { redactTokens } from './access/token-service.js';
import type { Container } from './container.js';
import { decisionsRouter, tokensRouter } from './http/admin-router.js';
import { auditRouter, eventsRouter } from './http/audit-router.js';
import { authenticate } from './http/auth.js';
import { idempotency } from './http/idempotency.js';
import { bundleBody, policyRouter } from './http/policy-router.js';
import { flagsRouter } from './http/flags-router.js';
import { flagdRouter } from './http/flagd-router.js';
import { OFREP_MOUNT, ofrepErrorFields, ofrepRouter } from './http/ofrep-router.js';
import { attachFlagStreams, streamRouter } from './http/stream-router.js';
import { FlagStreamHub } from './flags/flag-stream.js';
import { EventFeedStreams } from './flags/event-feed-stream.js';
import { intentsRouter } from './http/intents-router.js';
import { notFoundHandler, problemHandler } from './http/problem.js';
import { openApiRouter } from './http/openapi-router.js';
import { whoamiRouter } from './http/whoami-router.js';
import { consoleRouter } from './console/console-router.js';

const FEEDS_KEY = 'switchyard.eventFeeds';

/** Open change-feed streams, for shutdown. */
export function eventFeedsOf(app: Express): EventFeedStreams | undefined {
  return app.locals[FEEDS_KEY] as EventFeedStreams | undefined;
}

export const BODY_LIMIT = '256kb';

export interface AppOptions {
  /** Interval of SSE heartbeat comments; 15 s unless a test wants to see one sooner. */
  streamHeartbeatMs?: number;
}

/**
 * ULIDs for request ids, drawing their random part from a pooled buffer: ulid's default asks the
 * system for one random byte per character, which was a sixth of the server's CPU on the OFREP
 * benchmark. Monotonic, so ids made within one millisecond still sort in arrival order.
 */
function requestIdFactory(): () => string {
  const pool = Buffer.alloc(4096);
  let next = pool.length;
  return monotonicFactory(() => {
    if (next === pool.length) {
      crypto.randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  });
}

/** Builds the HTTP app from its dependencies. It never listens: main.ts and the tests do. */
export function buildApp(c: Container, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const httpLogger = c.logger.child({ module: 'http' });
  const requestId = requestIdFactory();
  app.use(
    pinoHttp({
      logger: httpLogger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : requestId();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      // The serializers below read four fields of the raw objects; pino-http's default wrapping
      // first copies every header of the request and the response for them to pick from.
      wrapSerializers: false,
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactTokens(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const checks = {
      database: c.db.open && c.db.prepare('SELECT 1').pluck().get() === 1,
      policy: c.engine.revision() !== null,
    };
    const ready = checks.database && checks.policy;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks, policy_revision: c.engine.revision() });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(c.metrics.registry.contentType).send(await c.metrics.registry.metrics());
  });
  app.use(openApiRouter());

  // Authenticate before reading any body: without a token nobody makes the server read 256 KiB
  // (32 MiB for a policy bundle) only to be told 401.
  app.use('/v1', authenticate(c.tokens));
  app.use('/v1', express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use('/v1/policy', bundleBody);
  app.use('/v1', idempotency(c.idempotency, c.clock, (fn) => c.lifecycle.transaction(fn)));
  app.use(intentsRouter(c.intents, c.lifecycle));
  app.use(policyRouter(c.policy));
  app.use(auditRouter(c.audit));
  const feeds = new EventFeedStreams(c.flags, options.streamHeartbeatMs);
  app.locals[FEEDS_KEY] = feeds;
  app.use(eventsRouter(c.flags, feeds));
  app.use(flagsRouter(c.flags, () => c.engine.catalog(), c.metrics));
  const streams = new FlagStreamHub(c.flags, {
    heartbeatMs: options.streamHeartbeatMs,
    onCountChange: (n) => c.metrics.sseClients.set(n),
  });
  attachFlagStreams(app, streams);
  app.use(streamRouter(streams, c.flags, () => c.engine.catalog()));
  app.use(ofrepRouter(c.flags, () => c.engine.catalog(), c.metrics.ofrepEvaluations));
  app.use(flagdRouter(c.flags, () => c.engine.catalog()));
  app.use(decisionsRouter(c.decisions));
  app.use(tokensRouter(c.tokens));
  app.use(whoamiRouter());
  // The web console: exactly `/` and `/console/*`, after every API route, so it shadows none.
  app.use(consoleRouter());

  app.use(OFREP_MOUNT, ofrepErrorFields);
  app.use(notFoundHandler);
  app.use(problemHandler(c.logger.child({ module: 'errors' })));
  return app;
}
