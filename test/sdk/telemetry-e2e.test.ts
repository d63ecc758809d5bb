/**
 * End to end: exposures from the OpenFeature provider reach the real `POST …/telemetry` route
 * (SPEC §10.1) and the server's analysis (§10.2) counts the units, in the arms the SDK served.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, SwitchyardProvider } from '../../src/sdk/index.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { launch, memoryLogger, serviceToken } from './sdk-helpers.js';

describe('SDK telemetry → server analysis', () => {
  let s: TestServer;
  let token: string;

  beforeAll(async () => {
    s = await startServer();
    await launch(s, 'tel-e2e', { exposure: 50 });
    token = await serviceToken(s);
  });
  afterAll(async () => {
    await OpenFeature.close();
    await s.close();
  });

  it('counts every unit the provider exposed, in the arm it served, with no assignment mismatch', async () => {
    const logger = memoryLogger();
    const provider = new SwitchyardProvider({
      baseUrl: s.base,
      service: 'web',
      token,
      mode: 'poll',
      logger,
      // Stamp events with the server's (manual) clock, so `at` is consistent with the experiment's start.
      telemetry: { batchSize: 50, now: () => s.clock.now().getTime() },
    });
    await OpenFeature.setProviderAndWait('e2e', provider);
    const flags = OpenFeature.getClient('e2e');
    const reference = createClient({ baseUrl: s.base, service: 'web', token, mode: 'poll', telemetry: false, logger: memoryLogger() });
    await reference.ready();

    const expected: Record<string, number> = { control: 0, treatment: 0 };
    for (let i = 0; i < 400; i++) {
      const ctx = { user_id: `e2e-user-${i}` };
      const details = await flags.getStringDetails('tel_e2e_flag', 'fallback', ctx);
      await flags.getStringDetails('tel_e2e_flag', 'fallback', ctx);
      if (details.reason === 'SPLIT') expected[details.variant!]! += 1;
      expect(details.variant).toBe(reference.evaluate('tel_e2e_flag', ctx, 'fallback').variant);
      flags.track('conversion', ctx, { value: i % 3 === 0 ? 1 : 0 });
    }
    await reference.close();
    await OpenFeature.close(); // flushes the provider's buffer

    const total = expected['control']! + expected['treatment']!;
    expect(expected['control']).toBeGreaterThan(0);
    expect(expected['treatment']).toBeGreaterThan(0);
    expect(provider.client.telemetryStats()).toMatchObject({ sent: total + 400, rejected: 0, failed: 0, dropped: 0 });

    const res = await s.api.get('/v1/intents/tel-e2e/analysis');
    expect(res.status).toBe(200);
    expect(res.body.units).toEqual(expected);
    expect(res.body.assignment_mismatches).toBe(0);
  });
});
