import type { Intent } from '../intents/intent-schema.js';
import type { LiveFlagClaim, LiveLayerClaim } from '../storage/intent-store.js';

/** The input document of docs/policy-contract.md. */
export interface PolicyInput {
  intent: Intent;
  actor: { name: string; role: string; team?: string };
  now_ms: number;
  schedule_ms: { start?: number; end?: number };
  live: { flags: LiveFlagClaim[]; layer: LiveLayerClaim[] };
}

/** Where the live context comes from: indexed lookups, never a scan of every experiment. */
export interface LiveContextReader {
  liveFlagClaims(key: string, pairs: { service: string; flag: string }[]): LiveFlagClaim[];
  liveLayerClaims(key: string, layer: string): LiveLayerClaim[];
}

export function buildPolicyInput(
  intent: Intent,
  actor: PolicyInput['actor'],
  now: Date,
  live: LiveContextReader,
): PolicyInput {
  const schedule_ms: PolicyInput['schedule_ms'] = {};
  if (intent.schedule?.start) schedule_ms.start = Date.parse(intent.schedule.start);
  if (intent.schedule?.end) schedule_ms.end = Date.parse(intent.schedule.end);
  return {
    intent,
    actor,
    now_ms: now.getTime(),
    schedule_ms,
    live: {
      flags: live.liveFlagClaims(intent.key, intent.services),
      layer: intent.layer ? live.liveLayerClaims(intent.key, intent.layer) : [],
    },
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
    live: { flags: [], layer: [] },
  };
}
