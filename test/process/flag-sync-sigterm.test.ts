/**
 * main.ts serves flagd's gRPC sync on SWITCHYARD_SYNC_PORT (SPEC §11) and, on SIGTERM, ends every
 * SyncFlags stream with OK before it exits 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { beforeAll, describe, expect, it } from 'vitest';
import { syncProtoPath } from '../../src/sync/flag-sync-service.js';
import { ensureBuilt, startServerProcess } from '../crash/server-process.js';

const ADMIN = 'sy_sync_sigterm_admin_token_0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('flagd sync in the process', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('listens on SWITCHYARD_SYNC_PORT, and SIGTERM ends its streams with OK and exits 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sync-'));
    const port = await freePort();
    const server = await startServerProcess(path.join(dir, 'sy.db'), ADMIN, { SWITCHYARD_SYNC_PORT: String(port) });
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(syncProtoPath(), { keepCase: true })) as any;
    const client = new pkg.flagd.sync.v1.FlagSyncService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${ADMIN}`);
      const call: grpc.ClientReadableStream<{ flag_configuration: string }> = client.SyncFlags({ selector: 'web' }, md);
      const first = new Promise<string>((resolve, reject) => {
        call.once('data', (r: { flag_configuration: string }) => resolve(r.flag_configuration));
        call.once('error', reject);
      });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      expect(JSON.parse(await first).flags).toEqual({});
      const exit = server.stop();
      expect((await status).code).toBe(grpc.status.OK);
      expect(await exit, server.output()).toBe(0);
    } finally {
      client.close();
    }
  }, 60_000);
});
