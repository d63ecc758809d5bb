import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExposureDedup, parseRetryAfter, TelemetrySender, type Delay, type TelemetrySenderOptions } from '../../src/sdk/telemetry.js';
import { memoryLogger, TelemetrySink } from './sdk-helpers.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const HOUR = 3_600_000;

describe('TelemetrySender (against a recording loopback server)', () => {
  let sink: TelemetrySink;
  const senders: TelemetrySender[] = [];
  /** Retry waits, recorded instead of slept: the clock is the only thing mocked. */
  let delays: number[];
  const recordDelay: Delay = (ms) => {
    delays.push(ms);
    return Promise.resolve();
  };

  function sender(opts: Partial<TelemetrySenderOptions> = {}): TelemetrySender {
    const s = new TelemetrySender({
      url: sink.url,
      token: 'svc-secret',
      logger: memoryLogger(),
      now: () => NOW,
      delay: recordDelay,
      random: () => 0.5,
      flushIntervalMs: HOUR,
      ...opts,
    });
    senders.push(s);
    return s;
  }

  beforeEach(async () => {
    delays = [];
    sink = await TelemetrySink.start();
  });
  afterEach(async () => {
    await Promise.all(senders.splice(0).map((s) => s.close()));
    await sink.close();
  });

  it('sends a full batch at once, the rest on flush, in the endpoint’s shape with the token', async () => {
    const s = sender({ batchSize: 3 });
    s.exposure('checkout_flag', 'checkout@1', 'u-1', 'treatment');
    for (let i = 0; i < 6; i++) s.metric('error_rate', `u-${i}`, i % 2);
    await sink.waitForRequests(2);
    expect(sink.requests.map((r) => r.body.events.length)).toEqual([3, 3]);
    expect(s.stats().queued).toBe(7);

    await s.flush();
    expect(sink.requests.map((r) => r.body.events.length)).toEqual([3, 3, 1]);
    expect(sink.requests[0]!.headers['authorization']).toBe('Bearer svc-secret');
    expect(sink.requests[0]!.headers['content-type']).toBe('application/json');
    expect(sink.events[0]).toEqual({ type: 'exposure', flag: 'checkout_flag', unit: 'u-1', variant: 'treatment', at: '2026-12-01T10:00:00.000Z' });
    expect(sink.events[1]).toEqual({ type: 'metric', metric: 'error_rate', unit: 'u-0', value: 0, at: '2026-12-01T10:00:00.000Z' });
    expect(s.stats()).toEqual({ queued: 7, sent: 7, rejected: 0, failed: 0, dropped: 0, deduplicated: 0, invalid: 0, buffered: 0 });
  });

  it('sends a partial batch when the flush interval passes', async () => {
    const s = sender({ batchSize: 100, flushIntervalMs: 20 });
    s.metric('latency_ms', 'u-1', 120);
    await sink.waitForRequests(1);
    expect(sink.events).toEqual([expect.objectContaining({ metric: 'latency_ms', value: 120 })]);
  });

  it('is bounded: past maxBufferedEvents (the batch in flight included) new events are dropped and counted', async () => {
    sink.replies.push('hang');
    const s = sender({ batchSize: 2, maxBufferedEvents: 5, requestTimeoutMs: HOUR, closeTimeoutMs: 50 });
    s.metric('m', 'u-0', 1);
    s.metric('m', 'u-1', 1);
    await sink.waitForRequests(1);
    const results = Array.from({ length: 10 }, (_, i) => s.metric('m', `u-${i + 2}`, 1));
    expect(results).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(s.stats()).toMatchObject({ queued: 5, dropped: 7, buffered: 5, sent: 0 });

    // close() gives up on the hung request at its deadline: the batch in flight failed, the rest is dropped.
    await s.close();
    expect(s.stats()).toMatchObject({ queued: 5, sent: 0, failed: 2, dropped: 10, buffered: 0 });
  });

  it('retries a failed batch with exponential backoff and jitter, then delivers it', async () => {
    sink.replies.push('reset', { status: 503 }, { status: 500 });
    const s = sender({ batchSize: 2, retryBaseDelayMs: 100, maxRetries: 3 });
    s.metric('m', 'u-1', 1);
    s.metric('m', 'u-2', 1);
    await s.flush();
    // Equal jitter with random() = 0.5: d × 3/4 for d = 100, 200, 400.
    expect(delays).toEqual([75, 150, 300]);
    expect(sink.requests).toHaveLength(4);
    expect(sink.requests.every((r) => r.body.events.length === 2)).toBe(true);
    expect(s.stats()).toMatchObject({ sent: 2, failed: 0 });
  });

  it('honours Retry-After on 429 and 503, in seconds or as an HTTP date, capped by maxRetryDelayMs', async () => {
    sink.replies.push(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 503, headers: { 'retry-after': new Date(NOW + 3_000).toUTCString() } },
      { status: 429, headers: { 'retry-after': '3600' } },
    );
    const s = sender({ retryBaseDelayMs: 100, maxRetries: 5, maxRetryDelayMs: 60_000 });
    s.metric('m', 'u-1', 1);
    await s.flush();
    expect(delays).toEqual([7_000, 3_000, 60_000]);
    expect(s.stats()).toMatchObject({ sent: 1, failed: 0 });
  });

  it('gives a batch up after maxRetries, counts it as failed, and goes on with the next one', async () => {
    sink.replies.push({ status: 500 }, { status: 500 }, { status: 500 });
    const s = sender({ batchSize: 2, maxRetries: 2 });
    s.metric('m', 'u-1', 1);
    s.metric('m', 'u-2', 1);
    await s.flush();
    expect(sink.requests).toHaveLength(3);
    expect(s.stats()).toMatchObject({ sent: 0, failed: 2 });
    s.metric('m', 'u-3', 1);
    await s.flush();
    expect(s.stats()).toMatchObject({ sent: 1, failed: 2, buffered: 0 });
  });

  it('does not retry a batch the server refuses (400, 401, 403)', async () => {
    for (const status of [400, 401, 403]) sink.replies.push({ status, body: { code: 'x' } });
    const s = sender({ batchSize: 1 });
    for (let i = 0; i < 3; i++) s.metric('m', `u-${i}`, 1);
    await s.flush();
    expect(sink.requests).toHaveLength(3);
    expect(delays).toEqual([]);
    expect(s.stats()).toMatchObject({ sent: 0, failed: 3 });
  });

  it('counts the events the server rejects one by one', async () => {
    sink.replies.push({ status: 202, body: { accepted: 1, rejected: [{ index: 1, code: 'unknown_flag', message: 'no running experiment' }] } });
    const log = memoryLogger();
    const s = sender({ logger: log });
    s.exposure('gone_flag', 'gone@1', 'u-1', 'treatment');
    s.exposure('live_flag', 'live@1', 'u-1', 'treatment');
    await s.flush();
    expect(s.stats()).toMatchObject({ sent: 1, rejected: 1, failed: 0 });
    expect(log.entries.some((e) => e.level === 'warn' && e.details['code'] === 'unknown_flag')).toBe(true);
  });

  it('close() sends what is buffered, then drops (and counts) anything offered after', async () => {
    const s = sender({ batchSize: 100 });
    for (let i = 0; i < 3; i++) s.metric('conversion', `u-${i}`, 1);
    await s.close();
    expect(sink.events.map((e) => e['unit'])).toEqual(['u-0', 'u-1', 'u-2']);
    expect(s.metric('conversion', 'u-9', 1)).toBe(false);
    expect(s.stats()).toMatchObject({ sent: 3, dropped: 1, buffered: 0 });
    await s.flush();
    expect(sink.requests).toHaveLength(1);
  });

  it('sends each (flag, experiment, unit, variant) exposure once', async () => {
    const s = sender({ exposureDedupSize: 100 });
    expect(s.exposure('f', 'exp@1', 'u-1', 'treatment')).toBe(true);
    expect(s.exposure('f', 'exp@1', 'u-1', 'treatment')).toBe(false);
    expect(s.exposure('f', 'exp@2', 'u-1', 'treatment')).toBe(true);
    expect(s.exposure('f', 'exp@1', 'u-2', 'treatment')).toBe(true);
    await s.flush();
    expect(sink.events).toHaveLength(3);
    expect(s.stats()).toMatchObject({ queued: 3, sent: 3, deduplicated: 1 });
  });

  it('refuses, when recorded, an event that would make the endpoint refuse its whole batch', async () => {
    const s = sender();
    const refused = [
      s.metric('m', 'u-1', Number.NaN),
      s.metric('m', 'u-1', Number.POSITIVE_INFINITY),
      s.metric('m', 'u'.repeat(257), 1),
      s.metric('m', '', 1),
      s.metric('x'.repeat(129), 'u-1', 1),
      s.metric('bad\nname', 'u-1', 1),
      s.exposure('f', 'exp@1', 'u'.repeat(257), 'control'),
    ];
    expect(refused.every((queued) => !queued)).toBe(true);
    expect(s.metric('x'.repeat(128), 'u'.repeat(256), 1)).toBe(true);
    await s.flush();
    expect(sink.events).toHaveLength(1);
    expect(s.stats()).toMatchObject({ queued: 1, sent: 1, invalid: 7 });
  });

  it('forgets a dropped exposure, so it is offered again once there is room', async () => {
    sink.replies.push('hang');
    const s = sender({ batchSize: 1, maxBufferedEvents: 1, requestTimeoutMs: HOUR, closeTimeoutMs: 20 });
    s.exposure('f', 'exp@1', 'u-1', 'control');
    await sink.waitForRequests(1);
    expect(s.exposure('f', 'exp@1', 'u-2', 'control')).toBe(false);
    expect(s.stats()).toMatchObject({ dropped: 1, deduplicated: 0 });
    expect(s.exposure('f', 'exp@1', 'u-2', 'control')).toBe(false);
    // Dropped twice, not deduplicated: the first drop did not mark it as sent.
    expect(s.stats()).toMatchObject({ dropped: 2, deduplicated: 0 });
  });

  it('refuses a batch size above the endpoint’s 10,000 events', () => {
    expect(() => sender({ batchSize: 10_001 })).toThrow(RangeError);
    expect(() => sender({ maxBufferedEvents: 0 })).toThrow(RangeError);
  });
});

describe('ExposureDedup', () => {
  it('forgets the least recently seen key first', () => {
    const d = new ExposureDedup(2);
    expect(d.offer('a')).toBe(true);
    expect(d.offer('b')).toBe(true);
    expect(d.offer('a')).toBe(false); // a is now the most recent
    expect(d.offer('c')).toBe(true); // evicts b
    expect(d.offer('a')).toBe(false);
    expect(d.offer('b')).toBe(true);
  });

  it('with capacity 0 lets everything through', () => {
    const d = new ExposureDedup(0);
    expect([d.offer('a'), d.offer('a')]).toEqual([true, true]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores anything else', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 5_000).toUTCString(), NOW)).toBe(5_000);
    expect(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});
