import type { LayerRoom } from '../flags/layer-allocator.js';
import type { Intent } from '../intents/intent-schema.js';
import type { LiveFlagClaim } from '../intents/intent-store.js';

/** The input document of docs/policy-contract.md. */
export interface PolicyInput {
  intent: Intent;
  actor: { name: string; role: string; team?: string };
  now_ms: number;
  schedule_ms: { start?: number; end?: number };
  /**
   * What other live experiments hold, bounded whatever their number: the claims on the intent's own
   * (service, flag) pairs (a few per pair), and a summary of the room left in its layer (null without
   * a layer), never the layer's members one by one (docs/layers.md).
   */
  live: { flags: LiveFlagClaim[]; layer_room: LayerRoom | null };
  /** Present when the version asks to ship this variant to every unit (SPEC §10 "Ship"). */
  ship?: string;
}

/**
 * Where the live context comes from: indexed lookups and the layer's kept room, never a scan of
 * every experiment or of every member of a layer. Both leave out every version of the experiment
 * `key` itself: an intent is judged against the others.
 */
export interface LiveContextReader {
  liveFlagClaims(key: string, pairs: { service: string; flag: string }[]): Promise<LiveFlagClaim[]>;
  /** The bounded room summary of `layer` without `key`'s versions (IntentStore.layerRoom). */
  layerRoom(key: string, layer: string): Promise<LayerRoom>;
}

export async function buildPolicyInput(
  intent: Intent,
  actor: PolicyInput['actor'],
  now: Date,
  live: LiveContextReader,
  ship: string | null = null,
): Promise<PolicyInput> {
  return policyInputWith(
    intent,
    actor,
    now,
    {
      flags: await live.liveFlagClaims(intent.key, intent.services),
      layer_room: intent.layer ? await live.layerRoom(intent.key, intent.layer) : null,
    },
    ship,
  );
}

/** The input from a live context already read: pure, the one place the document is put together. */
export function policyInputWith(intent: Intent, actor: PolicyInput['actor'], now: Date, live: PolicyInput['live'], ship: string | null = null): PolicyInput {
  const schedule_ms: PolicyInput['schedule_ms'] = {};
  if (intent.schedule?.start) schedule_ms.start = Date.parse(intent.schedule.start);
  if (intent.schedule?.end) schedule_ms.end = Date.parse(intent.schedule.end);
  return {
    intent,
    actor,
    now_ms: now.getTime(),
    schedule_ms,
    live,
    ...(ship ? { ship } : {}),
  };
}

/** A small valid input used to prove a candidate bundle answers before it is activated. */
export function probeInput(now: Date): PolicyInput {
  return {
    intent: {
      key: 'probe-intent',
      owner: 'probe',
      unit: 'user_id',
      services: [{ service: 'probe-service', flag: 'probe_flag' }],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 50, value: true },
      ],
      exposure: 1,
      audience: [],
      data_access: [],
    },
    actor: { name: 'probe', role: 'owner', team: 'probe' },
    now_ms: now.getTime(),
    schedule_ms: {},
    live: { flags: [], layer_room: null },
  };
}
