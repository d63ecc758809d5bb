import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ADMIN, api, rssMb, startServer, type RunningServer } from './lib.js';

/**
 * Soak: the real server (its own process, fresh SQLite file) under mixed load for SOAK_MINUTES
 * (default 1), sampled every SOAK_SAMPLE_SECONDS (default 10): RSS from /proc (the policy's wasm
 * memory lives inside the process, so it is in there), heap, event-loop delay p99 and max from
 * GET /metrics (prom-client resets its histogram at every scrape, so each sample covers the
 * interval since the one before), throughput and the size of the database and its WAL.
 *
 * The verdict: memory is flat when the RSS floor (the lowest of the once-a-second readings in each
 * interval, i.e. what the GC sawtooth comes back down to) grows by less than SOAK_MAX_GROWTH_MB
 * (default 20) between the first and the last samples of the second half (the first half is
 * warm-up: JIT, caches, the SQLite page cache filling). One minute gives only four samples there:
 * an indication; 10 minutes give a verdict. Exit code 1 when it is not flat or a request failed.
 *
 * The live set is bounded (SOAK_LIVE, default 150 experiments; the oldest is completed beyond
 * it), so flags documents stay the same size and any growth is the process's, not the data's.
 *
 *   npx tsc -p tsconfig.build.json && SOAK_MINUTES=10 node dist/bench/soak.js
 */

const MINUTES = Number(process.env['SOAK_MINUTES'] ?? 1);
const SAMPLE_S = Number(process.env['SOAK_SAMPLE_SECONDS'] ?? 10);
const CONCURRENCY = Number(process.env['SOAK_CONCURRENCY'] ?? 8);
const LIVE_CAP = Number(process.env['SOAK_LIVE'] ?? 150);
const MAX_GROWTH_MB = Number(process.env['SOAK_MAX_GROWTH_MB'] ?? 20);
const SERVICES = ['web', 'search', 'checkout-api', 'recommendations'] as const;

interface Live {
  key: string;
  critical: boolean;
  version: number;
  state: string;
  status: string;
  busy: boolean;
}

interface Sample {
  t: number;
  rssMb: number;
  /** Lowest RSS of the 1 Hz readings since the sample before: the floor the GC sawtooth returns to. */
  rssFloorMb: number;
  heapUsedMb: number;
  externalMb: number;
  lagP99Ms: number;
  lagMaxMs: number;
  requests: number;
  rps: number;
  dbMb: number;
  walMb: number;
}

const stats = { requests: 0, byOp: new Map<string, number>(), conflicts: 0, failures: [] as string[] };
/** Per operation and half of the run, request latencies in ms: a slowdown shows as a later half that is slower. */
const latencies = new Map<string, [number[], number[]]>();
let halfAt = Infinity;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** One request; network errors and 5xx are failures, 409s (a race between loops) only counted. */
async function request(base: string, token: string, op: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  stats.requests++;
  stats.byOp.set(op, (stats.byOp.get(op) ?? 0) + 1);
  const started = performance.now();
  try {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const lat = latencies.get(op) ?? [[], []];
    latencies.set(op, lat);
    lat[Date.now() < halfAt ? 0 : 1].push(performance.now() - started);
    if (res.status >= 500) stats.failures.push(`${op}: ${method} ${url} → ${res.status} ${text.slice(0, 200)}`);
    else if (res.status === 409) stats.conflicts++;
    else if (res.status >= 400) stats.failures.push(`${op}: ${method} ${url} → ${res.status} ${text.slice(0, 200)}`);
    return { status: res.status, etag: res.headers.get('etag'), body: res.status === 304 || !text ? undefined : (JSON.parse(text) as any) };
  } catch (err) {
    stats.failures.push(`${op}: ${method} ${url} → ${(err as Error).message}`);
    return { status: 0, etag: null, body: undefined };
  }
}

function intent(key: string, critical: boolean, n: number) {
  const flag = key.replace(/-/g, '_');
  return {
    key,
    owner: 'growth',
    description: `soak ${n}`,
    services: critical
      ? [
          { service: 'web', flag: `${flag}_w` },
          { service: 'checkout-api', flag: `${flag}_c` },
        ]
      : [
          { service: 'search', flag: `${flag}_s` },
          { service: 'recommendations', flag: `${flag}_r` },
        ],
    variants: [
      { key: 'control', weight: 50, value: false },
      { key: 'treatment', weight: 50, value: true, ...(critical ? {} : { overrides: { recommendations: 'v2' } }) },
    ],
    exposure: critical ? 1 + (n % 4) : 1 + (n % 30),
    audience: [{ attribute: 'country', op: 'in', values: ['US', 'CA'] }],
    data_access: ['clickstream'],
  };
}

async function main(): Promise<void> {
  const port = await freePort();
  // Its own folder, outside the bench's temp-folder naming, so no other benchmark's clean-up can
  // remove the database under a running soak.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-soak-'));
  const server: RunningServer = await startServer(port, { dbPath: path.join(dir, 'soak.db') });
  const base = server.base;
  const token = async (spec: Record<string, unknown>) => (await api(base, ADMIN, 'POST', '/v1/tokens', spec)).token as string;
  const owner = await token({ name: 'soak-owner', role: 'owner', team: 'growth' });
  const sre = await token({ name: 'soak-sre', role: 'approver', approval_roles: ['sre'] });
  const operator = await token({ name: 'soak-operator', role: 'operator' });
  const reader = await token({ name: 'soak-reader', role: 'governance' });

  const live: Live[] = [];
  const etags = new Map<string, string>();
  let n = 0;
  let eventsCursor = 0;
  const deadline = Date.now() + MINUTES * 60_000;
  halfAt = Date.now() + MINUTES * 30_000;
  const claim = (pred: (l: Live) => boolean) => {
    const c = live.filter((l) => !l.busy && pred(l));
    const l = c[Math.floor(Math.random() * c.length)];
    if (l) l.busy = true;
    return l;
  };

  async function step(): Promise<void> {
    const r = Math.random();
    if (r < 0.1) {
      const i = n++;
      const critical = i % 3 === 0;
      const key = `soak-${i}`;
      const res = await request(base, owner, 'submit', 'POST', '/v1/intents', intent(key, critical, i));
      if (res.status === 201) live.push({ key, critical, version: 1, state: res.body.state, status: res.body.status, busy: false });
      // Keep the live set bounded: complete the oldest idle experiment beyond the cap.
      while (live.length > LIVE_CAP) {
        const old = live.find((l) => !l.busy);
        if (!old) break;
        live.splice(live.indexOf(old), 1);
        await request(base, operator, 'complete', 'POST', `/v1/intents/${old.key}/actions`, { action: 'complete', reason: 'soak: live cap' });
      }
    } else if (r < 0.18) {
      const l = claim((x) => x.state !== 'completed');
      if (!l) return;
      const res = await request(base, owner, 'put', 'PUT', `/v1/intents/${l.key}`, intent(l.key, l.critical, n++));
      if (res.status === 200) Object.assign(l, { version: res.body.intent.version, state: res.body.state, status: res.body.status });
      l.busy = false;
    } else if (r < 0.26) {
      const l = claim((x) => x.status === 'pending_approval');
      if (!l) return;
      const res = await request(base, sre, 'approve', 'POST', `/v1/intents/${l.key}/approvals`, { comment: 'soak' });
      if (res.status === 201) Object.assign(l, { state: res.body.state, status: res.body.status });
      l.busy = false;
    } else if (r < 0.36) {
      const l = claim((x) => x.state === 'running' || x.state === 'paused');
      if (!l) return;
      const action = l.state === 'running' ? 'pause' : 'resume';
      const res = await request(base, operator, action, 'POST', `/v1/intents/${l.key}/actions`, { action, reason: 'soak' });
      if (res.status === 200) Object.assign(l, { state: res.body.state, status: res.body.status });
      l.busy = false;
    } else if (r < 0.5) {
      await request(base, owner, 'evaluate', 'POST', '/v1/intents:evaluate', intent(`soak-eval-${n % 1000}`, n % 2 === 0, n));
    } else if (r < 0.95) {
      const service = SERVICES[Math.floor(Math.random() * SERVICES.length)]!;
      const conditional = Math.random() < 0.5 && etags.has(service);
      const res = await request(base, reader, conditional ? 'flags 304?' : 'flags', 'GET', `/v1/services/${service}/flags`, undefined, conditional ? { 'if-none-match': etags.get(service)! } : {});
      if (res.etag) etags.set(service, res.etag);
    } else {
      // A mirroring consumer: follows the change feed from its cursor.
      const res = await request(base, reader, 'events', 'GET', `/v1/events?after=${eventsCursor}&limit=100`);
      if (res.body?.next_cursor) eventsCursor = Math.max(eventsCursor, Number(res.body.next_cursor));
    }
  }

  async function loop(): Promise<void> {
    while (Date.now() < deadline) await step();
  }

  const t0 = Date.now();
  const samples: Sample[] = [];
  let lastRequests = 0;
  // RSS is read every second; each sample keeps the floor of its interval. A heap full of garbage
  // that has not been collected yet inflates one reading, not the floor: a leak raises the floor.
  let floor = Infinity;
  const rssPoll = setInterval(() => {
    floor = Math.min(floor, rssMb(server.pid));
  }, 1000);
  let lastT = t0;
  const metric = (text: string, name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const fileMb = (p: string) => (fs.existsSync(p) ? fs.statSync(p).size / 2 ** 20 : 0);
  async function sample(): Promise<void> {
    const res = await fetch(`${base}/metrics`);
    const text = await res.text();
    const now = Date.now();
    const rss = rssMb(server.pid);
    const s: Sample = {
      t: (now - t0) / 1000,
      rssMb: rss,
      rssFloorMb: Math.min(floor, rss),
      heapUsedMb: metric(text, 'switchyard_nodejs_heap_size_used_bytes') / 2 ** 20,
      externalMb: metric(text, 'switchyard_nodejs_external_memory_bytes') / 2 ** 20,
      lagP99Ms: metric(text, 'switchyard_nodejs_eventloop_lag_p99_seconds') * 1000,
      lagMaxMs: metric(text, 'switchyard_nodejs_eventloop_lag_max_seconds') * 1000,
      requests: stats.requests,
      rps: ((stats.requests - lastRequests) * 1000) / Math.max(1, now - lastT),
      dbMb: fileMb(server.dbPath),
      walMb: fileMb(`${server.dbPath}-wal`),
    };
    lastRequests = stats.requests;
    lastT = now;
    floor = Infinity;
    samples.push(s);
    process.stderr.write(`soak: t=${s.t.toFixed(0)} s rss=${s.rssMb.toFixed(1)} MiB lag p99=${s.lagP99Ms.toFixed(1)} ms ${s.rps.toFixed(0)} req/s\n`);
  }

  process.stderr.write(`soak: ${MINUTES} min, ${CONCURRENCY} loops against ${base} (pid ${server.pid}), sampling every ${SAMPLE_S} s\n`);
  await sample();
  // Samples on a fixed grid (t0 + i × SAMPLE_S), the last one at the deadline, one at a time.
  const sampler = (async () => {
    const count = Math.floor((MINUTES * 60) / SAMPLE_S);
    for (let i = 1; i <= count; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + i * SAMPLE_S * 1000 - Date.now())));
      await sample();
    }
  })();
  await Promise.all([sampler, ...Array.from({ length: CONCURRENCY }, () => loop())]);
  clearInterval(rssPoll);
  const storage = storageReport(server.dbPath);
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });

  // The verdict: growth of the RSS floor across the second half, between the mean of its first k
  // samples' floors and the mean of its last k (k up to 3), and the least-squares slope for context.
  const secondHalf = samples.filter((s) => s.t >= (MINUTES * 60) / 2 - 1);
  const first = secondHalf[0]!;
  const last = secondHalf[secondHalf.length - 1]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const k = Math.max(1, Math.min(3, Math.floor(secondHalf.length / 2)));
  const head = mean(secondHalf.slice(0, k).map((s) => s.rssFloorMb));
  const tail = mean(secondHalf.slice(-k).map((s) => s.rssFloorMb));
  const growth = tail - head;
  const mt = mean(secondHalf.map((s) => s.t));
  const mr = mean(secondHalf.map((s) => s.rssFloorMb));
  const den = secondHalf.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const slopePerMin = den === 0 ? 0 : (secondHalf.reduce((a, s) => a + (s.t - mt) * (s.rssFloorMb - mr), 0) / den) * 60;
  const flat = growth < MAX_GROWTH_MB;

  const f = (v: number, d = 1) => (Number.isNaN(v) ? 'n/a' : v.toFixed(d));
  const lines = [
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}; ${MINUTES} min, ${CONCURRENCY} loops, live cap ${LIVE_CAP}`,
    '',
    '| t (s) | RSS (MiB) | RSS floor (MiB) | heap used (MiB) | external (MiB) | loop delay p99 (ms) | loop delay max (ms) | req/s | requests | db (MiB) | wal (MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...samples.map(
      (s) =>
        `| ${f(s.t, 0)} | ${f(s.rssMb)} | ${f(s.rssFloorMb)} | ${f(s.heapUsedMb)} | ${f(s.externalMb)} | ${f(s.lagP99Ms)} | ${f(s.lagMaxMs)} | ${f(s.rps, 0)} | ${s.requests} | ${f(s.dbMb)} | ${f(s.walMb)} |`,
    ),
    '',
    '| operation | requests | p50 first half (ms) | p50 second half (ms) | p99 first half (ms) | p99 second half (ms) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...[...latencies].sort(([a], [b]) => a.localeCompare(b)).map(([op, [a, b]]) => {
      const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : NaN);
      return `| ${op} | ${a.length + b.length} | ${f(pct(a, 0.5))} | ${f(pct(b, 0.5))} | ${f(pct(a, 0.99))} | ${f(pct(b, 0.99))} |`;
    }),
    '',
    `requests by kind: ${[...stats.byOp].map(([k, v]) => `${k} ${v}`).join(', ')}; 409 conflicts ${stats.conflicts}; failures ${stats.failures.length}`,
    ...stats.failures.slice(0, 10).map((x) => `  failure: ${x}`),
    `database: ${storage}`,
    `second half (t ${f(first.t, 0)} → ${f(last.t, 0)} s): RSS ${f(first.rssMb)} → ${f(last.rssMb)} MiB; RSS floor, mean of first ${k} ${f(head)} → mean of last ${k} ${f(tail)} MiB ` +
      `(${growth >= 0 ? '+' : ''}${f(growth)} MiB, slope ${f(slopePerMin, 2)} MiB/min); heap used ${f(first.heapUsedMb)} → ${f(last.heapUsedMb)} MiB`,
    `verdict: memory ${flat ? 'FLAT' : 'GROWING'} (growth ${f(growth)} MiB vs threshold ${MAX_GROWTH_MB} MiB); ` +
      `event-loop delay p99 max ${f(Math.max(...samples.map((s) => s.lagP99Ms)))} ms; ${stats.failures.length === 0 ? 'no failed requests' : `${stats.failures.length} FAILED requests`}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = flat && stats.failures.length === 0 ? 0 : 1;
}

/** Where the file's bytes are, by table and index (SQLite's dbstat), read while the server still runs. */
function storageReport(dbPath: string): string {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 5').all() as { name: string; bytes: number }[];
    const versions = db.prepare('SELECT count(*) FROM flag_documents').pluck().get() as number;
    const docs = db.prepare('SELECT count(*) AS n, avg(length(document)) AS avg FROM flag_document_bodies').get() as { n: number; avg: number | null };
    return (
      rows.map((r) => `${r.name} ${(r.bytes / 2 ** 20).toFixed(1)} MiB`).join(', ') +
      `; ${versions} flags document versions, ${docs.n} bodies kept, ${((docs.avg ?? 0) / 1024).toFixed(1)} KiB each on average`
    );
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
