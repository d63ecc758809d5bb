#!/usr/bin/env node
// Sends simulated telemetry for the rollout tour (docs/rollout-tour.sh): for units u-0 … u-N, it places
// each unit where the service's served flags document puts it (SPEC §6, the built evaluator in dist/),
// and sends an exposure and an error_rate value per exposed unit, the treatment erring RATIO times as
// often as the arm named control (rate 5 %, a fixed seed). Usage:
//   SWITCHYARD_URL=… SWITCHYARD_TOKEN=<service token> node docs/rollout-telemetry.mjs SERVICE FLAG UNITS RATIO
import { compileFlag } from '../dist/src/evaluation/index.js';

const [service, flag, units = '20000', ratio = '1'] = process.argv.slice(2);
const url = process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:8080';
const headers = { authorization: `Bearer ${process.env.SWITCHYARD_TOKEN}`, 'content-type': 'application/json' };
const doc = await (await fetch(`${url}/v1/services/${service}/flags`, { headers })).json();
const place = compileFlag(flag, doc.flags[flag]).place;
let seed = 7; // mulberry32: the same events every run
const rng = () => { seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const events = [];
for (let i = 0; i < Number(units); i++) {
  const unit = `u-${i}`;
  const variant = place(unit);
  if (variant === undefined) continue;
  events.push({ type: 'exposure', flag, unit, variant });
  const p = variant === 'control' ? 0.05 : 0.05 * Number(ratio);
  events.push({ type: 'metric', metric: 'error_rate', unit, value: rng() < p ? 1 : 0 });
}
let accepted = 0, mismatches = 0;
const rejected = {};
for (let i = 0; i < events.length; i += 10_000) {
  const res = await fetch(`${url}/v1/services/${service}/telemetry`, { method: 'POST', headers, body: JSON.stringify({ events: events.slice(i, i + 10_000) }) });
  const body = await res.json();
  if (res.status !== 202) { console.error(res.status, body); process.exit(1); }
  accepted += body.accepted; mismatches += body.assignment_mismatches;
  for (const r of body.rejected) rejected[r.code] = (rejected[r.code] ?? 0) + 1;
}
const refused = Object.entries(rejected).map(([code, n]) => `${n} ${code}`).join(', ');
console.log(`sent ${events.length} events: ${accepted} accepted, ${mismatches} assignment mismatches${refused ? `, rejected: ${refused}` : ''}`);
