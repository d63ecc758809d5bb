import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Actor } from '../src/access/actor.js';
import { systemClock } from '../src/clock.js';
import { createContainer, type Container } from '../src/container.js';
import { EXAMPLES } from './decisions.js';
import { submissionCalls } from './intents.js';
import { ADMIN, api, BUNDLE, load, percentile, startServer, timeEach, timeEachAsync, type LoadResult, type RunningServer, type Row } from './lib.js';

/** autocannon's latencies are whole milliseconds: 0 means under one. */
const ms = (v: number) => (v === 0 ? '<1 ms' : `${v} ms`);

const OWNER: Actor = { tokenId: 'bench', name: 'bench-owner', role: 'owner', team: 'growth', approvalRoles: [], service: null };
const VARIANTS = [
  { key: 'control', weight: 50, value: false },
  { key: 'treatment', weight: 50, value: true },
];
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/**
 * The domain services in this process on a fresh SQLite file. Seeding runs with synchronous=OFF
 * (what is measured runs in a server started on a copy, with the durable settings).
 */
async function seedingContainer(): Promise<Container> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-scaling-'));
  const c = await createContainer({ dbPath: path.join(dir, 'seed.db'), policyBundlePath: BUNDLE, clock: systemClock, logger: pino({ level: 'silent' }) });
  c.db.pragma('synchronous = OFF');
  return c;
}

function dispose(c: Container): void {
  const dir = path.dirname(c.db.name);
  c.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs `fn` against the real server started on a copy of the container's database. */
async function serveCopy<T>(c: Container, port: number, fn: (server: RunningServer) => Promise<T>): Promise<T> {
  c.db.pragma('wal_checkpoint(TRUNCATE)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-copy-'));
  const dbPath = path.join(dir, 'copy.db');
  fs.copyFileSync(c.db.name, dbPath);
  const server = await startServer(port, { dbPath });
  try {
    return await fn(server);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Live experiments that share nothing with the measured decision: every other one waits for an sre
 * approval on checkout-api, the rest are approved and scheduled to start in 30 days on a standard
 * service. Each holds a flag and a slice of one of 500 layers, so both live-context lookups have
 * rows to skip. (None is running: a running one rewrites its service's whole flags document on every
 * submission, which the flags curve measures on its own.)
 */
async function seedExperiment(c: Container, i: number): Promise<void> {
  const pending = i % 2 === 0;
  const r = await c.intents.submit(
    {
      key: `seed-${i}`,
      owner: 'growth',
      services: [{ service: pending ? 'checkout-api' : ['web', 'search', 'recommendations'][i % 3]!, flag: `seed_${i}` }],
      variants: VARIANTS,
      exposure: 1,
      layer: `seed-${i % 500}`,
      ...(pending ? {} : { schedule: { start: inDays(30), end: inDays(60) } }),
    },
    OWNER,
  );
  if (r.status === 'denied') throw new Error(`seed-${i} was denied: ${JSON.stringify(r.decision.violations)}`);
}

/**
 * Section 5a. The SPEC §2 decision (parse, live context read from SQLite, wasm) through
 * IntentService as POST /v1/intents:evaluate runs it, and POST /v1/intents throughput on the real
 * server, with 10 to 10,000 live experiments in the database.
 */
export async function experimentScaling(port: number, seconds: number): Promise<Row[]> {
  const c = await seedingContainer();
  const rows: Row[] = [];
  const base: Record<string, number> = {};
  try {
    // Two related experiments the decision must see: layer mates in "checkout".
    for (const key of ['mate-a', 'mate-b']) {
      await c.intents.submit({ key, owner: 'growth', services: [{ service: 'web', flag: key }], variants: VARIANTS, exposure: 2, layer: 'checkout' }, OWNER);
    }
    // Until the policy's wasm has tiered up (about 10,000 evaluations) the first point would look slower.
    for (let i = 0; i < 20_000; i++) await c.intents.evaluate(EXAMPLES[0], OWNER);
    let seeded = 0;
    for (const n of [10, 100, 1_000, 10_000]) {
      const t0 = Date.now();
      for (; seeded < n; seeded++) await seedExperiment(c, seeded);
      process.stderr.write(`  ${n} live experiments seeded (${Date.now() - t0} ms)\n`);
      for (let i = 0; i < 1_000; i++) await c.intents.evaluate(EXAMPLES[0], OWNER);
      const ns = await timeEachAsync(5_000, () => c.intents.evaluate(EXAMPLES[0], OWNER));
      const submit = await serveCopy(c, port, async (server) => {
        const { token } = await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-owner', role: 'owner', team: 'growth' });
        const r = await load(server.base, submissionCalls(token, Math.ceil(seconds + 1) * 3_000), seconds);
        return { ...r, rss: server.rssMb() };
      });
      const label = `${n.toLocaleString('en-US')} live experiments`;
      const point = (metric: string, value: number, unit: string, note?: string): Row => {
        base[metric] ??= value;
        return {
          section: 'scaling',
          name: label,
          metric,
          value,
          unit,
          ...(n > 10 ? { peer: { name: 'at 10', value: base[metric]! } } : {}),
          ...(note ? { note } : {}),
        };
      };
      rows.push(
        point('decision p50', percentile(ns, 50) / 1000, 'µs', 'in-process, live context from SQLite'),
        point('decision p99', percentile(ns, 99) / 1000, 'µs'),
        point('POST /v1/intents', submit.rps, 'req/s', `p99 ${ms(submit.p99)}; server RSS ${Math.round(submit.rss)} MB${submit.failed ? `; ${submit.failed} failed` : ''}`),
      );
    }
    return rows;
  } finally {
    dispose(c);
  }
}

/**
 * Section 5a'. The same SPEC §2 decision, in the layer "crowd" that 10 to 10,000 other live experiments
 * share (0.01 % each, one bucket; approved and scheduled, as seedExperiment's are, so that no flags
 * document is rewritten per seed): the policy gets the layer's bounded room summary, which the
 * intent store keeps per layer (LayerSpace) instead of reading the members. At 10,000 the layer is
 * full and the decision is a layer_capacity denial. The members are seeded through IntentService
 * (each a whole submission in its own transaction: decision, first fit, version, audit), as
 * POST /v1/intents does minus HTTP; that is fast now that a decision no longer reads the layer.
 */
export async function oneLayerScaling(): Promise<Row[]> {
  const c = await seedingContainer();
  const rows: Row[] = [];
  let base: number | undefined;
  const measured = { ...EXAMPLES[0], layer: 'crowd' };
  try {
    for (let i = 0; i < 20_000; i++) await c.intents.evaluate(measured, OWNER);
    let seeded = 0;
    for (const n of [10, 100, 1_000, 10_000]) {
      const t0 = Date.now();
      for (; seeded < n; seeded++) {
        const key = `crowd-${seeded}`;
        const r = await c.intents.submit({ key, owner: 'growth', services: [{ service: 'web', flag: key }], variants: VARIANTS, exposure: 0.01, layer: 'crowd', schedule: { start: inDays(30), end: inDays(60) } }, OWNER);
        if (r.status === 'denied') throw new Error(`${key} was denied: ${JSON.stringify(r.decision.violations)}`);
      }
      process.stderr.write(`  ${n} experiments seeded in one layer (${Date.now() - t0} ms)\n`);
      for (let i = 0; i < 1_000; i++) await c.intents.evaluate(measured, OWNER);
      const ns = await timeEachAsync(5_000, () => c.intents.evaluate(measured, OWNER));
      const p50 = percentile(ns, 50) / 1000;
      base ??= p50;
      process.stderr.write(`  decision p50 ${p50.toFixed(0)} µs, p99 ${(percentile(ns, 99) / 1000).toFixed(0)} µs\n`);
      rows.push({
        section: 'scaling',
        name: `${n.toLocaleString('en-US')} live experiments in one layer`,
        metric: 'decision p50',
        value: p50,
        unit: 'µs',
        ...(n > 10 ? { peer: { name: 'at 10', value: base } } : {}),
        note: `in-process, the layer's kept room summary; p99 ${Math.round(percentile(ns, 99) / 1000)} µs`,
      });
    }
    return rows;
  } finally {
    dispose(c);
  }
}

/**
 * Section 5b. Flags-document size and GET rate (200 and 304) with 10, 100 and 1,000 running flags on
 * one service, ten flags per experiment.
 */
export async function flagScaling(port: number, seconds: number): Promise<Row[]> {
  const c = await seedingContainer();
  const rows: Row[] = [];
  try {
    let flags = 0;
    for (const n of [10, 100, 1_000]) {
      for (; flags < n; flags += 10) {
        const services = Array.from({ length: 10 }, (_, j) => ({ service: 'recommendations', flag: `flag_${flags + j}` }));
        await c.intents.submit({ key: `flags-${flags / 10}`, owner: 'growth', services, variants: VARIANTS, exposure: 1 }, OWNER);
      }
      rows.push(
        ...(await serveCopy(c, port, async (server) => {
          const { token } = await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-reco', role: 'service', service: 'recommendations' });
          const path = '/v1/services/recommendations/flags';
          const auth = { authorization: `Bearer ${token}` };
          const res = await fetch(server.base + path, { headers: auth });
          const kb = (await res.arrayBuffer()).byteLength / 1024;
          const full = await load(server.base, [{ method: 'GET', path, headers: auth }], seconds);
          const cached = await load(server.base, [{ method: 'GET', path, headers: { ...auth, 'if-none-match': res.headers.get('etag')! } }], seconds);
          const label = `${n.toLocaleString('en-US')} flags per service (${kb >= 100 ? Math.round(kb) : kb.toFixed(1)} KiB document)`;
          const rss = `server RSS ${Math.round(server.rssMb())} MB`;
          const failed = (r: LoadResult) => (r.failed ? `; ${r.failed} failed` : '');
          return [
            { section: 'scaling', name: label, metric: 'GET flags → 200', value: full.rps, unit: 'req/s', note: `p99 ${ms(full.p99)}; ${rss}${failed(full)}` },
            { section: 'scaling', name: label, metric: 'GET flags → 304', value: cached.rps, unit: 'req/s', note: `p99 ${ms(cached.p99)}${failed(cached)}` },
          ];
        })),
      );
    }
    return rows;
  } finally {
    dispose(c);
  }
}
