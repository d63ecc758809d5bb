import path from 'node:path';
import { z } from 'zod';

/**
 * What one process takes before it refuses or cuts: see the Limits table in docs/errors.md. Streams are
 * capped below connections so that open streams never leave `/healthz` without a connection.
 */
export interface ServerLimits {
  /** Open TCP connections; past it the oldest connection without a request in progress is cut. */
  readonly maxConnections: number;
  /** Open SSE streams over all tokens (503 `server_busy` past it). */
  readonly maxStreams: number;
  /** Open SSE streams of one token (429 `too_many_streams` past it). */
  readonly maxStreamsPerToken: number;
  /** Time a client has to send the whole request head (408 and closed past it). */
  readonly headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included; a stream's request ends with its head. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxConnections: 4096,
  maxStreams: 2048,
  maxStreamsPerToken: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
});
/** The largest a service's serialized flags document may grow (1 MiB): docs/storage.md. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Connections to PostgreSQL per process (besides one for LISTEN): docs/storage.md "PostgreSQL". */
export const DEFAULT_DATABASE_POOL_SIZE = 10;
/** How long a read on PostgreSQL waits for the read barrier, at most (SWITCHYARD_READ_BARRIER_MS, ADR 0012). */
export const DEFAULT_READ_BARRIER_MS = 200;
/**
 * PostgreSQL: how long a successful read-barrier query vouches for later reads, and how long each
 * write waits after its COMMIT before it is acknowledged (SWITCHYARD_READ_LEASE_MS, ADR 0012).
 */
export const DEFAULT_READ_LEASE_MS = 10;
/** Older flags-document versions kept per service besides the latest: docs/storage.md. */
export const DEFAULT_FLAG_HISTORY_VERSIONS = 100;

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  SWITCHYARD_SYNC_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  SWITCHYARD_DB: z.string().min(1).default('./data/switchyard.db'),
  // SPEC §11: PostgreSQL instead of the SQLite file. A URL as libpq and pg take it; a unix socket
  // is named by the `host` parameter (postgresql://user:pass@localhost/db?host=/run/postgresql).
  SWITCHYARD_DATABASE_URL: z
    .string()
    .regex(/^postgres(?:ql)?:\/\/[^\s]*$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  SWITCHYARD_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULT_DATABASE_POOL_SIZE),
  // ADR 0012: how long a read on PostgreSQL waits for the read barrier before it is served from the
  // snapshot anyway; 0 turns the barrier off (snapshots then follow NOTIFY only).
  SWITCHYARD_READ_BARRIER_MS: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_READ_BARRIER_MS),
  SWITCHYARD_READ_LEASE_MS: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_READ_LEASE_MS),
  // Issue #16: every instance behind one load balancer signs OFREP event-stream tickets with the key
  // derived from this one secret, so a ticket issued by one instance is taken by the others.
  SWITCHYARD_STREAM_TICKET_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SWITCHYARD_BOOTSTRAP_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SWITCHYARD_POLICY_BUNDLE: z.string().min(1).default('./build/policy/bundle.tar.gz'),
  SWITCHYARD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SWITCHYARD_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
  SWITCHYARD_GUARDRAIL_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
  SWITCHYARD_POLICY_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  SWITCHYARD_POLICY_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  SWITCHYARD_MAX_CONNECTIONS: z.coerce.number().int().min(2).max(1_000_000).default(DEFAULT_LIMITS.maxConnections),
  SWITCHYARD_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_LIMITS.maxStreams),
  SWITCHYARD_MAX_STREAMS_PER_TOKEN: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_LIMITS.maxStreamsPerToken),
  SWITCHYARD_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_LIMITS.headersTimeoutMs),
  SWITCHYARD_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(DEFAULT_LIMITS.requestTimeoutMs),
  SWITCHYARD_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_LIMITS.keepAliveTimeoutMs),
  SWITCHYARD_CORS_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .pipe(z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/ }).regex(/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/i, 'must be an origin: scheme://host[:port], no path')])))
    .default([]),
  SWITCHYARD_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(DEFAULT_MAX_DOCUMENT_BYTES),
  SWITCHYARD_FLAG_HISTORY_VERSIONS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_FLAG_HISTORY_VERSIONS),
}).superRefine((c, ctx) => {
  if (c.SWITCHYARD_MAX_STREAMS >= c.SWITCHYARD_MAX_CONNECTIONS) {
    ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_MAX_STREAMS'], message: 'must be below SWITCHYARD_MAX_CONNECTIONS, so streams never take every connection' });
  }
  if (c.SWITCHYARD_MAX_STREAMS_PER_TOKEN > c.SWITCHYARD_MAX_STREAMS) {
    ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_MAX_STREAMS_PER_TOKEN'], message: 'must not exceed SWITCHYARD_MAX_STREAMS' });
  }
  if (c.SWITCHYARD_HEADERS_TIMEOUT_MS > c.SWITCHYARD_REQUEST_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_HEADERS_TIMEOUT_MS'], message: 'must not exceed SWITCHYARD_REQUEST_TIMEOUT_MS' });
  }
});


export interface Config {
  readonly port: number;
  readonly host: string;
  /** Where flagd's gRPC sync service listens (SPEC §11), on `host`; 0: not at all. */
  readonly syncPort: number;
  readonly dbPath: string;
  /** PostgreSQL instead of the SQLite file at dbPath when set (SPEC §11). Holds a password: never log it. */
  readonly databaseUrl: string | undefined;
  /** The PostgreSQL pool's bound. */
  readonly databasePoolSize: number;
  /** The read barrier's bound on PostgreSQL (ADR 0012); 0: off. */
  readonly readBarrierMs: number;
  /** The read barrier's lease and commit wait on PostgreSQL (ADR 0012 addendum); 0: none. */
  readonly readLeaseMs: number;
  /** The shared secret OFREP event-stream tickets are signed from (a random key per process when absent). Never log it. */
  readonly streamTicketSecret: string | undefined;
  readonly bootstrapToken: string | undefined;
  readonly policyBundlePath: string;
  readonly logLevel: string;
  readonly schedulerIntervalMs: number;
  /** How often the guardrail loop analyses running rollouts (SPEC §10.2). */
  readonly guardrailIntervalMs: number;
  /** Deadlines of policy wasm: one decision (blocks the caller at most this), and a publish's checks. */
  readonly policyTimeouts: PolicyTimeouts;
  readonly limits: ServerLimits;
  /** Origins that may call the flag-read routes from a browser (CORS); empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  readonly maxDocumentBytes: number;
  readonly flagHistoryVersions: number;
}

export interface PolicyTimeouts {
  readonly decisionMs: number;
  readonly checkMs: number;
}

export const DEFAULT_POLICY_TIMEOUTS: PolicyTimeouts = Object.freeze({ decisionMs: 1000, checkMs: 30_000 });

export class ConfigError extends Error {}

/** Parses the environment once at start; the frozen result is passed down and nothing else reads process.env. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    syncPort: c.SWITCHYARD_SYNC_PORT,
    dbPath: path.resolve(c.SWITCHYARD_DB),
    databaseUrl: c.SWITCHYARD_DATABASE_URL,
    databasePoolSize: c.SWITCHYARD_DATABASE_POOL_SIZE,
    readBarrierMs: c.SWITCHYARD_READ_BARRIER_MS,
    readLeaseMs: c.SWITCHYARD_READ_LEASE_MS,
    streamTicketSecret: c.SWITCHYARD_STREAM_TICKET_SECRET,
    bootstrapToken: c.SWITCHYARD_BOOTSTRAP_TOKEN,
    policyBundlePath: path.resolve(c.SWITCHYARD_POLICY_BUNDLE),
    logLevel: c.SWITCHYARD_LOG_LEVEL,
    schedulerIntervalMs: c.SWITCHYARD_SCHEDULER_INTERVAL_MS,
    guardrailIntervalMs: c.SWITCHYARD_GUARDRAIL_INTERVAL_MS,
    policyTimeouts: Object.freeze({ decisionMs: c.SWITCHYARD_POLICY_TIMEOUT_MS, checkMs: c.SWITCHYARD_POLICY_CHECK_TIMEOUT_MS }),
    limits: Object.freeze({
      maxConnections: c.SWITCHYARD_MAX_CONNECTIONS,
      maxStreams: c.SWITCHYARD_MAX_STREAMS,
      maxStreamsPerToken: c.SWITCHYARD_MAX_STREAMS_PER_TOKEN,
      headersTimeoutMs: c.SWITCHYARD_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: c.SWITCHYARD_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: c.SWITCHYARD_KEEPALIVE_TIMEOUT_MS,
    }),
    corsOrigins: Object.freeze([...new Set(c.SWITCHYARD_CORS_ORIGINS)]),
    maxDocumentBytes: c.SWITCHYARD_MAX_DOCUMENT_BYTES,
    flagHistoryVersions: c.SWITCHYARD_FLAG_HISTORY_VERSIONS,
  });
}
