import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateFlag } from '../../../src/evaluation/index.js';
import { resolveFlagStates } from '../../../src/flags/flag-resolver.js';
import { LayerSpace } from '../../../src/flags/layer-allocator.js';
import { IntentSchema, type Intent } from '../../../src/intents/intent-schema.js';
import { enterStage, servedBuckets, type RolloutProgress } from '../../../src/intents/rollout.js';

const PROVENANCE = { decision_id: 'd_1', policy_revision: 'r', actor: 'alice', at: '2026-12-01T00:00:00Z' };

/** Strictly increasing stage exposures (hundredths) ending at the final exposure, at most 10 stages. */
const stagesArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 10 })
  .map((xs) => [...xs].sort((a, b) => a - b).map((h) => h / 100));

const scenarioArb = fc.record({
  stages: stagesArb,
  weights: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 4 }).filter((w) => w.some((x) => x > 0)),
  layered: fc.boolean(),
  /** Slices of other experiments in the layer, as (start, width) in buckets. */
  others: fc.array(fc.record({ start: fc.integer({ min: 0, max: 9999 }), width: fc.integer({ min: 1, max: 2500 }) }), { maxLength: 4 }),
  units: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 50, maxLength: 150 }),
});

describe('served slices of a staged rollout (SPEC §10 "Serving")', () => {
  it('every unit exposed at stage i is exposed in the same arm at every later stage, in every service', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const exposure = sc.stages.at(-1)!;
        const intent: Intent = IntentSchema.parse({
          key: 'prop-roll',
          owner: 'growth',
          services: [
            { service: 'web', flag: 'a' },
            { service: 'search', flag: 'b' },
            { service: 'checkout-api', flag: 'c' },
          ],
          variants: sc.weights.map((w, i) => ({ key: `v${i}`, weight: w, value: i, overrides: i === 1 ? { search: 'other' } : undefined })),
          exposure,
          ...(sc.layered ? { layer: 'prop' } : {}),
          rollout: { stages: sc.stages.map((e) => ({ exposure: e })) },
        });
        let slice = null;
        if (sc.layered) {
          const space = new LayerSpace('prop');
          sc.others.forEach((o, i) => {
            const end = Math.min(10000, o.start + o.width);
            space.set(`other-${i}`, [{ key: `other-${i}`, version: 1, status: 'running', exposure: (end - o.start) / 100, start: o.start, end }]);
          });
          // The layer reserves the final exposure: no room, no rollout (the policy denies it).
          slice = space.firstFit(Math.round(exposure * 100), intent.key);
          if (!slice) return;
        }
        const at = new Date('2026-12-01T00:00:00Z');
        /** arm of each unit per service at each stage (undefined: not exposed). */
        const arms: Map<string, string | undefined>[] = [];
        for (let i = 0; i < sc.stages.length; i++) {
          const progress: RolloutProgress = enterStage(intent.key, intent.rollout!, i, at, null);
          const docs = resolveFlagStates(intent, 1, slice, true, PROVENANCE, { buckets: servedBuckets(intent, progress) });
          const stage = new Map<string, string | undefined>();
          for (const [service, flags] of docs) {
            for (const [flag, state] of Object.entries(flags)) {
              if (slice) expect(state.allocation.exposure.end).toBeLessThanOrEqual(slice.end);
              for (const u of sc.units) {
                const r = evaluateFlag(flag, state, { targetingKey: u });
                stage.set(`${service}/${u}`, 'reason' in r && r.reason === 'SPLIT' ? r.variant : undefined);
              }
            }
          }
          arms.push(stage);
        }
        for (let i = 0; i < arms.length; i++) {
          for (const [unitKey, arm] of arms[i]!) {
            if (arm === undefined) continue;
            for (let j = i + 1; j < arms.length; j++) expect(arms[j]!.get(unitKey)).toBe(arm);
          }
        }
        // and one unit lands in the same arm in every service
        for (const stage of arms) {
          for (const u of sc.units) expect(new Set(['web', 'search', 'checkout-api'].map((s) => stage.get(`${s}/${u}`))).size).toBe(1);
        }
      }),
      { seed: 20261201, numRuns: 150 },
    );
  });
});
