import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent } from '../helpers/harness.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';
import { prng } from '../helpers/prng.js';
import { ensureBuilt, startServerProcess, type ServerProcess } from './server-process.js';
import { call, InDoubt } from './workload.js';

/**
 * Durability on PostgreSQL through the real server (dist/src/main.js with SWITCHYARD_DATABASE_URL):
 * 4 HTTP workers submit intents, each with an Idempotency-Key; the process is SIGKILLed at a seeded
 * random moment once some submissions were acknowledged (201), in each of several rounds on the
 * same database, and restarted. Every acknowledged intent must be there after the restart, a retry
 * of any submission (acknowledged or in doubt) with its key must be answered as the first one was
 * (or create it once, if it never committed), and the audit chain must verify.
 * The SQLite counterpart with its file-level invariants is crash-consistency.test.ts.
 */
const ADMIN = 'sy_pgcrash_admin_token_0123456789abcdef';
const ROUNDS = 3;
const ACKS_BEFORE_KILL = 12;
const WORKERS = 4;
const rand = prng(Number(process.env['CRASH_SEED'] ?? 20261129));

describe('durability on PostgreSQL: SIGKILL of the server', () => {
  let db: TestDatabase;
  let dir: string;
  let server: ServerProcess | undefined;
  const start = () => startServerProcess(path.join(dir, 'unused.db'), ADMIN, { SWITCHYARD_DATABASE_URL: db.url });

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(postgresAdminUrl(), 'server_crash');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgcrash-'));
  });
  afterAll(async () => {
    await server?.kill9();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged submission over ${ROUNDS} kills; retries with their keys create nothing twice; the audit chain verifies`, { timeout: 240_000 }, async () => {
    const acked = new Set<string>();
    const inDoubt = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const s = await start();
      server = s;
      let n = 0;
      let killed = false;
      let killing: Promise<void> | undefined;
      const worker = async (w: number) => {
        while (!killed) {
          const key = `r${round}-w${w}-${n++}`;
          try {
            const res = await call(s.base, ADMIN, 'POST', '/v1/intents', simpleIntent(key), { 'idempotency-key': `idem-${key}` });
            if (res.status !== 201) throw new Error(`${key}: ${res.status} ${JSON.stringify(res.body)}`);
            acked.add(key);
            if (acked.size >= (round + 1) * ACKS_BEFORE_KILL && !killing) {
              killed = true;
              // A random 0–20 ms later: other workers' submissions are in flight.
              killing = new Promise<void>((r) => setTimeout(r, Math.floor(rand() * 21))).then(() => s.kill9());
            }
          } catch (err) {
            if (!(err instanceof InDoubt)) throw err;
            inDoubt.add(key);
            return;
          }
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      await killing;
    }

    const s = await start();
    server = s;
    for (const key of acked) {
      const res = await call(s.base, ADMIN, 'GET', `/v1/intents/${key}`);
      expect(res.status, key).toBe(200);
    }
    // A retry with the same key: an acknowledged one replays; one in doubt replays or is created now, once.
    for (const key of [...acked, ...inDoubt]) {
      const retry = await call(s.base, ADMIN, 'POST', '/v1/intents', simpleIntent(key), { 'idempotency-key': `idem-${key}` });
      expect(retry.status, key).toBe(201);
      if (acked.has(key)) expect(retry.replayed, key).toBe(true);
      const again = await call(s.base, ADMIN, 'GET', `/v1/intents/${key}`);
      expect(again.body.version, key).toBe(1);
    }
    const verify = await call(s.base, ADMIN, 'GET', '/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    expect(acked.size).toBeGreaterThanOrEqual(ROUNDS * ACKS_BEFORE_KILL);
    await s.stop();
    server = undefined;
  });
});
