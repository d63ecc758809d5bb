import fs from 'node:fs';
import { pino } from 'pino';
import { parseBundle } from '../src/policy/policy-bundle.js';
import { LoadedBundle, PolicyEngine } from '../src/policy/policy-engine.js';
import { probeInput, type PolicyInput } from '../src/policy/policy-input.js';
import { BUNDLE, percentile, timeEach, type Row } from './lib.js';

/** The SPEC §2 example as the policy sees it, with a busy live context. */
export function exampleInput(now: Date): PolicyInput {
  const base = probeInput(now);
  return {
    ...base,
    intent: {
      key: 'checkout-redesign',
      owner: 'growth',
      unit: 'user_id',
      services: [
        { service: 'web', flag: 'checkout_redesign' },
        { service: 'checkout-api', flag: 'checkout_v2' },
      ],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 50, value: true, overrides: { 'checkout-api': 'v2' } },
      ],
      exposure: 4.5,
      audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
      layer: 'checkout',
      data_access: ['clickstream'],
      schedule: { start: '2026-12-01T00:00:00Z', end: '2026-12-31T00:00:00Z' },
    },
    schedule_ms: { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2026-12-31T00:00:00Z') },
    live: {
      flags: [],
      layer: [
        { key: 'other-a', version: 1, status: 'running', exposure: 20, start: 0, end: 2000 },
        { key: 'other-b', version: 3, status: 'paused', exposure: 10, start: 2000, end: 3000 },
      ],
    },
  };
}

export async function engineFromBundle(): Promise<PolicyEngine> {
  const engine = new PolicyEngine(pino({ level: 'silent' }));
  const bundle = await parseBundle(fs.readFileSync(BUNDLE));
  engine.activate(await LoadedBundle.load(bundle, probeInput(new Date())));
  return engine;
}

export async function decisionBench(n = 20_000): Promise<Row[]> {
  const engine = await engineFromBundle();
  const input = exampleInput(new Date('2026-11-25T12:00:00Z'));
  for (let i = 0; i < 2000; i++) engine.evaluate(input);
  const times = timeEach(n, () => {
    engine.evaluate(input);
  });
  const totalMs = times.reduce((a, b) => a + b, 0) / 1e6;
  return [
    { section: 'decisions', name: 'in-process wasm decision (SPEC §2 intent)', metric: 'p50', value: percentile(times, 50) / 1000, unit: 'µs' },
    { section: 'decisions', name: 'in-process wasm decision (SPEC §2 intent)', metric: 'p99', value: percentile(times, 99) / 1000, unit: 'µs' },
    { section: 'decisions', name: 'in-process wasm decision (SPEC §2 intent)', metric: 'throughput', value: n / (totalMs / 1000), unit: 'decisions/s', note: 'one core' },
  ];
}
