import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FlagsChange, SdkLogger, SwitchyardClient } from '../../src/sdk/index.js';
import { simpleIntent, type TestServer } from '../helpers/harness.js';

/**
 * A TCP proxy on a fixed loopback port in front of the test server, so a client's `baseUrl` stays
 * the same while the server restarts (on a new port) or the network is cut.
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private up = true;

  private constructor(
    private target: number,
    server: net.Server,
  ) {
    this.server = server;
  }

  static async start(targetBase: string): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(portOf(targetBase), server);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(targetBase?: string): void {
    if (targetBase !== undefined) this.target = portOf(targetBase);
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

function portOf(base: string): number {
  return Number(new URL(base).port);
}

/** The next change the client applies that satisfies `matches`; rejects after a safety-net timeout. */
export function nextChange(
  client: SwitchyardClient,
  matches: (change: FlagsChange) => boolean = () => true,
  timeoutMs = 8_000,
): Promise<FlagsChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching flags change within ${timeoutMs} ms (client at version ${client.version})`));
    }, timeoutMs);
    const off = client.subscribe((change) => {
      if (!matches(change)) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  details: Record<string, unknown>;
}

/** A logger that records, with a way to await a message. */
export type MemoryLogger = SdkLogger & {
  entries: LogEntry[];
  /** Resolves with the first entry matching `pattern` logged at or after index `from` (default: any). */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<LogEntry>;
};

export function memoryLogger(): MemoryLogger {
  const entries: LogEntry[] = [];
  const waiters = new Set<(e: LogEntry) => void>();
  const record = (level: LogEntry['level']) => (details: Record<string, unknown>, message: string) => {
    const entry = { level, message, details };
    entries.push(entry);
    for (const w of [...waiters]) w(entry);
  };
  return {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    waitFor(pattern, from = 0, timeoutMs = 8_000) {
      const found = entries.slice(from).find((e) => pattern.test(e.message));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no log matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = (e: LogEntry) => {
          if (!pattern.test(e.message)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(e);
        };
        waiters.add(w);
      });
    },
  };
}

/** Submits `simpleIntent(key, overrides)` as a growth owner; it runs at once on service "web". */
export async function launch(s: TestServer, key: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const owner = await s.token({ name: `owner-${key}`, role: 'owner', team: 'growth' });
  const res = await owner.post('/v1/intents', simpleIntent(key, overrides));
  if (res.status !== 201 || res.body.status !== 'approved') {
    throw new Error(`intent ${key} was not approved: ${res.status} ${res.text}`);
  }
}

export async function act(s: TestServer, key: string, action: 'pause' | 'resume' | 'complete' | 'rollback'): Promise<void> {
  const res = await s.api.post(`/v1/intents/${key}/actions`, { action, reason: `sdk test: ${action}` });
  if (res.status >= 300) throw new Error(`${action} ${key} failed: ${res.status} ${res.text}`);
}

export async function serviceToken(s: TestServer, service = 'web'): Promise<string> {
  const t = await s.token({ name: `svc-${service}-${Math.random().toString(36).slice(2, 8)}`, role: 'service', service });
  return t.secret;
}

/** Contexts covering split, audience misses, numeric ids, targetingKey fallback and missing units. */
export function contexts(n: number): Record<string, string | number>[] {
  const locales = ['en-US', 'en-GB', 'de-DE', undefined];
  const out: Record<string, string | number>[] = [];
  for (let i = 0; i < n; i++) {
    const ctx: Record<string, string | number> = {};
    const locale = locales[i % locales.length];
    if (locale !== undefined) ctx['locale'] = locale;
    if (i % 10 === 7) ctx['targetingKey'] = `tk-${i}`;
    else if (i % 10 === 8) ctx['user_id'] = i;
    else if (i % 10 !== 9) ctx['user_id'] = `user-${i}`;
    out.push(ctx);
  }
  return out;
}

export interface FakeStream {
  /** The request's headers (lower-case names). */
  headers: http.IncomingHttpHeaders;
  /** Writes raw SSE text. */
  write(text: string): void;
  /** Writes one event whose id is `id` and data `data`. */
  event(id: number | string, data: string): void;
  end(): void;
  closed: Promise<void>;
}

/**
 * A stand-in Switchyard that serves one document on the GET and hands each stream connection to
 * the test, for what the real server will not do on demand: garbled events, silence, dropped streams.
 */
export class FakeSwitchyard {
  document: Record<string, unknown>;
  private readonly server: http.Server;
  private readonly pending: FakeStream[] = [];
  private readonly waiting: ((s: FakeStream) => void)[] = [];
  connections = 0;

  private constructor(document: Record<string, unknown>) {
    this.document = document;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(document: Record<string, unknown>): Promise<FakeSwitchyard> {
    const fake = new FakeSwitchyard(document);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next stream connection (one already open and not yet taken counts). */
  nextStream(timeoutMs = 8_000): Promise<FakeStream> {
    const ready = this.pending.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stream connection within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url?.endsWith('/flags/stream')) {
      this.connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const stream: FakeStream = {
        headers: req.headers,
        write: (text) => res.write(text),
        event: (id, data) => res.write(`id: ${id}\ndata: ${data}\n\n`),
        end: () => res.end(),
        closed: new Promise((resolve) => res.on('close', () => resolve())),
      };
      const waiter = this.waiting.shift();
      if (waiter) waiter(stream);
      else this.pending.push(stream);
      return;
    }
    if (req.url?.endsWith('/flags')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.document));
      return;
    }
    res.writeHead(404).end();
  }
}

/** A valid flags document for service "web" with one 50/50 flag `demo_flag`, at `version`. */
export function demoDocument(version: number, value = 'on'): Record<string, unknown> {
  return {
    service: 'web',
    version,
    flags: {
      demo_flag: {
        state: 'ENABLED',
        default_variant: 'control',
        variants: { control: 'off', treatment: value },
        audience: [],
        allocation: {
          unit: 'user_id',
          exposure: { seed: 'exp/demo/exposure', start: 0, end: 10000, total: 10000 },
          variants: { seed: 'exp/demo', buckets: [['control', 50], ['treatment', 50]] },
        },
        experiment: { key: 'demo', version: 1 },
        provenance: { decision_id: 'd_1', policy_revision: 'sha256:x', actor: 'alice', at: '2026-11-25T12:00:00Z' },
      },
    },
  };
}

/** How the sink answers one telemetry POST: an HTTP answer, no answer at all, or a reset connection. */
export type SinkReply = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang' | 'reset';

export interface SinkRequest {
  headers: http.IncomingHttpHeaders;
  url: string;
  body: { events: Record<string, unknown>[] };
}

/**
 * A recording stand-in for `POST …/telemetry` on loopback: answers each request with the next
 * scripted reply (default: 202, every event accepted). With `document` set it also serves
 * `GET …/flags`, so a client can run against it alone.
 */
export class TelemetrySink {
  readonly requests: SinkRequest[] = [];
  readonly replies: SinkReply[] = [];
  document: Record<string, unknown> | undefined;
  private readonly server: http.Server;
  private readonly waiters = new Set<() => void>();

  private constructor(document: Record<string, unknown> | undefined) {
    this.document = document;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(document?: Record<string, unknown>): Promise<TelemetrySink> {
    const sink = new TelemetrySink(document);
    await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get url(): string {
    return `${this.base}/v1/services/web/telemetry`;
  }

  /** Every event received, in order. */
  get events(): Record<string, unknown>[] {
    return this.requests.flatMap((r) => r.body.events);
  }

  /** Resolves once `n` telemetry requests have arrived; rejects after a safety-net timeout. */
  waitForRequests(n: number, timeoutMs = 8_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.requests.length} telemetry requests within ${timeoutMs} ms, expected ${n}`));
      }, timeoutMs);
      const check = () => {
        if (this.requests.length < n) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url?.endsWith('/flags') && this.document !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.document));
      return;
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/telemetry')) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SinkRequest['body'];
      this.requests.push({ headers: req.headers, url: req.url!, body });
      const reply = this.replies.shift() ?? { status: 202, body: { accepted: body.events.length, rejected: [] } };
      for (const w of [...this.waiters]) w();
      if (reply === 'hang') return;
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  }
}
