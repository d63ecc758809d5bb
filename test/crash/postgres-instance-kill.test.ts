import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent } from '../helpers/harness.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';
import { ensureBuilt, startServerProcess, type ServerProcess } from './server-process.js';
import { call, InDoubt } from './workload.js';

/**
 * SPEC §11, issue #16: three server processes (dist/src/main.js) on one PostgreSQL database take
 * a burst of keyed submissions spread over all three; one of them is SIGKILLed mid-burst while the
 * others keep taking writes. Every acknowledged submission is there, read through the survivors;
 * a retry of any submission with its Idempotency-Key, sent to a DIFFERENT instance than the first
 * time, is answered as the first one was (or creates it once, if it never committed): the record
 * was written in the same unit as the intent, in the shared database. The audit chain verifies.
 */
const ADMIN = 'sy_pgmulti_admin_token_0123456789abcdef';
const WORKERS = 6;
const ACKS_BEFORE_KILL = 24;
const ACKS_AFTER_KILL = 24;

describe('many instances: SIGKILL of one mid-burst', () => {
  let db: TestDatabase;
  let dir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(postgresAdminUrl(), 'instance_kill');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgmulti-'));
    // One after the other: the first migrates and bootstraps the admin token; the others find both.
    const env = { SWITCHYARD_DATABASE_URL: db.url, SWITCHYARD_STREAM_TICKET_SECRET: 'one-secret-for-every-instance-0123456789' };
    for (let i = 0; i < 3; i++) servers.push(await startServerProcess(path.join(dir, 'unused.db'), ADMIN, env));
  });
  afterAll(async () => {
    for (const s of servers) await s.kill9();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged write; keyed retries on another instance create nothing twice; one audit chain', { timeout: 120_000 }, async () => {
    const [a, b, victim] = servers as [ServerProcess, ServerProcess, ServerProcess];
    /** Each key with the instance its first attempt went to. */
    const acked = new Map<string, number>();
    const inDoubt = new Map<string, number>();
    let killing: Promise<void> | undefined;
    let n = 0;
    const done = () => acked.size >= ACKS_BEFORE_KILL + ACKS_AFTER_KILL;
    const worker = async (w: number) => {
      const target = w % 3;
      const s = servers[target]!;
      while (!done()) {
        const key = `w${w}-${n++}`;
        try {
          const res = await call(s.base, ADMIN, 'POST', '/v1/intents', simpleIntent(key), { 'idempotency-key': `idem-${key}` });
          if (res.status !== 201) throw new Error(`${key}: ${res.status} ${JSON.stringify(res.body)}`);
          acked.set(key, target);
          if (acked.size >= ACKS_BEFORE_KILL && !killing) killing = victim.kill9();
        } catch (err) {
          if (!(err instanceof InDoubt)) throw err;
          inDoubt.set(key, target);
          return; // this worker's instance is gone
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    await killing;
    expect(killing, 'the victim was killed mid-burst').toBeDefined();
    expect([...acked.values()].filter((t) => t === 2).length, 'the victim acknowledged writes before it died').toBeGreaterThan(0);

    const survivors = [a, b];
    for (const [key] of acked) {
      for (const s of survivors) expect((await call(s.base, ADMIN, 'GET', `/v1/intents/${key}`)).status, key).toBe(200);
    }
    // Retries go to an instance other than the first attempt's (the victim's go to A or B).
    for (const [key, target] of [...acked, ...inDoubt]) {
      const s = survivors[(target + 1) % 2]!;
      const retry = await call(s.base, ADMIN, 'POST', '/v1/intents', simpleIntent(key), { 'idempotency-key': `idem-${key}` });
      expect(retry.status, key).toBe(201);
      if (acked.has(key)) expect(retry.replayed, key).toBe(true);
      expect((await call(s.base, ADMIN, 'GET', `/v1/intents/${key}`)).body.version, key).toBe(1);
    }
    for (const s of survivors) expect((await call(s.base, ADMIN, 'GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });

    // SWITCHYARD_STREAM_TICKET_SECRET as main.ts reads it: an OFREP event-stream ticket from A opens the stream on B.
    const web = (await call(a.base, ADMIN, 'POST', '/v1/tokens', { name: 'web', role: 'service', service: 'web' })).body.token as string;
    const deadline = performance.now() + 2000;
    while ((await call(b.base, web, 'GET', '/v1/whoami')).status !== 200) {
      if (performance.now() > deadline) throw new Error('B did not learn of the token within 2 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    const bulk = await call(a.base, web, 'POST', '/v1/services/web/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u1' } });
    const uri = (bulk.body as { eventStreams: { endpoint: { requestUri: string } }[] }).eventStreams[0]!.endpoint.requestUri;
    const abort = new AbortController();
    const stream = await fetch(b.base + uri, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    expect(stream.status).toBe(200);
    abort.abort();
  });
});
