import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { systemClock } from '../src/clock.js';
import { createContainer, type Container } from '../src/container.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository: two up from dist/bench, where `make bench` runs it; one up from bench/, where a test imports it. */
export const ROOT = path.resolve(HERE, path.basename(path.dirname(HERE)) === 'dist' ? '../..' : '..');
export const BUNDLE = path.join(ROOT, 'build/policy/bundle.tar.gz');
export const OPA = path.join(ROOT, '.tools/opa-v1.22.3/opa');
/** The flagd daemon `make bench` builds from bench/peers/flagd (it passes the path). */
export const FLAGD = process.env['SWITCHYARD_BENCH_FLAGD'] ?? '';
/** OPA's Go evaluator (bench/peers/opa-eval), built by `make bench` (it passes the path). */
export const OPA_EVAL = process.env['SWITCHYARD_BENCH_OPA_EVAL'] ?? '';
export const ADMIN = 'sy_bench_admin_token_0123456789abcdef';
/** Every HTTP load phase, ours and the peer's, uses this many connections. */
export const CONNECTIONS = 10;

/**
 * Where things run, for every peer alike: each server (ours and every peer) on core 0, this
 * process on core 1 while it generates load or times round trips, so the load generator never
 * takes CPU from the server it measures. In-process timings (ours and the peer's alike) get both
 * cores: our policy engine hands each decision to a worker thread, which must not share one core
 * with the caller. Without `taskset`, or with one core, nothing is pinned and a note says so.
 * `make bench` (bench/run.ts) turns it on with `usePinning()`; other scripts (the soak) leave
 * their processes where the system puts them.
 */
export const PINNING = pinningPlan();
let pinning = false;

export function usePinning(): void {
  pinning = PINNING.on;
}
export const SERVER_CORES = '0';
export const LOAD_CORES = '1';

function pinningPlan(): { on: boolean; all: string; note: string } {
  const n = os.cpus().length;
  const all = `0-${Math.max(0, n - 1)}`;
  let has = false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    has = true;
  } catch {
    has = false;
  }
  if (!has) return { on: false, all, note: 'taskset is missing: servers and the load generator share every core (not pinned)' };
  if (n < 2) return { on: false, all, note: 'one core: servers and the load generator share it (not pinned)' };
  return { on: true, all, note: 'servers on core 0, load generator on core 1 (taskset); in-process timings on every core' };
}

/** Moves every thread of this process onto `cores` (a taskset list). */
function pinSelf(cores: string): void {
  if (pinning) execFileSync('taskset', ['-a', '-p', '-c', cores, String(process.pid)], { stdio: 'ignore' });
}

/** Moves a process we did not spawn through `startChild` (PostgreSQL's) onto the server core, when pinning is on. */
export function pinToServerCore(pid: number): void {
  if (pinning) execFileSync('taskset', ['-a', '-p', '-c', SERVER_CORES, String(pid)], { stdio: 'ignore' });
}

/** Runs `fn` (load or round trips) with this process on the load generator's core, then gives it every core back. */
export async function onLoadCore<T>(fn: () => Promise<T>): Promise<T> {
  pinSelf(LOAD_CORES);
  try {
    return await fn();
  } finally {
    pinSelf(PINNING.all);
  }
}

/**
 * `rounds` rounds of every side's phase, taking turns, the order reversed every other round
 * (a b, b a, a b, …), so that neither side always runs first, right after a warm-up or right
 * before a neighbour's burst. The results of each side, in round order.
 */
export async function alternate<T>(rounds: number, sides: (() => Promise<T> | T)[]): Promise<T[][]> {
  const out: T[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) out[i]!.push(await sides[i]!());
  }
  return out;
}

/** The median of some rounds' results, with the lowest and the highest beside it. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: number[]): Spread {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median: mid, min: s[0]!, max: s[s.length - 1]! };
}

export interface Row {
  section: string;
  name: string;
  metric: string;
  value: number;
  unit: string;
  /** Lowest and highest of the rounds whose median is `value`, where the row has rounds. */
  range?: [number, number];
  /** The peer doing the same work in the same run. */
  peer?: { name: string; value: number; range?: [number, number] };
  note?: string;
}

/** A row's value and range from rounds. */
export const fromRounds = (x: Spread): { value: number; range: [number, number] } => ({ value: x.median, range: [x.min, x.max] });

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Times `fn` `n` times, one hrtime pair per call; returns per-call nanoseconds sorted. */
/** timeEach for an asynchronous call (awaited each time, so the await is part of what is timed). */
export async function timeEachAsync(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return out.sort((a, b) => a - b);
}

export function timeEach(n: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Nanoseconds per call of each function over tight loops, for sub-microsecond work where an
 * hrtime pair per call would dominate: a warm-up, then `rounds` timed loops of each, taking turns
 * (`alternate`: the order flips every round) so that a neighbour stealing the CPU for a while
 * hurts both sides alike; each function's median round with the lowest and highest beside it.
 */
export async function timeLoops(n: number, fns: ((i: number) => void)[], rounds = 7): Promise<Spread[]> {
  for (const fn of fns) for (let i = 0; i < Math.min(n, 100_000); i++) fn(i);
  const perCall = await alternate(
    rounds,
    fns.map((fn) => () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn(i);
      return Number(process.hrtime.bigint() - t0) / n;
    }),
  );
  return perCall.map(spread);
}

/**
 * p50 and p99 rows in µs from rounds of per-call nanoseconds (each round sorted): the median
 * round's percentile, with the lowest and highest round beside it; the peer's alike.
 */
export function latencyRows(section: string, name: string, ours: number[][], peer?: { name: string; ns: number[][] }, note?: string): Row[] {
  const at = (rounds: number[][], p: number) => fromRounds(spread(rounds.map((ns) => percentile(ns, p) / 1000)));
  const rows: Row[] = [50, 99].map((p) => {
    const mine = at(ours, p);
    return {
      section,
      name,
      metric: `p${p}`,
      value: mine.value,
      range: mine.range,
      unit: 'µs',
      ...(peer ? { peer: { name: peer.name, ...at(peer.ns, p) } } : {}),
    };
  });
  if (note) rows[0]!.note = note;
  return rows;
}

export interface Child {
  pid: number;
  /** Resident set size in MiB, read from /proc. */
  rssMb(): number;
  stop(): Promise<void>;
}

let logs = 0;
/**
 * Where children's output goes: memory (tmpfs) where the machine has it, so the disk's writeback
 * of a server's access log is charged to neither side; the server still makes every write.
 */
const LOG_DIR = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

/**
 * Spawns a process and resolves once its stdout matches `ready` (or `probe` answers, for quiet
 * ones). Its stdout and stderr go to a file, not a pipe: the load generator runs in this process,
 * and must not spend its time reading the server's access log. The end of that file is printed
 * if the process exits before `stop()`.
 */
export async function startChild(
  command: string,
  args: string[],
  opts: { env?: Record<string, string>; ready?: RegExp; probe?: string; cleanup?: () => void },
): Promise<Child> {
  const logFile = path.join(LOG_DIR, `switchyard-bench-${process.pid}-${logs++}.log`);
  const fd = fs.openSync(logFile, 'w');
  // Every server, ours and each peer, on the server core (taskset execs the command: same pid).
  const [cmd, argv] = pinning ? ['taskset', ['-c', SERVER_CORES, command, ...args]] : [command, args];
  const child: ChildProcess = spawn(cmd, argv, { env: { ...process.env, ...opts.env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const tail = () => {
    try {
      const text = fs.readFileSync(logFile, 'utf8');
      return text.slice(-8_000);
    } catch {
      return '';
    }
  };
  let stopping = false;
  let exitedYet = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedYet = true;
      if (!stopping) process.stderr.write(`bench: ${path.basename(command === process.execPath ? (args[0] ?? command) : command)} exited unexpectedly (${signal ?? code}); its last output:\n${tail()}\n`);
      resolve();
    }),
  );
  const ready = opts.ready ? waitForOutput(logFile, opts.ready, () => exitedYet) : waitForHttp(opts.probe!);
  await Promise.race([ready, exited.then(() => Promise.reject(new Error(`${path.basename(command)} exited before it was ready`)))]);
  return {
    pid: child.pid!,
    rssMb: () => rssMb(child.pid!),
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(logFile, { force: true });
      opts.cleanup?.();
    },
  };
}

async function waitForOutput(file: string, ready: RegExp, gone: () => boolean): Promise<void> {
  while (!gone()) {
    if (ready.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer`);
}

export function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system) a process has used, in µs, from /proc (clock ticks of 10 ms: read it
 * around phases of seconds). Unlike throughput it barely moves when a neighbour takes the other core.
 */
export function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

export interface RunningServer extends Child {
  base: string;
  dbPath: string;
}

/**
 * Starts the real server (built dist/) as its own process, on a fresh SQLite file unless `dbPath`
 * names one. It logs at its default level (info: one pino line per request), as deployed.
 */
export async function startServer(port: number, opts: { dbPath?: string; env?: Record<string, string> } = {}): Promise<RunningServer> {
  const dir = opts.dbPath ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const dbPath = opts.dbPath ?? path.join(dir!, 'bench.db');
  const child = await startChild(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      SWITCHYARD_SYNC_PORT: '0',
      SWITCHYARD_DB: dbPath,
      SWITCHYARD_BOOTSTRAP_TOKEN: ADMIN,
      SWITCHYARD_POLICY_BUNDLE: BUNDLE,
      ...opts.env,
    },
    ready: /listening on/,
    cleanup: () => dir && fs.rmSync(dir, { recursive: true, force: true }),
  });
  return { ...child, base: `http://127.0.0.1:${port}`, dbPath };
}

/** `opa run --server` on loopback with the policies/ sources (tests left out), logging errors only. */
export function startOpa(port: number): Promise<Child> {
  const addr = `127.0.0.1:${port}`;
  const args = ['run', '--server', '--addr', addr, '--ignore', '*_test.rego', '--log-level', 'error', '--skip-version-check', path.join(ROOT, 'policies')];
  return startChild(OPA, args, { probe: `http://${addr}/health` });
}

/** flagd's OFREP bulk route (ours is the same below `/v1/services/{service}`). */
export const FLAGD_BULK = '/ofrep/v1/evaluate/flags';

/**
 * The flagd daemon serving one flag file: OFREP on `port`, its other three listeners (gRPC
 * evaluation, management, sync) on the next three ports, at its default log level (info, which
 * writes no line per evaluation). Resolves once it serves the file's flags: flagd answers its
 * readiness probe before its file sync has loaded them.
 */
export async function startFlagd(port: number, file: string): Promise<Child> {
  if (!FLAGD) throw new Error('SWITCHYARD_BENCH_FLAGD is not set: run the benchmarks with `make bench`, which builds flagd');
  const ports = ['--ofrep-port', port, '--port', port + 1, '--management-port', port + 2, '--sync-port', port + 3].map(String);
  const child = await startChild(FLAGD, ['start', '--uri', `file:${file}`, ...ports], { probe: `http://127.0.0.1:${port + 2}/readyz` });
  const wanted = Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { flags: object }).flags).length;
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`http://127.0.0.1:${port}${FLAGD_BULK}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"context":{}}' });
    if (((await res.json()) as { flags?: unknown[] }).flags?.length === wanted) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  await child.stop();
  throw new Error(`flagd did not load the ${wanted} flags of ${file}`);
}

/**
 * The domain services in this process on a fresh SQLite file, for seeding a state that a server
 * then serves from a copy (`serveCopy`). Seeding runs with synchronous=OFF; what is measured runs
 * in a server started on the copy, with the durable settings.
 */
export async function seedingContainer(): Promise<Container> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-seed-'));
  const c = await createContainer({ dbPath: path.join(dir, 'seed.db'), policyBundlePath: BUNDLE, clock: systemClock, logger: pino({ level: 'silent' }) });
  c.db.pragma('synchronous = OFF');
  return c;
}

export async function dispose(c: Container): Promise<void> {
  const dir = path.dirname(c.db.name);
  await c.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs `fn` against the real server started on a copy of the container's database. */
export async function serveCopy<T>(c: Container, port: number, fn: (server: RunningServer) => Promise<T>): Promise<T> {
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

export async function api(base: string, token: string, method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status every answer must have (200 when absent); any other fails the benchmark. */
  status?: number;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One request on a kept-alive connection; resolves with the status and body once it is read. */
export function send(base: string, call: Call, agent: http.Agent = keepAlive): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + call.path, { method: call.method, headers: call.headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * Round-trip latency: `n` requests one after another on one kept-alive connection (after a
 * warm-up), cycling through `calls`, from the load generator's core; per-request nanoseconds,
 * sorted. This is latency, not load: throughput always comes from autocannon. An answer with
 * another status than the call's fails the benchmark.
 */
export async function roundTrips(base: string, calls: Call[], n: number, warmup = 500): Promise<number[]> {
  return onLoadCore(async () => {
    const out: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const call = calls[i % calls.length]!;
      const t0 = process.hrtime.bigint();
      const { status, body } = await send(base, call);
      if (status !== (call.status ?? 200)) throw new Error(`${call.method} ${base}${call.path} answered ${status}, not ${call.status ?? 200}: ${body.slice(0, 500)}`);
      if (i >= warmup) out.push(Number(process.hrtime.bigint() - t0));
    }
    return out.sort((a, b) => a - b);
  });
}

export interface LoadResult {
  rps: number;
  /** Latency percentiles in µs, from every answer's own time (autocannon's histogram keeps whole ms). */
  p50: number;
  p99: number;
}

/**
 * One autocannon run with `CONNECTIONS` connections, cycling through `calls`, after a one-second
 * warm-up unless told not to, with this process on the load generator's core: requests/s (mean)
 * and latency p50/p99 in µs. Any failed request (a socket error, a timeout, or an answer with
 * another status than its call's) fails the benchmark: a number measured on errors means nothing.
 */
export async function load(base: string, calls: Call[], seconds: number, warmup = true, connections = CONNECTIONS): Promise<LoadResult> {
  let next = 0;
  // A copy of the headers: autocannon writes Content-Length into the object it is given, which
  // would then travel with any other request made from the same call.
  const setupRequest = (req: any) => {
    const call = calls[next++ % calls.length]!;
    return { ...req, ...call, headers: { ...call.headers } };
  };
  const requests = [{ setupRequest }];
  const opts = { url: base, connections, requests } as autocannon.Options;
  const wanted = new Set(calls.map((c) => c.status ?? 200));
  return onLoadCore(async () => {
    if (warmup) checkLoad(base, calls, wanted, await autocannon({ ...opts, duration: 1 }));
    const ms: number[] = [];
    // The instance is an event emitter and a promise of the result; each answer reports its own time.
    const run = autocannon({ ...opts, duration: seconds }) as unknown as Promise<autocannon.Result>;
    (run as unknown as import('node:events').EventEmitter).on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => void ms.push(responseTime));
    const r = await run;
    checkLoad(base, calls, wanted, r);
    ms.sort((a, b) => a - b);
    return { rps: r.requests.average, p50: percentile(ms, 50) * 1000, p99: percentile(ms, 99) * 1000 };
  });
}

function checkLoad(base: string, calls: Call[], wanted: Set<number>, r: autocannon.Result): void {
  const other = Object.entries(r.statusCodeStats ?? {}).filter(([code]) => !wanted.has(Number(code)));
  const answered = other.reduce((n, [, s]) => n + (s.count ?? 0), 0);
  if (r.errors || r.timeouts || answered) {
    const codes = other.map(([code, s]) => `${s.count} × ${code}`).join(', ');
    throw new Error(
      `load on ${base}${calls[0]!.path} had failed requests: ${r.errors} socket errors, ${r.timeouts} timeouts` +
        `${answered ? `, answers other than ${[...wanted].join('/')}: ${codes}` : ''}; no number is reported for it`,
    );
  }
}

export interface Target {
  base: string;
  calls: Call[];
}

/** Rounds of load results, summarised as the median round with the lowest and highest beside it. */
export interface LoadRounds {
  rps: Spread;
  p50: Spread;
  p99: Spread;
}

export function summarise(rounds: LoadResult[]): LoadRounds {
  return { rps: spread(rounds.map((r) => r.rps)), p50: spread(rounds.map((r) => r.p50)), p99: spread(rounds.map((r) => r.p99)) };
}

/**
 * Ours against a peer: after a warm-up of each, `rounds` load phases taking turns (`alternate`:
 * ours first in one round, the peer first in the next). A neighbour on the machine that slows
 * one phase then moves one round, not the median, and the range shows it.
 */
export async function loadPair(ours: Target, peer: Target, seconds: number, rounds = 3): Promise<[LoadRounds, LoadRounds]> {
  await load(ours.base, ours.calls, 1, false);
  await load(peer.base, peer.calls, 1, false);
  const [a, b] = await alternate(rounds, [() => load(ours.base, ours.calls, seconds, false), () => load(peer.base, peer.calls, seconds, false)]);
  return [summarise(a!), summarise(b!)];
}

/** Throughput and p99 rows for load rounds, ours against a peer's when given. */
export function loadRows(section: string, name: string, ours: LoadRounds, peer?: { name: string; result: LoadRounds }): Row[] {
  return [
    {
      section,
      name,
      metric: 'throughput',
      ...fromRounds(ours.rps),
      unit: 'req/s',
      ...(peer ? { peer: { name: peer.name, ...fromRounds(peer.result.rps) } } : {}),
    },
    { section, name, metric: 'p99 under load', ...fromRounds(ours.p99), unit: 'µs', ...(peer ? { peer: { name: peer.name, ...fromRounds(peer.result.p99) } } : {}) },
  ];
}

/**
 * How many times better ours is: >1 means ours wins (higher throughput, or lower time). Undefined
 * where a value is 0 (autocannon's old whole-millisecond latencies read 0 under 1 ms).
 */
export function ratio(r: Row): number | undefined {
  if (!r.peer || r.value === 0 || r.peer.value === 0) return undefined;
  return r.unit.endsWith('/s') ? r.value / r.peer.value : r.peer.value / r.value;
}

/** A figure as the table prints it: µs with one decimal, thousands grouped, "<1" for a 0 in ms. */
export function fmt(v: number, unit: string): string {
  if (Number.isNaN(v)) return 'n/a';
  if (v === 0 && unit === 'ms') return '<1';
  if (unit === 'µs') return v.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2);
}

export function table(rows: Row[]): string {
  const shown = (v: number, unit: string, range?: [number, number]) => `${fmt(v, unit)}${range && range[0] !== range[1] ? ` (${fmt(range[0], unit)}–${fmt(range[1], unit)})` : ''}`;
  const head = ['section', 'benchmark', 'metric', 'ours', 'peer', 'ratio', 'note'];
  const body = rows.map((r) => {
    const x = ratio(r);
    const times = x !== undefined ? `${x.toFixed(1)}×` : r.peer && r.peer.value === 0 && r.value > 0 ? `<${(1 / r.value).toFixed(2)}×` : '';
    return [
      r.section,
      r.name,
      `${r.metric} (${r.unit})`,
      shown(r.value, r.unit, r.range),
      r.peer ? `${shown(r.peer.value, r.unit, r.peer.range)} ${r.peer.name}` : '',
      times,
      r.note ?? '',
    ];
  });
  return [head, head.map(() => '---'), ...body].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}
