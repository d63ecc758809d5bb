import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { startServer } from '../../helpers/harness.js';

/**
 * The decision benchmark's examples (bench/decisions.ts EXAMPLES) are what its rows say they are on
 * whatever day it runs: pending approval (with a schedule to judge), denied for three reasons,
 * approved. The shipped checkout-redesign has no schedule (docs/dates.md); the bench gives it one
 * from the day it runs, so the decision it times does not turn into a different one with the date.
 * The module is loaded with Date faked to the day (the bench runs on the system clock), and judged
 * by the real policy on a server whose clock is that day.
 */
describe('the decision benchmark judges the same three decisions on any date', () => {
  for (const at of ['2026-11-30T09:00:00Z', '2031-06-01T09:00:00Z']) {
    it(`on ${at.slice(0, 10)}`, async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date(at) });
      let examples: Record<string, any>[];
      try {
        vi.resetModules();
        examples = (await import('../../../bench/decisions.js')).EXAMPLES;
      } finally {
        vi.useRealTimers();
      }
      expect(examples[0]!['schedule']).toEqual({ start: expect.any(String), end: expect.any(String) });
      const s = await startServer({ clock: new ManualClock(at) });
      try {
        const outcomes = [];
        for (const intent of examples) {
          const r = await s.api.post('/v1/intents:evaluate', intent);
          expect(r.status, r.text).toBe(200);
          outcomes.push([intent['key'], r.body.status, (r.body.decision.violations as { code: string }[]).map((v) => v.code).sort()]);
        }
        expect(outcomes).toEqual([
          ['checkout-redesign', 'pending_approval', []],
          ['Promo_Blast', 'denied', ['data_access', 'max_exposure', 'naming']],
          ['search-ranking', 'approved', []],
        ]);
      } finally {
        await s.close();
      }
    }, 60_000);
  }
});
