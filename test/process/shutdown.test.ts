import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../fixtures/sse-client.js';
import { ensureBuilt, startServerProcess } from '../crash/server-process.js';
import { simpleIntent } from '../helpers/harness.js';

const ADMIN = 'sy_shutdown_admin_token_0123456789';

describe('SIGTERM', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('finishes the request in flight, ends the streams, closes the database cleanly and exits 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sigterm-'));
    const dbPath = path.join(dir, 'sy.db');
    const server = await startServerProcess(dbPath, ADMIN, { SWITCHYARD_LOG_LEVEL: 'info' });
    const stream = await openSse(`${server.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${ADMIN}` });
    expect(stream.status).toBe(200);
    await stream.nextEvent();

    // A request whose body is half sent when the signal arrives. Each step waits for a signal, not
    // a sleep: `Expect: 100-continue` makes the server say when it has the request in hand, the log
    // line says when the drain has begun, and only then does the rest of the body go.
    const body = JSON.stringify({ ...simpleIntent('in-flight'), owner: 'growth' });
    const half = Math.floor(body.length / 2);
    const draining = new Promise<void>((resolve) => {
      const streams = [server.child.stdout!, server.child.stderr!];
      const seen = () => {
        if (!server.output().includes('draining in-flight requests')) return;
        for (const st of streams) st.off('data', seen);
        resolve();
      };
      for (const st of streams) st.on('data', seen);
    });
    let exit!: Promise<number | null>;
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${server.base}/v1/intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += String(c)));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.on('continue', () => {
        req.write(body.slice(0, half), () => {
          exit = server.stop();
          void draining.then(() => req.end(body.slice(half)));
        });
      });
      req.flushHeaders();
    });
    const res = await answered;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text).status).toBe('approved');
    await stream.ended;
    expect(await exit).toBe(0);
    expect(server.output()).toContain('database closed');

    // Closed cleanly: the WAL was checkpointed into the main file and removed.
    expect(fs.existsSync(`${dbPath}-wal`)).toBe(false);
    const db = new BetterSqlite3(dbPath, { readonly: true });
    try {
      expect(db.prepare("SELECT state FROM experiments WHERE key = 'in-flight'").pluck().get()).toBe('running');
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
