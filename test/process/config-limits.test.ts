import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse, type SseConnection } from '../fixtures/sse-client.js';
import { ensureBuilt, startServerProcess, type ServerProcess } from '../crash/server-process.js';

const ADMIN = 'sy_limits_admin_token_0123456789';

/** The environment variables reach the server main.ts runs: stream cap, header timeout, CORS origins. */
describe('limits and CORS from the environment', () => {
  let dir: string;
  let server: ServerProcess;
  const open: SseConnection[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-limits-'));
    server = await startServerProcess(path.join(dir, 'sy.db'), ADMIN, {
      SWITCHYARD_MAX_STREAMS_PER_TOKEN: '1',
      SWITCHYARD_HEADERS_TIMEOUT_MS: '300',
      SWITCHYARD_REQUEST_TIMEOUT_MS: '5000',
      SWITCHYARD_CORS_ORIGINS: 'https://app.example',
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of open) c.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies them', async () => {
    const stream = () => openSse(`${server.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${ADMIN}`, origin: 'https://app.example' });
    const first = await stream();
    open.push(first);
    expect(first.status).toBe(200);
    expect(first.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const second = await stream();
    open.push(second);
    expect(second.status).toBe(429);
    expect(JSON.parse(second.text).code).toBe('too_many_streams');

    const url = new URL(server.base);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('half-sent request not cut within 3 s')), 3000)))]).finally(() => clearTimeout(timer));
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });
});
