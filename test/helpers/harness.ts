import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { buildServer, type AppOptions, type BuiltServer } from '../../src/app.js';
import { ManualClock, type Clock } from '../../src/clock.js';
import type { PolicyTimeouts } from '../../src/config.js';
import { createContainer, type Container, type ContainerOptions } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { BUNDLE_PATH, ROOT } from './paths.js';
import { dumpDatabase, dumpPostgres, type DatabaseDump } from './db-dump.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from './postgres.js';

export type TestEngine = 'sqlite' | 'postgres';

/**
 * The engine test servers run on: `SWITCHYARD_TEST_ENGINE=postgres` (vitest.config.ts sets it for
 * the HTTP files it runs a second time on PostgreSQL; docs/storage.md lists them), else SQLite.
 */
export function testEngine(): TestEngine {
  const e = process.env['SWITCHYARD_TEST_ENGINE'];
  if (e === undefined || e === '' || e === 'sqlite') return 'sqlite';
  if (e === 'postgres') return 'postgres';
  throw new Error(`SWITCHYARD_TEST_ENGINE must be sqlite or postgres, not ${e}`);
}

export const ADMIN_TOKEN = 'sy_test_admin_token_0123456789abcdef';

export interface TestServer {
  base: string;
  container: Container;
  clock: ManualClock;
  dir: string;
  /** The SQLite file (created only on SQLite). */
  dbPath: string;
  engine: TestEngine;
  logs: string[];
  api: Api;
  /** Every row of every table, on either engine (db-dump.ts): for "nothing was stored" checks. */
  dump(): Promise<DatabaseDump>;
  /** The number of rows of one table, on either engine. */
  count(table: string): Promise<number>;
  /** Creates a token through the API and returns a client that uses it. */
  token(spec: { name: string; role: string; team?: string; approval_roles?: string[]; service?: string }): Promise<Api & { id: string; secret: string }>;
  /** The running server, its stats included. */
  readonly built: BuiltServer;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Api {
  request<T = any>(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  get<T = any>(url: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  post<T = any>(url: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  put<T = any>(url: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  del<T = any>(url: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
}

export function apiFor(base: () => string, token: string | null): Api {
  const request = async <T>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...headers };
    if (token !== null) h['authorization'] = `Bearer ${token}`;
    let payload: string | Buffer | undefined;
    if (body !== undefined) {
      if (Buffer.isBuffer(body) || typeof body === 'string') payload = body;
      else payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(base() + url, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
  return {
    request,
    get: (url, headers) => request('GET', url, undefined, headers),
    post: (url, body, headers) => request('POST', url, body ?? {}, headers),
    put: (url, body, headers) => request('PUT', url, body, headers),
    del: (url, headers) => request('DELETE', url, undefined, headers),
  };
}

export interface StartOptions {
  clock?: ManualClock;
  bundlePath?: string;
  dir?: string;
  /** Deadlines of policy wasm (the config's defaults when absent). */
  policyTimeouts?: PolicyTimeouts;
  /** Caps, timeouts, CORS origins: what main.ts passes from the configuration. */
  app?: AppOptions;
  /** Flags-document size cap and history retention (src/container.ts); defaults when absent. */
  storage?: ContainerOptions['storage'];
  /** The storage engine; `testEngine()` when absent. On PostgreSQL each server gets a fresh database, kept across restart(). */
  engine?: TestEngine;
  /**
   * A PostgreSQL database this server shares with others (the many-instances tests, issue #16):
   * the server runs on it and leaves it in place on close. Implies `engine: 'postgres'`.
   */
  databaseUrl?: string;
  /** PostgreSQL: the storage's periodic catch-up (ms); 0 turns it off, to show what NOTIFY alone delivers. */
  catchUpMs?: number;
  /** PostgreSQL: false to not LISTEN for other instances' commits (what the read barrier alone delivers, ADR 0012). */
  listen?: boolean;
  /** PostgreSQL: the read barrier's bound (ms); 0 turns it off. */
  /** PostgreSQL: the read barrier's lease and commit wait (ADR 0012). */
  readLeaseMs?: number;
  readBarrierMs?: number;
}

/**
 * The real app on loopback: a temp SQLite file (or a fresh PostgreSQL database), the real compiled
 * policy bundle, real HTTP. Only the clock is injected.
 */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const engine = opts.databaseUrl ? 'postgres' : (opts.engine ?? testEngine());
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-test-'));
  const dbPath = path.join(dir, 'switchyard.db');
  const shared: TestDatabase | undefined = opts.databaseUrl ? { name: '(shared)', url: opts.databaseUrl, drop: async () => {} } : undefined;
  const pgdb: TestDatabase | undefined = shared ?? (engine === 'postgres' ? await createTestDatabase(postgresAdminUrl(), 'http') : undefined);
  const clock = opts.clock ?? new ManualClock('2026-11-25T12:00:00Z');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  let container!: Container;
  let server!: Server;
  let built!: BuiltServer;
  let base = '';
  const boot = async () => {
    container = await createContainer({
      dbPath,
      ...(pgdb ? { databaseUrl: pgdb.url } : {}),
      ...(opts.catchUpMs !== undefined ? { catchUpMs: opts.catchUpMs } : {}),
      ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
      ...(opts.readBarrierMs !== undefined ? { readBarrierMs: opts.readBarrierMs } : {}),
      ...(opts.readLeaseMs !== undefined ? { readLeaseMs: opts.readLeaseMs } : {}),
      policyBundlePath: opts.bundlePath ?? BUNDLE_PATH,
      clock: clock as Clock,
      logger: createLogger('info', sink),
      ...(opts.policyTimeouts ? { policyTimeouts: opts.policyTimeouts } : {}),
      ...(opts.storage ? { storage: opts.storage } : {}),
    });
    await container.tokens.bootstrap(ADMIN_TOKEN);
    built = buildServer(container, opts.app);
    server = built.server.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const shutdown = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await container.close();
  };
  await boot();
  const api = apiFor(() => base, ADMIN_TOKEN);
  const ts: TestServer = {
    get base() {
      return base;
    },
    get container() {
      return container;
    },
    get built() {
      return built;
    },
    clock,
    dir,
    dbPath,
    engine,
    logs,
    api,
    dump: () => (pgdb ? dumpPostgres(pgdb.url) : Promise.resolve(dumpDatabase(container.db))),
    async count(table) {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      if (!pgdb) return container.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      return (await dumpPostgres(pgdb.url, table))[table]!.length;
    },
    async token(spec) {
      const res = await api.post('/v1/tokens', spec);
      if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${res.text}`);
      return { ...apiFor(() => base, res.body.token), id: res.body.id, secret: res.body.token };
    },
    async restart() {
      await shutdown();
      await boot();
    },
    async close() {
      await shutdown();
      await pgdb?.drop();
      if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return ts;
}

/**
 * The SPEC §2 example intent, its schedule (2026-12-01 to 2026-12-31) included, with overrides. Tests
 * keep these fixed dates against a ManualClock; docs/examples/checkout-redesign.json, which the tours
 * submit on whatever day a user runs them, is the same intent without the schedule (docs/dates.md).
 */
export function exampleIntent(overrides: Record<string, unknown> = {}): Record<string, any> {
  return { ...structuredClone(SPEC_EXAMPLE), ...overrides };
}

const SPEC_EXAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/spec-example.json'), 'utf8')) as Record<string, any>;

/** A small intent on one standard service that needs no approval. */
export function simpleIntent(key: string, overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    key,
    owner: 'growth',
    services: [{ service: 'web', flag: `${key.replace(/-/g, '_')}_flag` }],
    variants: [
      { key: 'control', weight: 50, value: 'off' },
      { key: 'treatment', weight: 50, value: 'on' },
    ],
    exposure: 10,
    ...overrides,
  };
}
