/**
 * One-off: this build against another build of Switchyard (BENCH_OTHER_ROOT, a checkout with its
 * own `make build`), on the routes #17 asks to stay within noise: OFREP bulk, OFREP single, GET
 * flags and the HTTP decision. Each server runs on its own fresh SQLite file, seeded alike; the
 * answers are compared before timing (everything but minted ids, times and the per-process event
 * stream ticket); load phases take turns (`loadPair`), each server pinned to the server core.
 *
 *   make build && BENCH_OTHER_ROOT=/path/to/other BENCH_SECONDS=5 BENCH_ROUNDS=5 node dist/bench/builds.js
 */
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { routes, seed, stable } from './engines.js';
import { ADMIN, BUNDLE, loadPair, send, startChild, startServer, usePinning, type RunningServer } from './lib.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const other = process.env['BENCH_OTHER_ROOT'];

async function main(): Promise<void> {
  if (!other) throw new Error('set BENCH_OTHER_ROOT to a checkout built with make build');
  usePinning();
  const servers: RunningServer[] = [];
  try {
    servers.push(await startServer(18_141));
    const dir = path.dirname(servers[0]!.dbPath);
    const dbPath = path.join(dir, 'other.db');
    const child = await startChild(process.execPath, [path.join(other, 'dist/src/main.js')], {
      env: { PORT: '18142', HOST: '127.0.0.1', SWITCHYARD_SYNC_PORT: '0', SWITCHYARD_DB: dbPath, SWITCHYARD_BOOTSTRAP_TOKEN: ADMIN, SWITCHYARD_POLICY_BUNDLE: BUNDLE },
      ready: /listening on/,
    });
    servers.push({ ...child, base: 'http://127.0.0.1:18142', dbPath });
    const [ours, theirs] = servers as [RunningServer, RunningServer];
    const [a, b] = [routes(await seed(ours)), routes(await seed(theirs))];
    for (const k of ['bulk', 'single', 'flags', 'decisions'] as const) {
      for (let i = 0; i < a[k].length; i++) {
        const [x, y] = [await send(ours.base, a[k][i]!), await send(theirs.base, b[k][i]!)];
        if (x.status !== y.status || !isDeepStrictEqual(stable(JSON.parse(x.body)), stable(JSON.parse(y.body)))) {
          throw new Error(`${k} #${i}: the builds answer differently:\n${x.status} ${x.body.slice(0, 400)}\n${y.status} ${y.body.slice(0, 400)}`);
        }
      }
    }
    console.log(`answers equal on every call of every route; ${rounds} rounds × ${seconds} s, taking turns; req/s median (min–max)`);
    const fmt = (s: { median: number; min: number; max: number }) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;
    console.log('| route | this build | other build | ratio |\n| --- | ---: | ---: | ---: |');
    const only = process.env['BENCH_ROUTES']?.split(',');
    for (const k of ['bulk', 'single', 'flags', 'decisions'] as const) {
      if (only && !only.includes(k)) continue;
      const [o, t] = await loadPair({ base: ours.base, calls: a[k] }, { base: theirs.base, calls: b[k] }, seconds, rounds);
      console.log(`| ${k} | ${fmt(o.rps)} | ${fmt(t.rps)} | ${(o.rps.median / t.rps.median).toFixed(2)}× |`);
    }
  } finally {
    for (const s of servers) await s.stop();
  }
}

await main();
