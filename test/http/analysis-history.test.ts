import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/sqlite/database.js';
import { SqliteTelemetryStore as TelemetryStore } from '../../src/storage/sqlite/telemetry-store.js';
import { ANALYSIS_HISTORY_MAX } from '../../src/telemetry/guardrail-loop.js';
import { startServer, type Api, type TestServer } from '../helpers/harness.js';
import { errorEvents, flagOf, guardedIntent, placer, sendTelemetry } from '../helpers/rollout-telemetry.js';

/**
 * The analysis over time (docs/telemetry.md "History"): the guardrail loop records a point per tick
 * in which the analysis changed, `?history=true` serves them, and a version keeps at most
 * ANALYSIS_HISTORY_MAX of them, spanning its whole life.
 */
describe('analysis history', () => {
  let s: TestServer;
  let svc: Api;
  let owner: Api;

  beforeAll(async () => {
    s = await startServer();
    svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => s.close());

  it('one point per tick in which the analysis changed, each the analysis of its moment; the plain body has no history', async () => {
    const key = 'hist-rollout';
    expect((await owner.post('/v1/intents', guardedIntent(key, { stages: [{ exposure: 100 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] }))).status).toBe(201);
    const flag = flagOf(key);
    const events = errorEvents({ units: 6000, place: await placer(svc, 'recommendations', flag), flag, base: 0.05, ratio: 1.5 });
    const expected: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await sendTelemetry(svc, 'recommendations', events.slice((i * events.length) / 3, ((i + 1) * events.length) / 3));
      s.clock.advance(10_000);
      await s.container.guardrails.tick();
      const a = (await owner.get(`/v1/intents/${key}/analysis`)).body;
      expected.push({
        at: s.clock.now().toISOString(),
        units: a.units,
        status: a.status,
        guardrails: a.guardrails.map((g: any) => ({ metric: g.metric, arm: g.arm, relative_change: g.relative_change, interval: g.interval, status: g.status })),
      });
      if (a.status === 'regressed') break;
    }
    // a quiet tick (nothing new) records nothing
    s.clock.advance(10_000);
    await s.container.guardrails.tick();

    const res = await owner.get(`/v1/intents/${key}/analysis?history=true`);
    expect(res.status).toBe(200);
    expect(res.body.history).toEqual(expected);
    expect(res.body.history.length).toBeGreaterThanOrEqual(2);
    const plain = (await owner.get(`/v1/intents/${key}/analysis`)).body;
    expect(plain).not.toHaveProperty('history');
    expect((await owner.get(`/v1/intents/${key}/analysis?history=false`)).body).toEqual(plain);
  });

  it('?history= anything else is 400 validation_failed', async () => {
    const res = await owner.get('/v1/intents/hist-rollout/analysis?history=yes');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it(`a version keeps at most ${ANALYSIS_HISTORY_MAX} points, the first and the newest among them, in order`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-history-'));
    const db = openDatabase({ path: path.join(dir, 'db.sqlite') });
    try {
      const store = new TelemetryStore(db);
      const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
      for (let i = 0; i < 1000; i++) {
        expect(await store.appendPoint('x', 1, at(i), { i }, ANALYSIS_HISTORY_MAX)).toBe(true);
        expect((await store.history('x', 1)).length).toBeLessThanOrEqual(ANALYSIS_HISTORY_MAX);
      }
      // an unchanged point is not appended
      expect(await store.appendPoint('x', 1, at(1000), { i: 999 }, ANALYSIS_HISTORY_MAX)).toBe(false);
      const h = (await store.history('x', 1)) as { at: string; i: number }[];
      expect(h[0]).toEqual({ at: at(0), i: 0 });
      expect(h.at(-1)).toEqual({ at: at(999), i: 999 });
      // the newest stretch is whole; the older part is thinned, in order
      expect(h.slice(-ANALYSIS_HISTORY_MAX / 4).map((p) => p.i)).toEqual(Array.from({ length: ANALYSIS_HISTORY_MAX / 4 }, (_, k) => 1000 - ANALYSIS_HISTORY_MAX / 4 + k));
      expect(h.map((p) => p.i)).toEqual([...h.map((p) => p.i)].sort((a, b) => a - b));
      expect(h.length).toBeGreaterThan(ANALYSIS_HISTORY_MAX / 2);
      // another version is its own history
      expect(await store.history('x', 2)).toEqual([]);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
