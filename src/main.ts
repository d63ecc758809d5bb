import { buildFlagSync, buildServer, eventFeedsOf, ofrepEventsOf } from './app.js';
import type { FlagSyncServer } from './sync/flag-sync-service.js';
import { flagStreamsOf } from './http/stream-router.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig } from './config.js';
import { streamTicketKey } from './access/stream-ticket.js';
import { containerOptions, createContainer } from './container.js';
import { Scheduler } from './intents/scheduler.js';
import { createLogger } from './logger.js';
import { DatabaseCorruptError } from './storage/sqlite/database.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const container = await createContainer(containerOptions(config, systemClock, logger));
  const { token } = await container.tokens.bootstrap(config.bootstrapToken);
  const scheduler = new Scheduler(container.lifecycle, logger.child({ module: 'scheduler' }), (ms) =>
    container.metrics.schedulerLag.set(ms / 1000),
  );
  scheduler.start(config.schedulerIntervalMs);
  container.guardrails.start(config.guardrailIntervalMs);

  // The URL holds a password: name the engine and where, never the URL itself.
  const database = config.databaseUrl ? `PostgreSQL (SWITCHYARD_DATABASE_URL)` : config.dbPath;
  const { server, app } = buildServer(container, {
    limits: config.limits,
    corsOrigins: config.corsOrigins,
    ...(config.streamTicketSecret ? { streamTicketKey: streamTicketKey(config.streamTicketSecret) } : {}),
  });
  if (config.databaseUrl && !config.streamTicketSecret) {
    logger.warn('SWITCHYARD_STREAM_TICKET_SECRET is not set: OFREP event-stream tickets are good on this instance only (docs/deployment.md)');
  }
  server.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const base = `http://${config.host}:${port}`;
    logger.info({ url: base, db: database, policy: container.engine.revision() }, 'switchyard listening');
    const lines = [
      '',
      `Switchyard is listening on ${base}`,
      `  database: ${database}`,
      `  policy:   ${container.engine.revision() ?? 'NONE LOADED (every decision is denied)'}`,
    ];
    if (token) {
      lines.push(
        '',
        'A new database: this admin token is shown once, keep it:',
        `  export SWITCHYARD_TOKEN=${token}`,
      );
    } else if (config.bootstrapToken) {
      lines.push('', 'Admin token: the value of SWITCHYARD_BOOTSTRAP_TOKEN');
    }
    lines.push(
      '',
      'Try:',
      `  curl -s ${base}/readyz`,
      `  curl -s -H "Authorization: Bearer $SWITCHYARD_TOKEN" ${base}/v1/services/web/flags`,
      '  (README.md has the full tour)',
      '',
    );
    process.stdout.write(lines.join('\n') + '\n');
  });
  server.on('error', (err) => {
    logger.fatal({ err }, 'cannot listen');
    process.exit(1);
  });

  // flagd's gRPC sync (SPEC §11): the same tokens, documents and stream caps as the HTTP reads.
  let sync: FlagSyncServer | undefined;
  if (config.syncPort !== 0) {
    sync = buildFlagSync(container, app);
    try {
      const port = await sync.listen(config.host, config.syncPort);
      logger.info({ host: config.host, port }, 'flagd sync (gRPC) listening');
      process.stdout.write(`flagd sync (gRPC, flagd.sync.v1.FlagSyncService) on ${config.host}:${port}\n`);
    } catch (err) {
      logger.fatal({ err }, 'cannot listen for flagd sync');
      process.exit(1);
    }
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining in-flight requests');
    scheduler.stop();
    container.guardrails.stop();
    // A publish check in flight (a looping bundle's dry run, say) would hold the drain until its deadline.
    container.policy.stop();
    // SSE streams never go idle on their own: end them so the drain below is not held for 10 s.
    flagStreamsOf(app)?.closeAll();
    eventFeedsOf(app)?.closeAll();
    ofrepEventsOf(app)?.closeAll();
    // gRPC sync streams end with OK; flagd keeps its last state and reconnects.
    const syncClosed = sync?.close() ?? Promise.resolve();
    const force = setTimeout(() => {
      logger.warn('drain timed out; closing connections');
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    server.close(() => {
      // Exiting before the gRPC server has shut down would cut the streams' OK status off.
      void syncClosed.then(() => container.close()).finally(() => {
        logger.info('database closed; bye');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof DatabaseCorruptError) {
    process.stderr.write(`switchyard: failed to start: ${err.message}\n`);
    process.exit(3);
  }
  process.stderr.write(`switchyard: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
