import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE = path.join(ROOT, 'build/policy/bundle.tar.gz');
export const ADMIN = 'sy_bench_admin_token_0123456789abcdef';

export interface Row {
  section: string;
  name: string;
  metric: string;
  value: number;
  unit: string;
  peer?: { name: string; value: number };
  note?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Times `fn` `n` times, one hrtime pair per call; returns per-call nanoseconds sorted. */
export function timeEach(n: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** Average ns per call over a tight loop: for sub-microsecond work where hrtime per call would dominate. */
export function timeLoop(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

export interface RunningServer {
  base: string;
  child: ChildProcess;
  dir: string;
  rssKb(): number;
  stop(): Promise<void>;
}

/** Starts the real server (built dist/) as its own process on a fresh SQLite file. */
export async function startServer(port: number, env: Record<string, string> = {}): Promise<RunningServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SWITCHYARD_DB: path.join(dir, 'bench.db'),
      SWITCHYARD_BOOTSTRAP_TOKEN: ADMIN,
      SWITCHYARD_POLICY_BUNDLE: BUNDLE,
      SWITCHYARD_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += String(c);
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    child,
    dir,
    rssKb() {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      } catch {
        return NaN;
      }
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
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

export type LoadOptions = autocannon.Options;

/** One autocannon run; returns requests/s (mean), latency p50/p99 in ms, and non-2xx/3xx counts. */
export async function load(opts: LoadOptions): Promise<{ rps: number; p50: number; p99: number; errors: number; non2xx: number; total: number }> {
  const result = await autocannon({ connections: 10, duration: 5, ...opts });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

export function table(rows: Row[]): string {
  const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2));
  const head = ['section', 'benchmark', 'metric', 'ours', 'peer', 'ratio', 'note'];
  const body = rows.map((r) => [
    r.section,
    r.name,
    `${r.metric} (${r.unit})`,
    fmt(r.value),
    r.peer ? `${fmt(r.peer.value)} ${r.peer.name}` : '',
    r.peer ? `${(r.unit.includes('/s') ? r.value / r.peer.value : r.peer.value / r.value).toFixed(1)}×` : '',
    r.note ?? '',
  ]);
  const lines = [head, head.map(() => '---'), ...body].map((cols) => `| ${cols.join(' | ')} |`);
  return lines.join('\n');
}
