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

/**
 * What part of the experiment's slice is served now (SPEC §10). `buckets`: the current stage's
 * exposure in buckets, served from the slice's start (the whole slice when absent); `ship`: the
 * variant served to every unit, with an empty exposure slice.
 */
export interface Serving {
  buckets?: number;
  ship?: string | null;
}

/** The seeds and slice every service of one experiment shares, so a unit lands in one arm everywhere. */
export function allocationFor(intent: Intent, slice: Slice | null, serving: Serving = {}): FlagState['allocation'] {
  const start = intent.layer ? (slice?.start ?? 0) : 0;
  const reserved = intent.layer ? (slice ? slice.end - slice.start : 0) : exposureBuckets(intent.exposure);
  // A stage serves a prefix of the reserved slice: the same start at every stage, so units are only added.
  const served = serving.ship ? 0 : Math.min(reserved, serving.buckets ?? reserved);
  const exposure = {
    seed: intent.layer ? `layer/${intent.layer}` : `exp/${intent.key}/exposure`,
    start,
    end: start + served,
    total: LAYER_BUCKETS,
  };
  return {
    unit: intent.unit,
    exposure,
    variants: { seed: `exp/${intent.key}`, buckets: intent.variants.map((v) => [v.key, v.weight] as [string, number]) },
  };
}

/**
 * Resolves one approved intent version into the flag state each of its services receives (SPEC §5):
 * per-service overrides applied, the first variant as default (the shipped one once shipped), one
 * shared allocation.
 */
export function resolveFlagStates(
  intent: Intent,
  version: number,
  slice: Slice | null,
  enabled: boolean,
  provenance: Provenance,
  serving: Serving = {},
): Map<string, Record<string, FlagState>> {
  if (intent.layer && !slice && !serving.ship) throw new Error(`experiment ${intent.key} v${version} is layered but holds no slice`);
  const allocation = allocationFor(intent, slice, serving);
  // A shipped experiment serves its variant as the default, to every unit (its slice is empty).
  const defaultVariant = serving.ship ?? intent.variants[0]!.key;
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
