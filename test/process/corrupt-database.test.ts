import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN_JS, startServerProcess } from '../crash/server-process.js';
import { simpleIntent } from '../helpers/harness.js';
import { BUNDLE_PATH, ROOT } from '../helpers/paths.js';

const ADMIN = 'sy_corrupt_admin_token_0123456789';

/** Runs dist/src/main.js on `dbPath` until it exits or says it is listening (then it is stopped). */
function runServer(dbPath: string): Promise<{ code: number | null; listening: boolean; output: string }> {
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', SWITCHYARD_SYNC_PORT: '0', HOST: '127.0.0.1', SWITCHYARD_DB: dbPath, SWITCHYARD_POLICY_BUNDLE: BUNDLE_PATH, SWITCHYARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listening = false;
  const keep = (c: Buffer) => {
    output += String(c);
    if (!listening && /listening on http/.test(output)) {
      listening = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, listening, output })));
}

describe('a corrupt database at start', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('is refused: PRAGMA quick_check fails, the process says why and exits 3 without listening', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-corrupt-'));
    const dbPath = path.join(dir, 'sy.db');
    try {
      // A real database with intents in it, closed cleanly (the WAL checkpointed into the file).
      const server = await startServerProcess(dbPath, ADMIN);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.base}/v1/intents`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify(simpleIntent(`corrupt-${i}`, { description: 'd'.repeat(1500) })),
        });
        expect(res.status).toBe(201);
      }
      expect(await server.stop()).toBe(0);

      // Smash the b-tree page of intent_versions (a table the start itself never reads), not the header.
      const db = new BetterSqlite3(dbPath, { readonly: true });
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const root = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'intent_versions'").pluck().get() as number;
      db.close();
      expect(root).toBeGreaterThan(1);
      const fd = fs.openSync(dbPath, 'r+');
      fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (root - 1) * pageSize);
      fs.closeSync(fd);

      const run = await runServer(dbPath);
      expect(run.listening).toBe(false);
      expect(run.code).toBe(3);
      expect(run.output).toContain(`the database ${dbPath} is corrupt (PRAGMA quick_check:`);
      expect(run.output).toContain('restore the file from a backup');
      expect(run.output).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a file that is not a database at all is refused the same way', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-corrupt-'));
    const dbPath = path.join(dir, 'sy.db');
    try {
      fs.writeFileSync(dbPath, Buffer.alloc(8192, 0x41));
      const run = await runServer(dbPath);
      expect(run.listening).toBe(false);
      expect(run.code).toBe(3);
      expect(run.output).toContain(`the database ${dbPath} is corrupt`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
