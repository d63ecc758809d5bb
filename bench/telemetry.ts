/**
 * Telemetry (SPEC §10.1–10.2): ingestion throughput through the built server (1,000-event batches,
 * durable: WAL + synchronous=FULL as the server runs), the analysis time of an experiment at 10k,
 * 100k and 1M units, and the guardrail loop's tick against the number of running experiments
 * without a rollout (which it must not pay for).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../src/clock.js';
import { createContainer } from '../src/container.js';
import { compileFlag } from '../src/evaluation/index.js';
import { createLogger } from '../src/logger.js';
import { ADMIN, api, BUNDLE, percentile, startServer, type Row } from './lib.js';

const BATCH = 1000;
const IN_FLIGHT = 4;

function rollout(key: string, exposure = 100) {
  return {
    key,
    owner: 'growth',
    services: [{ service: 'recommendations', flag: key.replace(/-/g, '_') }],
    variants: [
      { key: 'control', weight: 50, value: false },
      { key: 'treatment', weight: 50, value: true },
    ],
    exposure,
    rollout: { stages: [{ exposure }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }, { metric: 'latency_ms', max_regression: 0.05 }] },
  };
}

/** Request bodies of `units` fresh units: each an exposure, an error_rate and a latency_ms value. */
function batches(place: (u: string) => string | undefined, flag: string, prefix: string, units: number): string[] {
  const out: string[] = [];
  let events: unknown[] = [];
  for (let i = 0; i < units; i++) {
    const unit = `${prefix}-${i}`;
    events.push({ type: 'exposure', flag, unit, variant: place(unit) });
    events.push({ type: 'metric', metric: 'error_rate', unit, value: i % 50 === 0 ? 1 : 0 });
    events.push({ type: 'metric', metric: 'latency_ms', unit, value: 100 + (i % 97) });
    if (events.length >= BATCH - 2) {
      out.push(JSON.stringify({ events }));
      events = [];
    }
  }
  if (events.length > 0) out.push(JSON.stringify({ events }));
  return out;
}

/** Sends the bodies, IN_FLIGHT at a time; returns events per second. */
async function send(base: string, token: string, bodies: string[]): Promise<{ eventsPerSecond: number; events: number }> {
  let next = 0;
  let events = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(`${base}/v1/services/recommendations/telemetry`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      const r = (await res.json()) as { accepted: number };
      if (res.status !== 202) throw new Error(`telemetry: ${res.status} ${JSON.stringify(r)}`);
      events += r.accepted;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { eventsPerSecond: events / seconds, events };
}

async function placer(base: string, flag: string) {
  const doc = await api(base, ADMIN, 'GET', '/v1/services/recommendations/flags');
  const compiled = compileFlag(flag, doc.flags[flag]);
  return (u: string) => compiled.place(u);
}

export async function telemetryBench(port: number): Promise<Row[]> {
  const rows: Row[] = [];
  const server = await startServer(port, { env: { SWITCHYARD_LOG_LEVEL: 'warn' } });
  try {
    const sizes = (process.env['BENCH_TELEMETRY_UNITS'] ?? '10000,100000,1000000').split(',').map(Number);
    for (const units of sizes) {
      const key = `tel-${units}`;
      await api(server.base, ADMIN, 'POST', '/v1/intents', rollout(key));
      const flag = key.replace(/-/g, '_');
      const bodies = batches(await placer(server.base, flag), flag, key, units);
      const r = await send(server.base, ADMIN, bodies);
      // Analysis over HTTP: median and p99 of 200 round trips.
      const times: number[] = [];
      for (let i = 0; i < 220; i++) {
        const t = process.hrtime.bigint();
        const a = await api(server.base, ADMIN, 'GET', `/v1/intents/${key}/analysis`);
        if (i >= 20) times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (i === 0 && a.units.control + a.units.treatment !== units) throw new Error(`analysis counts ${JSON.stringify(a.units)}, expected ${units}`);
      }
      times.sort((x, y) => x - y);
      rows.push({
        section: 'telemetry',
        name: `analysis, ${units.toLocaleString('en')} units`,
        metric: 'GET /analysis median',
        value: percentile(times, 50),
        unit: 'ms',
        note: `p99 ${percentile(times, 99).toFixed(2)} ms; 2 guardrails; reads the arm sums only`,
      });
      rows.push({
        section: 'telemetry',
        name: `ingestion, ${units.toLocaleString('en')} units`,
        metric: 'events/s',
        value: r.eventsPerSecond,
        unit: 'ev/s',
        note: `${r.events.toLocaleString('en')} events in ${BATCH}-event batches, ${IN_FLIGHT} in flight, each batch one durable transaction`,
      });
    }
  } finally {
    await server.stop();
  }
  rows.push(...(await loopOverhead()));
  return rows;
}

/** The guardrail loop's tick (in-process) with 1 rollout among 0, 100 and 1,000 running experiments without one. */
async function loopOverhead(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-loop-'));
  const c = await createContainer({ dbPath: path.join(dir, 'loop.db'), policyBundlePath: BUNDLE, clock: systemClock, logger: createLogger('warn') });
  const rows: Row[] = [];
  try {
    const actor = { tokenId: 'bench', name: 'bench', role: 'admin' as const, team: null, approvalRoles: [], service: null };
    await c.intents.submit(rollout('loop-guarded', 10), actor);
    let plain = 0;
    for (const target of [0, 100, 1000]) {
      for (; plain < target; plain++) {
        await c.intents.submit({ key: `plain-${plain}`, owner: 'growth', services: [{ service: 'recommendations', flag: `plain_${plain}` }], variants: [{ key: 'a', weight: 1, value: 1 }, { key: 'b', weight: 1, value: 2 }], exposure: 0.01 }, actor);
      }
      await c.guardrails.tick();
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = process.hrtime.bigint();
        const done = await c.guardrails.tick();
        times.push(Number(process.hrtime.bigint() - t) / 1e3);
        if (done.analysed !== 1) throw new Error(`the tick analysed ${done.analysed} experiments`);
      }
      times.sort((x, y) => x - y);
      rows.push({
        section: 'telemetry',
        name: `guardrail tick, 1 rollout + ${target.toLocaleString('en')} without`,
        metric: 'tick median',
        value: percentile(times, 50),
        unit: 'µs',
        note: 'in-process; running experiments without a rollout are never read',
      });
    }
  } finally {
    c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
