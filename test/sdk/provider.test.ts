import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type EventDetails } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, SwitchyardProvider, type SwitchyardClient } from '../../src/sdk/index.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { act, contexts, launch, memoryLogger, serviceToken } from './sdk-helpers.js';

const CONTEXTS = contexts(300);

describe('SwitchyardProvider (OpenFeature server SDK)', () => {
  let s: TestServer;
  let token: string;
  let provider: SwitchyardProvider;
  let reference: SwitchyardClient;

  beforeAll(async () => {
    s = await startServer();
    await launch(s, 'of-string', { exposure: 50 });
    await launch(s, 'of-bool', {
      exposure: 50,
      variants: [
        { key: 'off', weight: 50, value: false },
        { key: 'on', weight: 50, value: true },
      ],
    });
    await launch(s, 'of-number', {
      exposure: 50,
      variants: [
        { key: 'small', weight: 50, value: 10 },
        { key: 'large', weight: 50, value: 25 },
      ],
    });
    await launch(s, 'of-object', {
      exposure: 50,
      variants: [
        { key: 'plain', weight: 50, value: { layout: 'plain', columns: 1 } },
        { key: 'grid', weight: 50, value: { layout: 'grid', columns: 3 } },
      ],
    });
    await launch(s, 'of-paused');
    await act(s, 'of-paused', 'pause');
    token = await serviceToken(s);
    // Polling, so the provider's behaviour here does not depend on the stream transport.
    provider = new SwitchyardProvider({ baseUrl: s.base, service: 'web', token, mode: 'poll', pollIntervalMs: 20, logger: memoryLogger() });
    await OpenFeature.setProviderAndWait(provider);
    reference = createClient({ baseUrl: s.base, service: 'web', token, mode: 'poll', pollIntervalMs: 60_000, logger: memoryLogger() });
    await reference.ready();
  });
  afterAll(async () => {
    await reference.close();
    await OpenFeature.close();
    await s.close();
  });

  it('is ready with metadata name "switchyard"', () => {
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.metadata.providerMetadata.name).toBe('switchyard');
  });

  it('gives the same value, variant and reason as the SDK client for every flag type', async () => {
    const client = OpenFeature.getClient();
    const reasons = new Set<string>();
    for (const ctx of CONTEXTS) {
      const checks = [
        [await client.getStringDetails('of_string_flag', 'fallback', ctx), reference.evaluate('of_string_flag', ctx, 'fallback')],
        [await client.getBooleanDetails('of_bool_flag', false, ctx), reference.evaluate('of_bool_flag', ctx, false)],
        [await client.getNumberDetails('of_number_flag', 0, ctx), reference.evaluate('of_number_flag', ctx, 0)],
        [await client.getObjectDetails('of_object_flag', {}, ctx), reference.evaluate('of_object_flag', ctx, {})],
        [await client.getStringDetails('of_paused_flag', 'fallback', ctx), reference.evaluate('of_paused_flag', ctx, 'fallback')],
      ] as const;
      for (const [details, expected] of checks) {
        reasons.add(details.errorCode ?? details.reason ?? '');
        expect(details).toMatchObject({ value: expected.value, reason: expected.reason });
        if (expected.reason !== 'ERROR') expect(details.variant).toBe(expected.variant);
        else expect(details.errorCode).toBe(expected.errorCode);
      }
    }
    expect([...reasons].sort()).toEqual(['DEFAULT', 'DISABLED', 'SPLIT', 'TARGETING_KEY_MISSING']);
    expect(await client.getBooleanValue('of_bool_flag', false, { user_id: 'user-3' })).toBe(
      reference.evaluate('of_bool_flag', { user_id: 'user-3' }, false).value,
    );
  });

  it('describes the answering experiment in flagMetadata', async () => {
    const details = await OpenFeature.getClient().getStringDetails('of_string_flag', '', { user_id: 'user-1' });
    expect(details.flagMetadata).toEqual({ flagsVersion: reference.version, experimentKey: 'of-string', experimentVersion: 1 });
  });

  it('maps errors to OpenFeature error codes and returns the default value', async () => {
    const client = OpenFeature.getClient();
    const ctx = { user_id: 'user-1' };
    expect(await client.getBooleanDetails('of_string_flag', true, ctx)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getNumberDetails('of_object_flag', 7, ctx)).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getObjectDetails('of_number_flag', { a: 1 }, ctx)).toMatchObject({ value: { a: 1 }, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getStringDetails('no_such_flag', 'x', ctx)).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await client.getStringDetails('of_string_flag', 'x', { locale: 'en-US' })).toMatchObject({
      value: 'x',
      errorCode: ErrorCode.TARGETING_KEY_MISSING,
    });
    // The unit may also come as OpenFeature's targetingKey.
    expect((await client.getStringDetails('of_string_flag', 'x', { targetingKey: 'user-1' })).value).toBe(
      reference.evaluate('of_string_flag', { user_id: 'user-1' }, 'x').value,
    );
  });

  it('emits ConfigurationChanged with the changed flags when the server changes', async () => {
    const seen = new Promise<EventDetails<ProviderEvents.ConfigurationChanged>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ConfigurationChanged within 8 s')), 8_000);
      const handler = (details?: EventDetails<ProviderEvents.ConfigurationChanged>) => {
        clearTimeout(timer);
        OpenFeature.removeHandler(ProviderEvents.ConfigurationChanged, handler);
        resolve(details!);
      };
      OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, handler);
    });
    await act(s, 'of-string', 'pause');
    const details = await seen;
    expect(details.flagsChanged).toEqual(['of_string_flag']);
    expect(details.providerName).toBe('switchyard');
    expect(await OpenFeature.getClient().getStringDetails('of_string_flag', '', { user_id: 'user-1' })).toMatchObject({
      reason: 'DISABLED',
      variant: 'control',
      value: 'off',
    });
  });

  it('reports ERROR when the first state does not arrive in time, then READY when it does', async () => {
    let reachable = false;
    const gated: typeof fetch = (url, init) => (reachable ? fetch(url, init) : Promise.reject(new TypeError('fetch failed')));
    const late = new SwitchyardProvider({
      baseUrl: s.base,
      service: 'web',
      token,
      fetch: gated,
      mode: 'poll',
      pollIntervalMs: 20,
      readyTimeoutMs: 50,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
      logger: memoryLogger(),
    });
    await expect(OpenFeature.setProviderAndWait('late', late)).rejects.toMatchObject({ code: 'not_ready' });
    const client = OpenFeature.getClient('late');
    expect(client.providerStatus).toBe(ProviderStatus.ERROR);
    expect(await client.getStringDetails('of_number_flag', 'x', { user_id: 'u' })).toMatchObject({
      value: 'x',
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });

    const ready = new Promise<void>((resolve) => client.addHandler(ProviderEvents.Ready, () => resolve()));
    reachable = true;
    await ready;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect((await client.getNumberDetails('of_number_flag', 0, { user_id: 'user-1' })).errorCode).toBeUndefined();
  });

  it('closes its client when OpenFeature shuts the provider down', async () => {
    const own = new SwitchyardProvider({ baseUrl: s.base, service: 'web', token, mode: 'poll', logger: memoryLogger() });
    await OpenFeature.setProviderAndWait('own', own);
    expect(own.client.connection).toBe('poll');
    await OpenFeature.setProviderAndWait('own', new SwitchyardProvider({ client: reference }));
    expect(own.client.connection).toBe('closed');
  });
});
