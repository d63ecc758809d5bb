/**
 * The Switchyard SDK client: keeps one service's flags document (SPEC §5) in memory and evaluates
 * it locally with the server's own evaluation module (SPEC §6), so a unit gets the same arm here
 * as from OFREP or flagd.
 *
 * How state arrives: one `GET …/flags` at start, then the SSE stream (`…/flags/stream`, resumed
 * with `Last-Event-ID`, reconnected with jittered exponential backoff). While the stream is down
 * the client polls the GET with `If-None-Match`. `mode: 'poll'` skips the stream entirely.
 *
 * Flag reads fail static (STYLE "Errors"): once the client holds a document, nothing the network
 * does can change an answer except a newer, well-formed document for this service. An outage, a
 * garbled body, another service's document or an older version is logged and ignored.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import {
  compileDocument,
  type CompiledDocument,
  type EvaluationContext,
  type EvaluationErrorCode,
  type FlagsDocument,
  type Resolution,
  type ResolutionReason,
} from '../evaluation/index.js';
import { unitId } from '../evaluation/index.js';
import { parseFlagsDocument } from './document-check.js';
import { StateFile } from './state-file.js';
import { TelemetrySender, type TelemetryOptions, type TelemetryStats } from './telemetry.js';

/** Codes `evaluate` can report: the evaluation module's, plus the two only a client can hit. */
export type ClientErrorCode = EvaluationErrorCode | 'PROVIDER_NOT_READY' | 'TYPE_MISMATCH';

/**
 * One flag's answer. On `reason: 'ERROR'` the value is always the caller's default and `variant`
 * is `undefined` (OpenFeature's rule for abnormal evaluation), so the pair is never inconsistent.
 */
export interface ClientResolution<T> {
  readonly flag: string;
  readonly value: T;
  readonly variant: string | undefined;
  readonly reason: ResolutionReason;
  readonly errorCode?: ClientErrorCode | undefined;
  readonly errorMessage?: string | undefined;
}

/** Where an accepted document came from. */
export type UpdateSource = 'fetch' | 'stream' | 'poll' | 'persisted';

export interface FlagsChange {
  readonly document: FlagsDocument;
  readonly version: number;
  /** `undefined` for the first document the client holds. */
  readonly previousVersion: number | undefined;
  /** Flags added, removed or changed in any way since the previous document. */
  readonly changedFlags: readonly string[];
  readonly source: UpdateSource;
}

export type ChangeListener = (change: FlagsChange) => void;

/** pino-compatible (`logger.warn(details, message)`); a pino child logger can be passed as is. */
export interface SdkLogger {
  debug(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/**
 * `starting` until the first attempt ends; `stream` while the SSE stream is open; `poll` while
 * the last GET succeeded and no stream is open; `offline` while the server cannot be reached.
 */
export type ConnectionState = 'starting' | 'stream' | 'poll' | 'offline' | 'closed';

export interface ClientOptions {
  /** Where Switchyard listens, e.g. `https://switchyard.internal`. */
  baseUrl: string;
  service: string;
  /** A `service` token for `service`. */
  token: string;
  /** `stream` (default): SSE, polling only while the stream is down. `poll`: ETag polling only. */
  mode?: 'stream' | 'poll';
  /** How often to poll in `poll` mode, or while the stream is down. Default 30 s. */
  pollIntervalMs?: number;
  /** `ready()` rejects if no state arrived within this time. Default 10 s; `Infinity` waits forever. */
  readyTimeoutMs?: number;
  /** Deadline for a GET, and for the stream's response headers. Default 5 s. */
  requestTimeoutMs?: number;
  /** The stream is presumed dead, and reopened, after this long without a byte. Default 45 s. */
  streamIdleTimeoutMs?: number;
  /**
   * Stream reconnection backoff. The first delay is the server's SSE `retry` when it sends one and
   * `initialDelayMs` is not set; default 500 ms, doubling up to `maxDelayMs` (default 30 s).
   */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Replaces the global `fetch` (tests, proxies, custom agents). */
  fetch?: typeof globalThis.fetch;
  /**
   * A file that keeps the last good document. It is written atomically on every new version and
   * read at start only when the server cannot be reached.
   */
  persistPath?: string;
  logger?: SdkLogger;
  /** Called for every new document, the first one included. Same as `subscribe`. */
  onChange?: ChangeListener;
  /**
   * Exposures and metric events sent to `…/telemetry` (SPEC §10.1) in batches; on by default.
   * `false` turns it off: `exposure` and `track` then do nothing.
   */
  telemetry?: TelemetryOptions | false;
}

/** What `exposure` needs of a resolution: `ClientResolution`, or OpenFeature's evaluation details. */
export interface ExposedResolution {
  readonly flag: string;
  readonly variant?: string | undefined;
  readonly reason?: string | undefined;
}

export interface SwitchyardClient {
  /**
   * Resolves once the client holds a document (from the server, or from `persistPath` when the
   * server is unreachable). Rejects with a `SwitchyardSdkError` after `readyTimeoutMs`, at once on
   * a refused token or an unknown service, or on `close()`. The client keeps trying after a
   * rejection; until a document arrives every evaluation returns the caller's default.
   */
  ready(): Promise<void>;
  /**
   * Evaluates one flag. Never throws and does no I/O. Errors return `defaultValue` with reason
   * `ERROR`: `PROVIDER_NOT_READY` before the first document, `FLAG_NOT_FOUND`, and
   * `TYPE_MISMATCH` when the flag's value is not of `defaultValue`'s JSON type (`null` or
   * `undefined` as default accepts any type; an object default accepts objects and arrays).
   */
  evaluate<T>(flagKey: string, ctx: EvaluationContext, defaultValue: T): ClientResolution<T>;
  /**
   * Every flag of the document, resolved as the evaluation module does (an error resolution keeps
   * the flag's default variant, since there is no caller default here). `{}` before the first document.
   */
  evaluateAll(ctx: EvaluationContext): Record<string, Resolution>;
  /** The current document (deeply frozen), or `undefined` before the first one. */
  document(): FlagsDocument | undefined;
  readonly version: number | undefined;
  readonly connection: ConnectionState;
  /** Adds a change listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void;
  /**
   * Records that the unit of `ctx` was served `resolution`, for the experiment's analysis. Only a
   * `SPLIT` resolution of a running experiment's flag is an exposure; anything else is ignored.
   * The unit is read as §6 reads it (`ctx[allocation.unit] ?? targetingKey`). Each (flag,
   * experiment, unit, variant) is sent once per process while it stays in a bounded LRU window.
   * Never throws, never waits; returns whether an event was queued.
   */
  exposure(resolution: ExposedResolution, ctx: EvaluationContext): boolean;
  /**
   * Queues a metric event (`value` defaults to 1) for the unit `ctx[telemetry.unitAttribute]`
   * (default `user_id`), else `ctx.targetingKey`. Never throws, never waits; returns whether an
   * event was queued (false without a unit, with a non-finite value, or when the buffer is full).
   */
  track(metric: string, ctx: EvaluationContext, value?: number): boolean;
  /** Telemetry counters, or `undefined` when telemetry is off. */
  telemetryStats(): TelemetryStats | undefined;
  /** Sends every buffered telemetry event now; resolves once each is accepted, rejected or given up. */
  flushTelemetry(): Promise<void>;
  /**
   * Stops every request and timer, sends the buffered telemetry (within `telemetry.closeTimeoutMs`)
   * and waits for the state file to be written. Idempotent.
   */
  close(): Promise<void>;
}

export type SdkErrorCode = 'not_ready' | 'unauthorized' | 'forbidden' | 'service_not_found' | 'closed';

export class SwitchyardSdkError extends Error {
  constructor(
    readonly code: SdkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SwitchyardSdkError';
  }
}

/** A non-success HTTP answer; `problemCode` is the problem+json `code` when the body had one. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly problemCode: string | undefined,
    what: string,
  ) {
    super(`${what} answered ${status}${problemCode ? ` (${problemCode})` : ''}`);
  }
}

const DEFAULTS = {
  pollIntervalMs: 30_000,
  readyTimeoutMs: 10_000,
  requestTimeoutMs: 5_000,
  streamIdleTimeoutMs: 45_000,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
} as const;

/** Generous for a flags document, small enough that a runaway stream cannot exhaust memory. */
const MAX_EVENT_CHARS = 32 * 1024 * 1024;

const consoleLogger: SdkLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (details, message) => console.warn(`[switchyard] ${message}`, details),
  error: (details, message) => console.error(`[switchyard] ${message}`, details),
};

/** `defaultValue`'s JSON type decides what the caller can accept. */
function sameJsonType(value: unknown, defaultValue: unknown): boolean {
  if (defaultValue === undefined || defaultValue === null) return true;
  const expected = typeof defaultValue;
  if (expected !== 'object') return typeof value === expected;
  return typeof value === 'object' && value !== null;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function changedFlags(previous: FlagsDocument | undefined, next: FlagsDocument): string[] {
  const before = previous?.flags ?? {};
  const keys = new Set([...Object.keys(before), ...Object.keys(next.flags)]);
  return [...keys].filter((key) => {
    const a = Object.hasOwn(before, key) ? JSON.stringify(before[key]) : undefined;
    const b = Object.hasOwn(next.flags, key) ? JSON.stringify(next.flags[key]) : undefined;
    return a !== b;
  });
}

function problemCodeOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const code = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['code'] : undefined;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** A refusal that retrying will not fix by itself: the caller's configuration is wrong. */
function configurationError(err: unknown): SwitchyardSdkError | undefined {
  if (!(err instanceof HttpStatusError)) return undefined;
  if (err.status === 401) return new SwitchyardSdkError('unauthorized', `Switchyard refused the token: ${err.message}`, { cause: err });
  if (err.status === 403) return new SwitchyardSdkError('forbidden', `The token may not read these flags: ${err.message}`, { cause: err });
  if (err.status === 404) return new SwitchyardSdkError('service_not_found', `Unknown service: ${err.message}`, { cause: err });
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

type Accepted = 'applied' | 'same' | 'rejected';

class Client implements SwitchyardClient {
  private readonly service: string;
  private readonly token: string;
  private readonly mode: 'stream' | 'poll';
  private readonly pollIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly initialDelayMs: number | undefined;
  private readonly maxDelayMs: number;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly log: SdkLogger;
  private readonly flagsUrl: string;
  private readonly streamUrl: string;
  private readonly stateFile: StateFile | undefined;
  private readonly telemetry: TelemetrySender | undefined;
  /** Warn once about a `track` without a unit, not once per call. */
  private warnedNoUnit = false;

  private compiled: CompiledDocument | undefined;
  private doc: FlagsDocument | undefined;
  /** The held document came from the state file, not (yet) from the server. */
  private fromStateFile = false;
  /** The ETag of the held document when it came from a GET; streamed documents have none. */
  private etag: string | undefined;
  private serverRetryMs: number | undefined;
  private streamOpen = false;
  private fallbackPolling = false;
  private state: ConnectionState = 'starting';
  private closed = false;
  /** Which channels are failing, so an outage logs one warning rather than one per retry. */
  private readonly failing = new Set<'stream' | 'poll'>();

  private readonly listeners = new Set<ChangeListener>();
  private readonly abort = new AbortController();
  private readonly wakers = new Set<() => void>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly readyPromise: Promise<void>;
  private settleReady!: (err?: SwitchyardSdkError) => void;
  private readyTimer: NodeJS.Timeout | undefined;

  constructor(opts: ClientOptions) {
    this.service = opts.service;
    this.token = opts.token;
    this.mode = opts.mode ?? 'stream';
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
    this.streamIdleTimeoutMs = opts.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs;
    this.initialDelayMs = opts.reconnect?.initialDelayMs;
    this.maxDelayMs = opts.reconnect?.maxDelayMs ?? DEFAULTS.maxDelayMs;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.log = opts.logger ?? consoleLogger;
    const base = `${opts.baseUrl.replace(/\/+$/, '')}/v1/services/${encodeURIComponent(opts.service)}/flags`;
    this.flagsUrl = base;
    this.streamUrl = `${base}/stream`;
    this.stateFile = opts.persistPath
      ? new StateFile(opts.persistPath, (err) => this.log.warn({ err, path: opts.persistPath }, 'flags state file could not be read or written'))
      : undefined;
    if (opts.onChange) this.listeners.add(opts.onChange);
    this.telemetry =
      opts.telemetry === false
        ? undefined
        : new TelemetrySender({
            ...opts.telemetry,
            url: `${opts.baseUrl.replace(/\/+$/, '')}/v1/services/${encodeURIComponent(opts.service)}/telemetry`,
            token: opts.token,
            fetch: this.fetchImpl,
            logger: this.log,
          });

    this.readyPromise = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settleReady = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(this.readyTimer);
        if (err) reject(err);
        else resolve();
      };
    });
    // Nobody has to call ready(): an unobserved rejection must not crash the process.
    this.readyPromise.catch(() => undefined);
    const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs;
    if (Number.isFinite(readyTimeoutMs)) {
      this.readyTimer = setTimeout(
        () => this.settleReady(new SwitchyardSdkError('not_ready', `no flags state for ${this.service} within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      this.readyTimer.unref();
    }
    this.spawn(this.run());
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  get version(): number | undefined {
    return this.doc?.version;
  }

  get connection(): ConnectionState {
    return this.state;
  }

  document(): FlagsDocument | undefined {
    return this.doc;
  }

  // The hot path: on success it returns the evaluation module's resolution object as is.
  evaluate<T>(flagKey: string, ctx: EvaluationContext, defaultValue: T): ClientResolution<T> {
    const compiled = this.compiled;
    if (compiled === undefined) {
      return errorResolution(flagKey, defaultValue, 'PROVIDER_NOT_READY', `no flags state for service ${this.service} yet`);
    }
    const r = compiled.evaluate(flagKey, ctx);
    if (r.reason === 'ERROR') return errorResolution(flagKey, defaultValue, r.errorCode, r.errorMessage);
    if (!sameJsonType(r.value, defaultValue)) {
      return errorResolution(
        flagKey,
        defaultValue,
        'TYPE_MISMATCH',
        `flag "${flagKey}" is ${jsonTypeOf(r.value)}, the default value is ${jsonTypeOf(defaultValue)}`,
      );
    }
    return r as ClientResolution<T>;
  }

  evaluateAll(ctx: EvaluationContext): Record<string, Resolution> {
    return this.compiled?.evaluateAll(ctx) ?? {};
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  exposure(resolution: ExposedResolution, ctx: EvaluationContext): boolean {
    const telemetry = this.telemetry;
    if (telemetry === undefined || resolution.reason !== 'SPLIT' || typeof resolution.variant !== 'string') return false;
    const doc = this.doc;
    const flag = doc !== undefined && Object.hasOwn(doc.flags, resolution.flag) ? doc.flags[resolution.flag] : undefined;
    // The document may have changed since the evaluation: only a variant the flag still splits
    // into counts, or the server would see an arm it never served.
    if (flag?.state !== 'ENABLED' || flag.experiment === undefined) return false;
    const buckets: unknown = flag.allocation?.variants?.buckets;
    if (!Array.isArray(buckets) || !buckets.some((b) => Array.isArray(b) && b[0] === resolution.variant)) return false;
    const unit = unitId(ctx, flag.allocation.unit);
    if (unit === undefined) return false;
    return telemetry.exposure(resolution.flag, `${flag.experiment.key}@${flag.experiment.version}`, unit, resolution.variant);
  }

  track(metric: string, ctx: EvaluationContext, value = 1): boolean {
    const telemetry = this.telemetry;
    if (telemetry === undefined || typeof metric !== 'string' || metric === '') return false;
    const unit = unitId(ctx, telemetry.unitAttribute);
    if (unit === undefined) {
      if (!this.warnedNoUnit) {
        this.warnedNoUnit = true;
        this.log.warn({ metric, unitAttribute: telemetry.unitAttribute }, 'metric event without a unit (no unit attribute nor targetingKey) not sent');
      }
      return false;
    }
    return telemetry.metric(metric, unit, value);
  }

  telemetryStats(): TelemetryStats | undefined {
    return this.telemetry?.stats();
  }

  flushTelemetry(): Promise<void> {
    return this.telemetry?.flush() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    const telemetryClosed = this.telemetry?.close();
    if (!this.closed) {
      this.closed = true;
      this.state = 'closed';
      this.abort.abort(new SwitchyardSdkError('closed', 'client closed'));
      for (const wake of [...this.wakers]) wake();
      this.settleReady(new SwitchyardSdkError('closed', 'client closed before any flags state arrived'));
    }
    await Promise.allSettled([...this.tasks, telemetryClosed]);
    await this.stateFile?.flush();
  }

  // ---- state ---------------------------------------------------------------------------------

  /**
   * The one place the state changes. Never throws. `heldWhenAsked` is the version held when the
   * request went out: a GET answered with that version or later, but overtaken by a streamed
   * document meanwhile, is a harmless race rather than a stale server.
   */
  private accept(text: string, source: UpdateSource, heldWhenAsked?: number): Accepted {
    if (this.closed) return 'rejected';
    const check = parseFlagsDocument(text, this.service);
    if (!check.ok) {
      this.log.warn({ service: this.service, source, problem: check.problem }, 'ignored an invalid flags document; keeping the last good state');
      return 'rejected';
    }
    const next = check.doc;
    const held = this.doc;
    if (held !== undefined) {
      if (this.fromStateFile && source !== 'persisted') {
        // The server is the authority over a file from an earlier run, even at a lower version
        // (its database may have been restored); only an identical document changes nothing.
        if (JSON.stringify(next) === JSON.stringify(held)) {
          this.fromStateFile = false;
          return 'same';
        }
        if (next.version < held.version) {
          this.log.warn({ service: this.service, held: held.version, received: next.version }, 'server flags are older than the state file; using the server');
        }
      } else if (next.version < held.version) {
        const raced = heldWhenAsked !== undefined && next.version >= heldWhenAsked;
        this.log[raced ? 'debug' : 'warn']({ service: this.service, source, held: held.version, received: next.version }, 'ignored an older flags document; keeping the last good state');
        return 'rejected';
      } else if (next.version === held.version) {
        return 'same';
      }
    }

    const compiled = compileDocument(next);
    for (const flag of compiled.flags.values()) {
      if (flag.problems.length > 0) {
        this.log.warn({ service: this.service, flag: flag.key, version: next.version, problems: flag.problems }, 'malformed flag: it resolves to PARSE_ERROR');
      }
    }
    this.doc = next;
    this.compiled = compiled;
    this.fromStateFile = source === 'persisted';
    if (source !== 'fetch' && source !== 'poll') this.etag = undefined;
    if (source !== 'persisted') void this.stateFile?.write(text);
    this.log.debug({ service: this.service, version: next.version, source }, 'flags state updated');
    this.settleReady();

    const change: FlagsChange = {
      document: next,
      version: next.version,
      previousVersion: held?.version,
      changedFlags: changedFlags(held, next),
      source,
    };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.log.error({ err }, 'a flags change listener threw');
      }
    }
    return 'applied';
  }

  // ---- transport -----------------------------------------------------------------------------

  private spawn(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => this.log.error({ err }, 'switchyard client task failed'));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  private async run(): Promise<void> {
    await this.initialFetch();
    if (this.mode === 'poll') await this.pollLoop();
    else await this.streamLoop();
  }

  private async initialFetch(): Promise<void> {
    try {
      await this.fetchDocument('fetch');
      this.recovered('poll');
      this.state = 'poll';
    } catch (err) {
      if (this.closed) return;
      this.state = 'offline';
      this.failed('poll', err, 'initial flags fetch failed');
      if (this.doc === undefined && this.stateFile) {
        const text = await this.stateFile.read();
        if (text !== undefined && this.accept(text, 'persisted') === 'applied') {
          this.log.warn({ service: this.service, version: this.version, path: this.stateFile.path }, 'serving flags from the state file until the server answers');
        }
      }
      const fatal = configurationError(err);
      if (fatal && this.doc === undefined) this.settleReady(fatal);
    }
  }

  /** GET the document (conditionally when the held one came from a GET); throws on failure. */
  private async fetchDocument(source: 'fetch' | 'poll'): Promise<void> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (this.etag !== undefined) headers['if-none-match'] = this.etag;
    const heldWhenAsked = this.version ?? -1;
    const res = await this.fetchImpl(this.flagsUrl, {
      headers,
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
    });
    if (res.status === 304) {
      await res.body?.cancel();
      return;
    }
    const text = await res.text();
    if (res.status !== 200) throw new HttpStatusError(res.status, problemCodeOf(text), `GET ${this.flagsUrl}`);
    if (this.accept(text, source, heldWhenAsked) !== 'rejected') this.etag = res.headers.get('etag') ?? undefined;
  }

  private needsServerState(): boolean {
    return this.doc === undefined || this.fromStateFile;
  }

  /** Until the server has answered once, retry on the backoff schedule rather than every poll interval. */
  private nextPollDelay(failures: number): number {
    return this.needsServerState() ? Math.min(this.backoff(failures), this.pollIntervalMs) : this.pollIntervalMs;
  }

  private async pollLoop(): Promise<void> {
    let failures = this.needsServerState() ? 1 : 0;
    while (!this.closed) {
      await this.sleep(this.nextPollDelay(failures));
      if (this.closed) return;
      failures = (await this.pollOnce()) ? 0 : failures + 1;
    }
  }

  private async pollOnce(): Promise<boolean> {
    try {
      await this.fetchDocument('poll');
      this.recovered('poll');
      if (!this.streamOpen) this.state = 'poll';
      return true;
    } catch (err) {
      if (this.closed) return false;
      this.failed('poll', err, 'flags poll failed; keeping the last good state');
      if (!this.streamOpen) this.state = 'offline';
      return false;
    }
  }

  /** Polls while the stream is down, so a broken stream (or a server without one) costs latency only. */
  private startFallbackPolling(): void {
    if (this.fallbackPolling || this.closed) return;
    this.fallbackPolling = true;
    this.spawn(
      (async () => {
        try {
          let failures = 0;
          while (!this.closed && !this.streamOpen) {
            await this.sleep(this.nextPollDelay(failures));
            if (this.closed || this.streamOpen) return;
            failures = (await this.pollOnce()) ? 0 : failures + 1;
          }
        } finally {
          this.fallbackPolling = false;
        }
      })(),
    );
  }

  private async streamLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const progressed = await this.streamOnce();
      if (this.closed) return;
      if (progressed) attempt = 0;
      this.startFallbackPolling();
      await this.sleep(this.backoff(attempt++));
    }
  }

  /**
   * One stream connection, from request to end. Returns whether the server sent anything, which
   * resets the backoff: a server that accepts and drops connections at once is still backed off.
   */
  private async streamOnce(): Promise<boolean> {
    const conn = new AbortController();
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
    };
    // A document from the state file may be from another database: ask for the whole current one.
    if (this.doc !== undefined && !this.fromStateFile) headers['last-event-id'] = String(this.doc.version);
    let progressed = false;
    const timer = setTimeout(() => conn.abort(new Error(`no stream response within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    timer.unref();
    try {
      const res = await this.fetchImpl(this.streamUrl, { headers, signal: AbortSignal.any([this.abort.signal, conn.signal]) });
      const type = res.headers.get('content-type') ?? '';
      if (res.status !== 200 || !type.startsWith('text/event-stream') || res.body === null) {
        const text = await res.text().catch(() => '');
        throw new HttpStatusError(res.status, problemCodeOf(text), `GET ${this.streamUrl}`);
      }
      this.streamOpen = true;
      this.state = 'stream';
      if (this.failing.has('stream')) this.log.info({ service: this.service }, 'flags stream reconnected');
      this.failing.delete('stream');
      // A stream resumed from the held version may stay silent; one GET makes sure nothing is missing
      // when the client has no server state at all.
      if (this.needsServerState()) this.spawn(this.pollOnce().then(() => undefined));

      // From here a watchdog, pushed back by every chunk (heartbeats included), guards the stream.
      clearTimeout(timer);
      const idle = this.streamIdleTimeoutMs;
      const watchdog = setTimeout(() => conn.abort(new Error(`flags stream silent for ${idle} ms`)), idle);
      watchdog.unref();
      try {
        const parser = createParser({
          onEvent: (event) => {
            progressed = true;
            this.onStreamEvent(event);
          },
          onComment: () => {
            progressed = true;
          },
          onRetry: (ms) => {
            this.serverRetryMs = ms;
          },
          onError: (err: ParseError) => {
            if (err.type === 'max-buffer-size-exceeded') conn.abort(err);
            else this.log.debug({ err: err.message, type: err.type }, 'skipped a malformed stream line');
          },
          maxBufferSize: MAX_EVENT_CHARS,
        });
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          watchdog.refresh();
          parser.feed(decoder.decode(value, { stream: true }));
        }
        throw new Error('the server ended the flags stream');
      } finally {
        clearTimeout(watchdog);
      }
    } catch (err) {
      if (!this.closed) {
        this.failed('stream', conn.signal.aborted ? conn.signal.reason : err, 'flags stream lost; polling until it is back');
        // An HTTP refusal means the server is there (a poll may well work); anything else, that it is not.
        if (!(err instanceof HttpStatusError)) this.state = 'offline';
      }
    } finally {
      clearTimeout(timer);
      conn.abort();
      this.streamOpen = false;
      if (!this.closed && this.state === 'stream') this.state = 'offline';
    }
    return progressed;
  }

  private onStreamEvent(event: EventSourceMessage): void {
    if (event.data === '') return;
    const result = this.accept(event.data, 'stream');
    const version = this.version;
    if (result === 'applied' && event.id !== undefined && event.id !== String(version)) {
      this.log.debug({ id: event.id, version }, 'stream event id differs from the document version');
    }
  }

  private failed(channel: 'stream' | 'poll', err: unknown, message: string): void {
    const details = { service: this.service, error: describe(err) };
    if (this.failing.has(channel)) {
      this.log.debug(details, message);
    } else {
      this.failing.add(channel);
      // A refused token needs a human; a network blip does not.
      if (configurationError(err)) this.log.error(details, message);
      else this.log.warn(details, message);
    }
  }

  private recovered(channel: 'stream' | 'poll'): void {
    if (this.failing.delete(channel)) this.log.info({ service: this.service }, `flags ${channel === 'poll' ? 'fetch' : channel} recovered`);
  }

  /** Exponential backoff with equal jitter: [d/2, d) where d doubles from the first delay. */
  private backoff(attempt: number): number {
    const first = this.initialDelayMs ?? this.serverRetryMs ?? DEFAULTS.initialDelayMs;
    const d = Math.min(this.maxDelayMs, first * 2 ** Math.min(attempt, 30));
    return d / 2 + (Math.random() * d) / 2;
  }

  /** A timer that `close()` cuts short; unref'd so an idle client never keeps a process alive. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.wakers.add(wake);
    });
  }
}

function errorResolution<T>(flag: string, value: T, errorCode: ClientErrorCode, errorMessage: string): ClientResolution<T> {
  return { flag, value, variant: undefined, reason: 'ERROR', errorCode, errorMessage };
}

/** Starts a client; it fetches at once. Await `ready()` before relying on flag values. */
export function createClient(options: ClientOptions): SwitchyardClient {
  return new Client(options);
}
