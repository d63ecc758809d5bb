import { compileFlag } from '../../src/evaluation/index.js';
import type { Api } from './harness.js';
import { prng } from './prng.js';
import { simpleIntent } from './harness.js';

/**
 * Guarded rollouts with real telemetry for the faces' tests (CLI, console, history): an intent on
 * `recommendations` (experimental tier: no approval), and events placed where SPEC §6 puts each
 * unit, computed from the served document as a service would.
 */
export type TelemetryEvent = Record<string, unknown>;

export const flagOf = (key: string) => `${key.replace(/-/g, '_')}_flag`;

export function guardedIntent(key: string, rollout: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const stages = rollout['stages'] as { exposure: number }[];
  return simpleIntent(key, {
    services: [{ service: 'recommendations', flag: flagOf(key) }],
    exposure: stages[stages.length - 1]!.exposure,
    rollout,
    ...overrides,
  });
}

/** Where SPEC §6 places each unit in the service's current document. */
export async function placer(api: Api, service: string, flag: string): Promise<(unit: string) => string | undefined> {
  const doc = (await api.get(`/v1/services/${service}/flags`)).body;
  const compiled = compileFlag(flag, doc.flags[flag]);
  return (unit) => compiled.place(unit);
}

/**
 * Exposure and `error_rate` events of the units the document exposes among `units` candidates,
 * treatment erring `ratio` times as often as control (rate `base`); deterministic for a seed.
 */
export function errorEvents(opts: { units: number; place: (u: string) => string | undefined; flag: string; base: number; ratio: number; seed?: number; prefix?: string; at?: string }): TelemetryEvent[] {
  const rng = prng(opts.seed ?? 42);
  const at = opts.at ?? '2026-11-25T12:00:00Z';
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < opts.units; i++) {
    const unit = `${opts.prefix ?? 'u'}-${i}`;
    const variant = opts.place(unit);
    if (variant === undefined) continue;
    events.push({ type: 'exposure', flag: opts.flag, unit, variant, at });
    const p = variant === 'control' ? opts.base : opts.base * opts.ratio;
    events.push({ type: 'metric', metric: 'error_rate', unit, value: rng() < p ? 1 : 0, at });
  }
  return events;
}

/** Sends events in batches of 5,000 through the real route; throws unless each batch is accepted whole. */
export async function sendTelemetry(svc: Api, service: string, events: TelemetryEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    const batch = events.slice(i, i + 5000);
    const res = await svc.post(`/v1/services/${service}/telemetry`, { events: batch });
    if (res.status !== 202 || res.body.accepted !== batch.length) throw new Error(`telemetry batch refused: ${res.status} ${res.text.slice(0, 500)}`);
  }
}
