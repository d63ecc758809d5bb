import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateFlag, type FlagState } from '../../src/evaluation/index.js';
import { createClient, SwitchyardProvider, type SwitchyardClient } from '../../src/sdk/index.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { act, contexts, demoDocument, launch, memoryLogger, serviceToken, TelemetrySink } from './sdk-helpers.js';

const HOUR = 3_600_000;

/** What §6 step 2 hashes: `ctx[unit] ?? targetingKey`, numbers printed as JSON prints them. */
function unitOf(ctx: Record<string, unknown>, attribute: string): string {
  const raw = ctx[attribute] ?? ctx['targetingKey'];
  return String(raw);
}

function withoutAt(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.map(({ at, ...rest }) => {
    expect(typeof at).toBe('string');
    expect(Number.isNaN(Date.parse(at as string))).toBe(false);
    return rest;
  });
}

const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));

describe('SDK telemetry against the real server (telemetry sent to a recording sink)', () => {
  let s: TestServer;
  let token: string;
  let sink: TelemetrySink;
  let reference: SwitchyardClient;
  /** The real server for flags, the sink for `…/telemetry`: both over real HTTP on loopback. */
  let toSink: typeof fetch;

  beforeAll(async () => {
    s = await startServer();
    await launch(s, 'tel-a', { exposure: 50 });
    await launch(s, 'tel-paused', { exposure: 50 });
    await act(s, 'tel-paused', 'pause');
    token = await serviceToken(s);
    reference = createClient({ baseUrl: s.base, service: 'web', token, mode: 'poll', pollIntervalMs: HOUR, telemetry: false, logger: memoryLogger() });
    await reference.ready();
  });
  beforeEach(async () => {
    sink = await TelemetrySink.start();
    toSink = (url, init) => (String(url).endsWith('/telemetry') ? fetch(sink.url, init) : fetch(url, init));
  });
  afterEach(async () => {
    await OpenFeature.close();
    await sink.close();
  });
  afterAll(async () => {
    await reference.close();
    await s.close();
  });

  it('the provider’s hook sends one exposure per split evaluation, for the unit §6 hashes, and nothing else', async () => {
    const provider = new SwitchyardProvider({
      baseUrl: s.base,
      service: 'web',
      token,
      mode: 'poll',
      pollIntervalMs: HOUR,
      fetch: toSink,
      logger: memoryLogger(),
      telemetry: { flushIntervalMs: HOUR },
    });
    await OpenFeature.setProviderAndWait('tel', provider);
    const flags = OpenFeature.getClient('tel');
    // contexts() never carries both a user_id and a targetingKey; these do, and user_id must win.
    const ctxs: Record<string, string | number>[] = [...contexts(300), ...Array.from({ length: 40 }, (_, i) => ({ user_id: `both-${i}`, targetingKey: `tk-both-${i}` }))];
    const expected: Record<string, unknown>[] = [];
    for (const ctx of ctxs) {
      for (const flag of ['tel_a_flag', 'tel_paused_flag']) {
        // Twice: the second is deduplicated.
        await flags.getStringDetails(flag, 'fallback', ctx);
        await flags.getStringDetails(flag, 'fallback', ctx);
        const r = reference.evaluate(flag, ctx, 'fallback');
        if (r.reason === 'SPLIT') expected.push({ type: 'exposure', flag, unit: unitOf(ctx, 'user_id'), variant: r.variant });
      }
    }
    await provider.client.flushTelemetry();

    // The contexts cover both fallbacks of §6 step 2, and both arms.
    expect(expected.some((e) => String(e['unit']).startsWith('tk-'))).toBe(true);
    expect(expected.some((e) => String(e['unit']).startsWith('both-'))).toBe(true);
    expect(expected.some((e) => /^\d+$/.test(String(e['unit'])))).toBe(true);
    expect(new Set(expected.map((e) => e['variant']))).toEqual(new Set(['control', 'treatment']));
    expect(withoutAt(sink.events).sort(byJson)).toEqual(expected.sort(byJson));
    expect(provider.client.telemetryStats()).toMatchObject({ sent: expected.length, deduplicated: expected.length, dropped: 0, failed: 0 });
  });

  it('the provider’s track() (OpenFeature Tracking API) sends metric events for the unit attribute, else targetingKey', async () => {
    const provider = new SwitchyardProvider({ baseUrl: s.base, service: 'web', token, mode: 'poll', fetch: toSink, logger: memoryLogger() });
    await OpenFeature.setProviderAndWait('tel', provider);
    const flags = OpenFeature.getClient('tel');
    flags.track('error_rate', { user_id: 'u-1' }, { value: 0 });
    flags.track('conversion', { targetingKey: 'tk-1' });
    flags.track('latency_ms', { user_id: 42, targetingKey: 'ignored' }, { value: 12.5 });
    flags.track('conversion', { locale: 'en-US' }); // no unit: not sent
    await provider.client.flushTelemetry();
    expect(withoutAt(sink.events)).toEqual([
      { type: 'metric', metric: 'error_rate', unit: 'u-1', value: 0 },
      { type: 'metric', metric: 'conversion', unit: 'tk-1', value: 1 },
      { type: 'metric', metric: 'latency_ms', unit: '42', value: 12.5 },
    ]);
  });

  it('the client’s exposure() and track() work without OpenFeature, and close() sends what is buffered', async () => {
    const client = createClient({
      baseUrl: s.base,
      service: 'web',
      token,
      mode: 'poll',
      fetch: toSink,
      logger: memoryLogger(),
      telemetry: { flushIntervalMs: HOUR, unitAttribute: 'account' },
    });
    await client.ready();
    const split = contexts(100).find((ctx) => reference.evaluate('tel_a_flag', ctx, '').reason === 'SPLIT')!;
    const outside = contexts(100).find((ctx) => reference.evaluate('tel_a_flag', ctx, '').reason === 'DEFAULT')!;
    const r = client.evaluate('tel_a_flag', split, '');
    expect(client.exposure(r, split)).toBe(true);
    expect(client.exposure(client.evaluate('tel_a_flag', outside, ''), outside)).toBe(false);
    expect(client.exposure(client.evaluate('tel_paused_flag', split, ''), split)).toBe(false);
    expect(client.exposure(client.evaluate('no_such_flag', split, ''), split)).toBe(false);
    // A variant the flag does not split into is never reported.
    expect(client.exposure({ flag: 'tel_a_flag', variant: 'nope', reason: 'SPLIT' }, split)).toBe(false);
    expect(client.track('conversion', { account: 'acct-7', user_id: 'u-7' })).toBe(true);
    await client.close();
    expect(withoutAt(sink.events)).toEqual([
      { type: 'exposure', flag: 'tel_a_flag', unit: unitOf(split, 'user_id'), variant: r.variant },
      { type: 'metric', metric: 'conversion', unit: 'acct-7', value: 1 },
    ]);
  });

  it('with telemetry off, nothing is sent and the provider has no hook', async () => {
    const provider = new SwitchyardProvider({ baseUrl: s.base, service: 'web', token, mode: 'poll', fetch: toSink, logger: memoryLogger(), telemetry: false });
    await OpenFeature.setProviderAndWait('tel', provider);
    expect(provider.hooks).toEqual([]);
    OpenFeature.getClient('tel').track('conversion', { user_id: 'u-1' });
    expect(provider.client.telemetryStats()).toBeUndefined();
    await OpenFeature.close();
    expect(sink.requests).toEqual([]);
  });
});

describe('SDK telemetry never slows an evaluation', () => {
  let sink: TelemetrySink;
  beforeEach(async () => {
    sink = await TelemetrySink.start(demoDocument(1));
  });
  afterEach(async () => {
    await OpenFeature.close();
    await sink.close();
  });

  it('evaluations return while the telemetry endpoint never answers, and the buffer drops past its bound', async () => {
    // The sink serves flags but never answers a telemetry POST.
    for (let i = 0; i < 100; i++) sink.replies.push('hang');
    const provider = new SwitchyardProvider({
      baseUrl: sink.base,
      service: 'web',
      token: 't',
      mode: 'poll',
      pollIntervalMs: HOUR,
      logger: memoryLogger(),
      telemetry: { maxBufferedEvents: 50, batchSize: 10, flushIntervalMs: HOUR, requestTimeoutMs: HOUR, closeTimeoutMs: 100 },
    });
    await OpenFeature.setProviderAndWait('hang', provider);
    const flags = OpenFeature.getClient('hang');
    const flag = (demoDocument(1)['flags'] as Record<string, FlagState>)['demo_flag']!;
    const evaluateAll = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const ctx = { user_id: `user-${i}` };
        const details = await flags.getStringDetails('demo_flag', 'fallback', ctx);
        const expected = evaluateFlag('demo_flag', flag, ctx);
        expect(details).toMatchObject({ value: expected.value, variant: expected.variant, reason: 'SPLIT' });
      }
    };
    // The first full batch goes out, and the server holds that request open...
    await evaluateAll(0, 10);
    await sink.waitForRequests(1);
    // ...while a thousand more evaluations complete (were any of them waiting on telemetry, this would hang).
    await evaluateAll(10, 1000);
    expect(provider.client.telemetryStats()).toMatchObject({ queued: 50, dropped: 950, buffered: 50, sent: 0 });
    expect(sink.requests).toHaveLength(1);

    // Closing gives up at its deadline rather than waiting for the hung request.
    await OpenFeature.close();
    expect(provider.client.telemetryStats()).toMatchObject({ queued: 50, failed: 10, dropped: 990, buffered: 0 });
  });
});
