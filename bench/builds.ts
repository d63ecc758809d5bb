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
import { ADMIN, alternate, BUNDLE, cpuMicros, load, send, spread, startChild, startServer, usePinning, type Call, type RunningServer } from './lib.js';

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
    console.log(`answers equal on every call of every route; ${rounds} rounds × ${seconds} s, taking turns; median (min–max)`);
    console.log('req/s: throughput at 10 connections. CPU µs/req: the server process\'s CPU time (user + system, /proc) over the phase, divided by the requests answered; it moves far less than throughput when the machine is busy.');
    const fmt = (s: { median: number; min: number; max: number }, digits = 0) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
    console.log('| route | this build req/s | other build req/s | ratio | this build CPU µs/req | other build CPU µs/req | ratio (other / this) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    const only = process.env['BENCH_ROUTES']?.split(',');
    const phase = (s: RunningServer, calls: Call[]) => async () => {
      const before = cpuMicros(s.pid);
      const r = await load(s.base, calls, seconds, false);
      return { rps: r.rps, cpu: (cpuMicros(s.pid) - before) / (r.rps * seconds) };
    };
    for (const k of ['bulk', 'single', 'flags', 'decisions'] as const) {
      if (only && !only.includes(k)) continue;
      await load(ours.base, a[k], 1, false);
      await load(theirs.base, b[k], 1, false);
      const [o, t] = (await alternate(rounds, [phase(ours, a[k]), phase(theirs, b[k])])) as [{ rps: number; cpu: number }[], { rps: number; cpu: number }[]];
      const [orps, trps, ocpu, tcpu] = [spread(o.map((x) => x.rps)), spread(t.map((x) => x.rps)), spread(o.map((x) => x.cpu)), spread(t.map((x) => x.cpu))];
      console.log(`| ${k} | ${fmt(orps)} | ${fmt(trps)} | ${(orps.median / trps.median).toFixed(2)}× | ${fmt(ocpu, 1)} | ${fmt(tcpu, 1)} | ${(tcpu.median / ocpu.median).toFixed(2)}× |`);
    }
  } finally {
    for (const s of servers) await s.stop();
  }
}

await main();
