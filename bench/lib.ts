import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE = path.join(ROOT, 'build/policy/bundle.tar.gz');
export const OPA = path.join(ROOT, '.tools/opa-v1.22.3/opa');
/** The flagd daemon `make bench` builds from bench/peers/flagd (it passes the path). */
export const FLAGD = process.env['SWITCHYARD_BENCH_FLAGD'] ?? '';
export const ADMIN = 'sy_bench_admin_token_0123456789abcdef';
/** Every HTTP load phase, ours and the peer's, uses this many connections. */
export const CONNECTIONS = 10;

export interface Row {
  section: string;
  name: string;
  metric: string;
  value: number;
  unit: string;
  /** The peer doing the same work in the same run. */
  peer?: { name: string; value: number };
  note?: string;
}

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
 * so that a neighbour stealing the CPU for a while hurts both sides alike; the median round of each.
 */
export function timeLoops(n: number, fns: ((i: number) => void)[], rounds = 7): number[] {
  for (const fn of fns) for (let i = 0; i < Math.min(n, 100_000); i++) fn(i);
  const perCall: number[][] = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, f) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn(i);
      perCall[f]!.push(Number(process.hrtime.bigint() - t0) / n);
    });
  }
  return perCall.map((xs) => xs.sort((a, b) => a - b)[Math.floor(rounds / 2)]!);
}

/** p50, p99 and throughput rows from sorted per-call nanoseconds, each with the peer's figure if given. */
export function latencyRows(section: string, name: string, ours: number[], peer?: { name: string; ns: number[] }, note?: string): Row[] {
  const us = (ns: number[], p: number) => percentile(ns, p) / 1000;
  const rows: Row[] = [50, 99].map((p) => ({
    section,
    name,
    metric: `p${p}`,
    value: us(ours, p),
    unit: 'µs',
    ...(peer ? { peer: { name: peer.name, value: us(peer.ns, p) } } : {}),
  }));
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
  const child: ChildProcess = spawn(command, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', fd, fd] });
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
      if (!stopping) process.stderr.write(`bench: ${path.basename(args[0] ?? command)} exited unexpectedly (${signal ?? code}); its last output:\n${tail()}\n`);
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
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One request on a kept-alive connection; resolves with the status once the body is read. */
function send(base: string, call: Call): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + call.path, { method: call.method, headers: call.headers, agent: keepAlive }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * Round-trip latency: `n` requests one after another on one kept-alive connection (after a
 * warm-up), cycling through `calls`; per-request nanoseconds, sorted. This is latency, not load:
 * throughput always comes from autocannon.
 */
export async function roundTrips(base: string, calls: Call[], n: number, warmup = 500): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = process.hrtime.bigint();
    const status = await send(base, calls[i % calls.length]!);
    if (status >= 400) throw new Error(`${calls[i % calls.length]!.path} answered ${status}`);
    if (i >= warmup) out.push(Number(process.hrtime.bigint() - t0));
  }
  return out.sort((a, b) => a - b);
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts and 4xx/5xx answers (a 304 is a success). */
  failed: number;
}

/**
 * One autocannon run with `CONNECTIONS` connections, cycling through `calls`, after a one-second
 * warm-up; requests/s (mean), latency p50/p99 in ms, failures.
 */
export async function load(base: string, calls: Call[], seconds: number, warmup = true): Promise<LoadResult> {
  let next = 0;
  // A copy of the headers: autocannon writes Content-Length into the object it is given, which
  // would then travel with any other request made from the same call.
  const setupRequest = (req: any) => {
    const call = calls[next++ % calls.length]!;
    return { ...req, ...call, headers: { ...call.headers } };
  };
  const requests = [{ setupRequest }];
  const opts = { url: base, connections: CONNECTIONS, requests } as autocannon.Options;
  if (warmup) await autocannon({ ...opts, duration: 1 });
  const r = await autocannon({ ...opts, duration: seconds });
  const refused = Object.entries(r.statusCodeStats ?? {}).reduce((n, [code, s]) => (Number(code) >= 400 ? n + (s.count ?? 0) : n), 0);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, failed: r.errors + r.timeouts + refused };
}

export interface Target {
  base: string;
  calls: Call[];
}

/**
 * Ours against a peer whose throughput is close to ours: after a warm-up of each, `rounds`
 * alternating load phases (ours, then the peer's), and for each side the round with its median
 * throughput. A neighbour on the machine that slows one phase then moves one round, not the
 * result. Failures are summed over every round.
 */
export async function loadPair(ours: Target, peer: Target, seconds: number, rounds = 3): Promise<[LoadResult, LoadResult]> {
  await load(ours.base, ours.calls, 1, false);
  await load(peer.base, peer.calls, 1, false);
  const a: LoadResult[] = [];
  const b: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(await load(ours.base, ours.calls, seconds, false));
    b.push(await load(peer.base, peer.calls, seconds, false));
  }
  return [medianRound(a), medianRound(b)];
}

/** The round with the median throughput (its own latencies with it), and every round's failures. */
export function medianRound(rounds: LoadResult[]): LoadResult {
  const mid = [...rounds].sort((x, y) => x.rps - y.rps)[Math.floor(rounds.length / 2)]!;
  return { ...mid, failed: rounds.reduce((n, x) => n + x.failed, 0) };
}

/** Throughput and p99 rows for a load phase, ours against a peer's when given. */
export function loadRows(section: string, name: string, ours: LoadResult, peer?: { name: string; result: LoadResult }): Row[] {
  const bad = ours.failed + (peer?.result.failed ?? 0);
  return [
    {
      section,
      name,
      metric: 'throughput',
      value: ours.rps,
      unit: 'req/s',
      ...(peer ? { peer: { name: peer.name, value: peer.result.rps } } : {}),
      ...(bad ? { note: `${bad} failed requests` } : {}),
    },
    { section, name, metric: 'p99', value: ours.p99, unit: 'ms', ...(peer ? { peer: { name: peer.name, value: peer.result.p99 } } : {}) },
  ];
}

/**
 * How many times better ours is: >1 means ours wins (higher throughput, or lower time). Undefined
 * where a value is 0, which for autocannon's latencies (whole milliseconds) means "under 1 ms".
 */
export function ratio(r: Row): number | undefined {
  if (!r.peer || r.value === 0 || r.peer.value === 0) return undefined;
  return r.unit.endsWith('/s') ? r.value / r.peer.value : r.peer.value / r.value;
}

export function table(rows: Row[]): string {
  const fmt = (v: number, unit: string) =>
    Number.isNaN(v) ? 'n/a' : v === 0 && unit === 'ms' ? '<1' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2);
  const head = ['section', 'benchmark', 'metric', 'ours', 'peer', 'ratio', 'note'];
  const body = rows.map((r) => {
    const x = ratio(r);
    const shown = x !== undefined ? `${x.toFixed(1)}×` : r.peer && r.peer.value === 0 && r.value > 0 ? `<${(1 / r.value).toFixed(2)}×` : '';
    return [r.section, r.name, `${r.metric} (${r.unit})`, fmt(r.value, r.unit), r.peer ? `${fmt(r.peer.value, r.unit)} ${r.peer.name}` : '', shown, r.note ?? ''];
  });
  return [head, head.map(() => '---'), ...body].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}
