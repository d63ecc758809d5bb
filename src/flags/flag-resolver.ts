import type { Intent } from '../intents/intent-schema.js';
import { exposureBuckets } from '../intents/intent-schema.js';
import type { FlagState } from '../evaluation/types.js';
import { LAYER_BUCKETS, type Slice } from './layer-allocator.js';

export interface Provenance {
  decision_id: string;
  policy_revision: string;
  actor: string;
  at: string;
}

/** The seeds and slice every service of one experiment shares, so a unit lands in one arm everywhere. */
export function allocationFor(intent: Intent, slice: Slice | null): FlagState['allocation'] {
  const exposure = intent.layer
    ? { seed: `layer/${intent.layer}`, start: slice?.start ?? 0, end: slice?.end ?? 0, total: LAYER_BUCKETS }
    : { seed: `exp/${intent.key}/exposure`, start: 0, end: exposureBuckets(intent.exposure), total: LAYER_BUCKETS };
  return {
    unit: intent.unit,
    exposure,
    variants: { seed: `exp/${intent.key}`, buckets: intent.variants.map((v) => [v.key, v.weight] as [string, number]) },
  };
}

/**
 * Resolves one approved intent version into the flag state each of its services receives (SPEC §5):
 * per-service overrides applied, the first variant as default, one shared allocation.
 */
export function resolveFlagStates(
  intent: Intent,
  version: number,
  slice: Slice | null,
  enabled: boolean,
  provenance: Provenance,
): Map<string, Record<string, FlagState>> {
  if (intent.layer && !slice) throw new Error(`experiment ${intent.key} v${version} is layered but holds no slice`);
  const allocation = allocationFor(intent, slice);
  const defaultVariant = intent.variants[0]!.key;
  const out = new Map<string, Record<string, FlagState>>();
  for (const { service, flag } of intent.services) {
    const variants: Record<string, unknown> = {};
    for (const v of intent.variants) {
      variants[v.key] = v.overrides && Object.prototype.hasOwnProperty.call(v.overrides, service) ? v.overrides[service] : v.value;
    }
    const state: FlagState = {
      state: enabled ? 'ENABLED' : 'DISABLED',
      default_variant: defaultVariant,
      variants,
      audience: intent.audience,
      allocation,
      experiment: { key: intent.key, version },
      provenance: { ...provenance },
    };
    const flags = out.get(service) ?? {};
    flags[flag] = state;
    out.set(service, flags);
  }
  return out;
}
