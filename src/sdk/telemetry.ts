/**
 * Telemetry for guarded rollouts (SPEC §10.1): exposures and metric events, batched to
 * `POST /v1/services/{service}/telemetry`.
 *
 * The rule this module exists to keep: telemetry never blocks, slows or breaks an evaluation.
 * `enqueue` is a bounds check and an array push (no await, no I/O, never throws); everything that
 * can wait (the network, retries, a server that hangs) happens in one background sender that owns
 * at most one request at a time. When the buffer is full new events are dropped and counted,
 * rather than growing memory or applying back-pressure to the caller.
 *
 * Delivery is at most once per event: a batch is retried on network errors, 408, 429 and 5xx
 * (honouring `Retry-After`), a bounded number of times, then given up and counted as failed.
 * A retry may resend a batch the server had in fact stored (the answer was lost); the server's
 * per-unit state makes a repeated exposure harmless, and a repeated metric value is rare enough
 * to accept.
 */
import type { SdkLogger } from './client.js';

/** One event as the endpoint takes it, with `at` kept as epoch milliseconds until it is sent. */
export type TelemetryEvent =
  | { readonly type: 'exposure'; readonly flag: string; readonly unit: string; readonly variant: string; readonly at: number }
  | { readonly type: 'metric'; readonly metric: string; readonly unit: string; readonly value: number; readonly at: number };

export interface TelemetryOptions {
  /** Events held in memory at most, the batch being sent included; beyond it new events are dropped. Default 10 000. */
  maxBufferedEvents?: number;
  /** Events per request, at most 10 000 (the endpoint's limit). A full batch is sent at once. Default 1 000. */
  batchSize?: number;
  /** A partial batch is sent this long after its first event. Default 5 000 ms. */
  flushIntervalMs?: number;
  /** Retries of a failed batch before it is given up. Default 3. */
  maxRetries?: number;
  /** First retry delay; it doubles (with jitter) up to `maxRetryDelayMs`. Default 1 000 ms. */
  retryBaseDelayMs?: number;
  /** Longest wait before a retry, a server's `Retry-After` included. Default 60 000 ms. */
  maxRetryDelayMs?: number;
  /** Deadline of one request. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** How long `close()` may spend sending what is buffered. Default 5 000 ms. */
  closeTimeoutMs?: number;
  /**
   * How many (flag, experiment, unit, variant) exposures are remembered so each is sent once per
   * process; the least recently seen is forgotten first. `0` sends every exposure. Default 10 000.
   */
  exposureDedupSize?: number;
  /** The context attribute that names the unit of a metric event (else `targetingKey`). Default `user_id`. */
  unitAttribute?: string;
  /** The clock that stamps `at`, in epoch milliseconds (tests, replays). Default `Date.now`. */
  now?: () => number;
}

export interface TelemetryStats {
  /** Events taken into the buffer. */
  queued: number;
  /** Events the server accepted (`accepted` of its 202 answers). */
  sent: number;
  /** Events the server refused one by one (`rejected` of its 202 answers, e.g. `unknown_flag`). */
  rejected: number;
  /** Events given up after the server or the network failed (retries exhausted, or a 4xx). */
  failed: number;
  /** Events never sent: the buffer was full, the sender was closed, or `close()` ran out of time. */
  dropped: number;
  /** Exposures not queued because the same one was sent recently (see `exposureDedupSize`). */
  deduplicated: number;
  /**
   * Events refused when recorded because the endpoint would refuse the whole batch for them
   * (a 400 keeps nothing): a unit of more than 256 characters, a metric name that is not 1 to 128
   * characters without control characters, a value that is not a finite number.
   */
  invalid: number;
  /** Events in memory now, the batch in flight included. */
  buffered: number;
}

/** Injected in tests so backoff can be checked without waiting; resolves early when `signal` aborts. */
export type Delay = (ms: number, signal: AbortSignal) => Promise<void>;

export interface TelemetrySenderOptions extends TelemetryOptions {
  /** `…/v1/services/{service}/telemetry`. */
  url: string;
  token: string;
  fetch?: typeof globalThis.fetch;
  logger: SdkLogger;
  delay?: Delay;
  /** Jitter source in [0, 1) (tests). */
  random?: () => number;
}

/** The endpoint's per-request limit (SPEC §10.1). */
export const MAX_BATCH_SIZE = 10_000;

/** The endpoint's field limits: one event outside them makes the whole request a 400. */
const MAX_UNIT_CHARS = 256;
const MAX_NAME_CHARS = 128;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function validUnit(unit: string): boolean {
  return unit.length >= 1 && unit.length <= MAX_UNIT_CHARS;
}

function validName(name: string): boolean {
  return typeof name === 'string' && name.length >= 1 && name.length <= MAX_NAME_CHARS && !CONTROL.test(name);
}

export const TELEMETRY_DEFAULTS = {
  maxBufferedEvents: 10_000,
  batchSize: 1_000,
  flushIntervalMs: 5_000,
  maxRetries: 3,
  retryBaseDelayMs: 1_000,
  maxRetryDelayMs: 60_000,
  requestTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  exposureDedupSize: 10_000,
  unitAttribute: 'user_id',
} as const;

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`telemetry.${name} must be a positive integer, got ${String(value)}`);
  return v;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && v >= 0)) throw new RangeError(`telemetry.${name} must be a number >= 0, got ${String(value)}`);
  return v;
}

/** A timer that resolves early on abort, unref'd so it never keeps a process alive. */
const realDelay: Delay = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });

/** `Retry-After` as milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type Outcome =
  | { kind: 'delivered'; accepted: number; rejected: readonly { code?: unknown }[] }
  | { kind: 'retry'; afterMs: number | undefined; why: string }
  | { kind: 'give_up'; why: string };

/**
 * Remembers recently sent exposures, least recently seen evicted first (a `Map` keeps insertion
 * order, so delete-and-set moves a key to the young end in O(1)).
 */
export class ExposureDedup {
  private readonly seen = new Map<string, true>();
  constructor(private readonly capacity: number) {}

  /** True the first time `key` is offered (or again once it was evicted); marks it seen. */
  offer(key: string): boolean {
    if (this.capacity === 0) return true;
    if (this.seen.delete(key)) {
      this.seen.set(key, true);
      return false;
    }
    this.seen.set(key, true);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }

  /** Forgets `key`, so an exposure that could not be queued is offered again next time. */
  forget(key: string): void {
    this.seen.delete(key);
  }
}

export class TelemetrySender {
  readonly unitAttribute: string;
  private readonly url: string;
  private readonly token: string;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly log: SdkLogger;
  private readonly now: () => number;
  private readonly delay: Delay;
  private readonly random: () => number;
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly dedup: ExposureDedup;

  private queue: TelemetryEvent[] = [];
  private inFlight = 0;
  /** Events ever queued, and ever taken out (sent, rejected, failed or dropped at close). */
  private queuedTotal = 0;
  private settledTotal = 0;
  /** The sender keeps going while fewer than this many events have been settled. */
  private flushTarget = 0;
  private pump: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** Aborted when `close()` runs out of time: cuts the request in flight and any retry wait. */
  private readonly stop = new AbortController();
  private dropping = false;
  private readonly loggedCodes = new Set<string>();
  private readonly counts = { sent: 0, rejected: 0, failed: 0, dropped: 0, deduplicated: 0, invalid: 0 };

  constructor(opts: TelemetrySenderOptions) {
    this.url = opts.url;
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.delay = opts.delay ?? realDelay;
    this.random = opts.random ?? Math.random;
    this.maxBuffered = positiveInt(opts.maxBufferedEvents, TELEMETRY_DEFAULTS.maxBufferedEvents, 'maxBufferedEvents');
    const batchSize = positiveInt(opts.batchSize, TELEMETRY_DEFAULTS.batchSize, 'batchSize');
    if (batchSize > MAX_BATCH_SIZE) throw new RangeError(`telemetry.batchSize must be at most ${MAX_BATCH_SIZE}, got ${batchSize}`);
    this.batchSize = Math.min(batchSize, this.maxBuffered);
    this.flushIntervalMs = positiveInt(opts.flushIntervalMs, TELEMETRY_DEFAULTS.flushIntervalMs, 'flushIntervalMs');
    this.maxRetries = nonNegative(opts.maxRetries, TELEMETRY_DEFAULTS.maxRetries, 'maxRetries');
    this.retryBaseDelayMs = nonNegative(opts.retryBaseDelayMs, TELEMETRY_DEFAULTS.retryBaseDelayMs, 'retryBaseDelayMs');
    this.maxRetryDelayMs = nonNegative(opts.maxRetryDelayMs, TELEMETRY_DEFAULTS.maxRetryDelayMs, 'maxRetryDelayMs');
    this.requestTimeoutMs = positiveInt(opts.requestTimeoutMs, TELEMETRY_DEFAULTS.requestTimeoutMs, 'requestTimeoutMs');
    this.closeTimeoutMs = nonNegative(opts.closeTimeoutMs, TELEMETRY_DEFAULTS.closeTimeoutMs, 'closeTimeoutMs');
    this.dedup = new ExposureDedup(nonNegative(opts.exposureDedupSize, TELEMETRY_DEFAULTS.exposureDedupSize, 'exposureDedupSize'));
    this.unitAttribute = opts.unitAttribute ?? TELEMETRY_DEFAULTS.unitAttribute;
  }

  stats(): TelemetryStats {
    return { queued: this.queuedTotal, ...this.counts, buffered: this.queue.length + this.inFlight };
  }

  /**
   * Queues an exposure unless the same (flag, experiment, unit, variant) was queued recently.
   * `experiment` is part of the key so a flag reused by a later experiment is exposed afresh.
   */
  exposure(flag: string, experiment: string, unit: string, variant: string): boolean {
    if (!validUnit(unit) || !validName(flag) || !validName(variant)) {
      this.counts.invalid++;
      return false;
    }
    const key = `${flag}\u0000${experiment}\u0000${unit}\u0000${variant}`;
    if (!this.dedup.offer(key)) {
      this.counts.deduplicated++;
      return false;
    }
    const queued = this.enqueue({ type: 'exposure', flag, unit, variant, at: this.now() });
    if (!queued) this.dedup.forget(key);
    return queued;
  }

  metric(metric: string, unit: string, value: number): boolean {
    if (!validUnit(unit) || !validName(metric) || typeof value !== 'number' || !Number.isFinite(value)) {
      this.counts.invalid++;
      return false;
    }
    return this.enqueue({ type: 'metric', metric, unit, value, at: this.now() });
  }

  /** O(1), never throws, never waits. False when the event was dropped. */
  enqueue(event: TelemetryEvent): boolean {
    if (this.closed || this.queue.length + this.inFlight >= this.maxBuffered) {
      this.counts.dropped++;
      if (!this.dropping && !this.closed) {
        this.dropping = true;
        this.log.warn({ url: this.url, maxBufferedEvents: this.maxBuffered }, 'telemetry buffer full: dropping events until it drains');
      }
      return false;
    }
    this.dropping = false;
    this.queue.push(event);
    this.queuedTotal++;
    // Not awaited: enqueue never waits. drain() settles each batch itself; a rejection (a throwing
    // injected delay) is logged here rather than left unhandled.
    if (this.queue.length >= this.batchSize) this.kick().catch((err: unknown) => this.log.warn({ url: this.url, error: describe(err) }, 'telemetry sender failed'));
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
    return true;
  }

  /** Sends everything queued so far (retries included); resolves when each of it is settled. */
  async flush(): Promise<void> {
    const target = this.queuedTotal;
    this.flushTarget = Math.max(this.flushTarget, target);
    while (this.settledTotal < target && !this.stop.signal.aborted) await this.kick();
  }

  /**
   * Stops taking events, sends what is buffered within `closeTimeoutMs`, then cuts the rest
   * (counted as dropped). Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.closeTimeoutMs);
    timer.unref();
    try {
      await Promise.race([this.flush(), new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve(), { once: true }))]);
    } finally {
      clearTimeout(timer);
    }
    if (this.settledTotal < this.queuedTotal) {
      this.stop.abort();
      await this.pump;
      const left = this.queue.length;
      if (left > 0) {
        this.counts.dropped += left;
        this.settledTotal += left;
        this.queue = [];
      }
      this.log.warn({ url: this.url, closeTimeoutMs: this.closeTimeoutMs, dropped: left }, 'telemetry not fully sent before close');
    }
  }

  /** Starts the sender unless it runs; returns its run. */
  private kick(): Promise<void> {
    this.pump ??= this.drain().finally(() => {
      this.pump = undefined;
    });
    return this.pump;
  }

  private async drain(): Promise<void> {
    while (!this.stop.signal.aborted && (this.queue.length >= this.batchSize || (this.settledTotal < this.flushTarget && this.queue.length > 0))) {
      // splice is O(n) in what stays queued, but it runs here, off the evaluation path.
      const batch = this.queue.splice(0, this.batchSize);
      this.inFlight = batch.length;
      try {
        await this.deliver(batch);
      } finally {
        this.inFlight = 0;
        this.settledTotal += batch.length;
      }
    }
  }

  private async deliver(batch: readonly TelemetryEvent[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.post(batch);
      if (outcome.kind === 'delivered') {
        this.counts.sent += outcome.accepted;
        this.counts.rejected += outcome.rejected.length;
        this.noteRejections(outcome.rejected);
        return;
      }
      const giveUp = outcome.kind === 'give_up' || attempt >= this.maxRetries || this.stop.signal.aborted;
      if (giveUp) {
        this.counts.failed += batch.length;
        this.log.warn({ url: this.url, events: batch.length, attempts: attempt + 1, error: outcome.why }, 'telemetry batch given up');
        return;
      }
      const wait = Math.min(this.maxRetryDelayMs, outcome.afterMs ?? this.backoff(attempt));
      this.log.debug({ url: this.url, attempt: attempt + 1, waitMs: wait, error: outcome.why }, 'telemetry batch will be retried');
      await this.delay(wait, this.stop.signal);
    }
  }

  /** Exponential backoff with equal jitter: [d/2, d), d = base × 2^attempt. */
  private backoff(attempt: number): number {
    const d = Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** Math.min(attempt, 30));
    return d / 2 + (this.random() * d) / 2;
  }

  private async post(batch: readonly TelemetryEvent[]): Promise<Outcome> {
    const body = JSON.stringify({ events: batch.map(serialize) });
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body,
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
      });
    } catch (err) {
      return { kind: 'retry', afterMs: undefined, why: describe(err) };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      return { kind: 'retry', afterMs: undefined, why: describe(err) };
    }
    if (res.status === 202 || res.status === 200) {
      const answer = parseAnswer(text);
      const rejected = answer?.rejected ?? [];
      return { kind: 'delivered', accepted: answer?.accepted ?? batch.length - rejected.length, rejected };
    }
    const why = `POST ${this.url} answered ${res.status}${problemCode(text)}`;
    if (res.status === 429 || res.status === 503) {
      return { kind: 'retry', afterMs: parseRetryAfter(res.headers.get('retry-after'), this.now()), why };
    }
    if (res.status === 408 || res.status >= 500) return { kind: 'retry', afterMs: undefined, why };
    // 400, 401, 403, 404, 413: sending the same batch again cannot succeed.
    if (!this.loggedCodes.has(`http ${res.status}`)) {
      this.loggedCodes.add(`http ${res.status}`);
      this.log.error({ url: this.url, status: res.status }, `telemetry refused: ${why}`);
    }
    return { kind: 'give_up', why };
  }

  /** The first rejection of each code is worth a warning (a wrong flag or metric name); the rest are noise. */
  private noteRejections(rejected: readonly { code?: unknown; message?: unknown }[]): void {
    for (const r of rejected) {
      const code = typeof r.code === 'string' ? r.code : 'unknown';
      if (this.loggedCodes.has(code)) continue;
      this.loggedCodes.add(code);
      this.log.warn({ url: this.url, code, message: r.message }, 'telemetry event rejected by the server');
    }
  }
}

function serialize(event: TelemetryEvent): Record<string, unknown> {
  return { ...event, at: new Date(event.at).toISOString() };
}

function parseAnswer(text: string): { accepted?: number; rejected?: { code?: unknown; message?: unknown }[] } | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { accepted, rejected } = parsed as Record<string, unknown>;
    return {
      ...(typeof accepted === 'number' && Number.isInteger(accepted) && accepted >= 0 ? { accepted } : {}),
      ...(Array.isArray(rejected) ? { rejected: rejected.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null) } : {}),
    };
  } catch {
    return undefined;
  }
}

function problemCode(text: string): string {
  try {
    const code = (JSON.parse(text) as Record<string, unknown>)['code'];
    return typeof code === 'string' ? ` (${code})` : '';
  } catch {
    return '';
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
