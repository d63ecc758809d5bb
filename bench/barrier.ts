/**
 * One-off (ADR 0012): what the read barrier costs the snapshot reads on PostgreSQL. Two servers on
 * ONE PostgreSQL database (the bench's durable cluster, bench/engines.ts), the same build: one with
 * the barrier off (SWITCHYARD_READ_BARRIER_MS=0, what every instance did before), one with its
 * default. No writes during the load: each batch of reads costs one counter query. Load phases
 * take turns (`loadPair`), so a neighbour on the shared machine slows both sides alike.
 *
 *   make build && BENCH_SECONDS=5 BENCH_ROUNDS=5 node dist/bench/barrier.js
 */
import { createTestDatabase } from '../test/helpers/postgres.js';
import { benchPostgres, routes, seed } from './engines.js';
import { loadPair, startServer, type RunningServer } from './lib.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);

async function main(): Promise<void> {
  const cluster = await benchPostgres();
  const servers: RunningServer[] = [];
  try {
    const db = await createTestDatabase(cluster.adminUrl, 'barrier');
    servers.push(await startServer(18_131, { env: { SWITCHYARD_DATABASE_URL: db.url, SWITCHYARD_READ_BARRIER_MS: '0' } }));
    servers.push(await startServer(18_132, { env: { SWITCHYARD_DATABASE_URL: db.url } }));
    const [off, on] = servers as [RunningServer, RunningServer];
    const seeded = await seed(off);
    const calls = routes(seeded);
    const fmt = (s: { median: number; min: number; max: number }) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;
    for (const k of ['bulk', 'flags'] as const) {
      // The same tokens on both: one database.
      const [o, b] = await loadPair({ base: off.base, calls: calls[k] }, { base: on.base, calls: calls[k] }, seconds, rounds);
      console.log(`${k}: barrier off ${fmt(o.rps)} req/s, p99 ${fmt(o.p99)} µs | barrier on ${fmt(b.rps)} req/s, p99 ${fmt(b.p99)} µs | ${rounds} rounds × ${seconds} s`);
    }
  } finally {
    for (const s of servers) await s.stop();
    await cluster.stop();
  }
}

await main();
