/**
 * One-off (ADR 0012): what the read barrier costs the snapshot reads on PostgreSQL. Three servers on
 * ONE PostgreSQL database (the bench's durable cluster, bench/engines.ts), the same build: the
 * barrier off (SWITCHYARD_READ_BARRIER_MS=0, what every instance did before session 6), the barrier
 * with no lease (SWITCHYARD_READ_LEASE_MS=0, session 6: a counter query per batch of reads), and the
 * defaults (a 10 ms lease, session 7). No writes during the load. Load phases take turns
 * (`alternate`, after a warm-up of each), so a neighbour on the shared machine slows every side alike.
 *
 *   make build && BENCH_SECONDS=5 BENCH_ROUNDS=5 node dist/bench/barrier.js
 */
import { createTestDatabase } from '../test/helpers/postgres.js';
import { benchPostgres, routes, seed } from './engines.js';
import { alternate, load, startServer, summarise, type RunningServer } from './lib.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);

async function main(): Promise<void> {
  const cluster = await benchPostgres();
  const servers: RunningServer[] = [];
  try {
    const db = await createTestDatabase(cluster.adminUrl, 'barrier');
    servers.push(await startServer(18_131, { env: { SWITCHYARD_DATABASE_URL: db.url, SWITCHYARD_READ_BARRIER_MS: '0' } }));
    servers.push(await startServer(18_132, { env: { SWITCHYARD_DATABASE_URL: db.url, SWITCHYARD_READ_LEASE_MS: '0' } }));
    servers.push(await startServer(18_133, { env: { SWITCHYARD_DATABASE_URL: db.url } }));
    const names = ['barrier off', 'barrier, no lease', 'barrier, 10 ms lease'];
    const seeded = await seed(servers[0]!);
    const calls = routes(seeded);
    const fmt = (s: { median: number; min: number; max: number }) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;
    console.log(`${rounds} rounds × ${seconds} s, taking turns, 10 connections; req/s and p99 µs, median (min–max)`);
    console.log(`| route | ${names.join(' | ')} |\n| --- | ${names.map(() => '---:').join(' | ')} |`);
    for (const k of ['bulk', 'single', 'flags'] as const) {
      // The same tokens on all: one database.
      for (const s of servers) await load(s.base, calls[k], 1, false);
      const results = (await alternate(rounds, servers.map((s) => () => load(s.base, calls[k], seconds, false)))).map(summarise);
      console.log(`| ${k} | ${results.map((r) => `${fmt(r.rps)} req/s, p99 ${fmt(r.p99)}`).join(' | ')} |`);
    }
  } finally {
    for (const s of servers) await s.stop();
    await cluster.stop();
  }
}

await main();
