import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load, roundTrips } from '../../bench/lib.js';

/**
 * A benchmark that measured failures would print a flattering number: `load` and `roundTrips`
 * must refuse to report one. A real server on loopback answers 200, except every 50th request
 * (500) or, for the "status" case, answers 304 where the call expects it.
 */
let server: http.Server;
let base = '';
let n = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    n++;
    if (req.url === '/flaky' && n % 50 === 0) return void res.writeHead(500).end('boom');
    if (req.url === '/not-modified') return void res.writeHead(304).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('failed requests fail the benchmark instead of printing a number', () => {
  it('load rejects when some answers are not the expected status', async () => {
    await expect(load(base, [{ method: 'GET', path: '/flaky' }], 1, false)).rejects.toThrow(/failed requests: .*answers other than 200: \d+ × 500/);
  });

  it('load accepts the status a call names (a 304 revalidation is a success there)', async () => {
    const r = await load(base, [{ method: 'GET', path: '/not-modified', status: 304 }], 1, false);
    expect(r.rps).toBeGreaterThan(0);
    await expect(load(base, [{ method: 'GET', path: '/not-modified' }], 1, false)).rejects.toThrow(/× 304/);
  });

  it('load rejects on socket errors (nothing listening)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(load(url, [{ method: 'GET', path: '/' }], 1, false)).rejects.toThrow(/[1-9]\d* socket errors/);
  });

  it('roundTrips rejects an answer with another status', async () => {
    await expect(roundTrips(base, [{ method: 'GET', path: '/flaky' }], 200, 0)).rejects.toThrow(/answered 500, not 200/);
  });
});
