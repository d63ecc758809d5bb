import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/access/actor.js';
import { TokenService } from '../../../src/access/token-service.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

/**
 * The token check and the read barrier (ADR 0012): with a barrier (PostgreSQL) `authenticate`
 * resolves only after it, for a known, an unknown and a missing token alike; without one (SQLite)
 * the read path may use `authenticateNow`, which gives the same answers at once.
 */
describe('TokenService and the read barrier', () => {
  let dir: string;
  let storage: SqliteStorage;
  const admin: Actor = { tokenId: 'tok_admin', name: 'root', role: 'admin', team: null, approvalRoles: [], service: null };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-token-barrier-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
  });
  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const service = async (fresh?: () => Promise<void>) => {
    const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));
    const tokens = new TokenService({ read: storage.read.tokens, audit: new AuditLog(storage.read.audit, clock), clock, tx: storage.tx, fresh });
    await tokens.load(storage);
    return tokens;
  };

  it('with a barrier: awaitsBarrier, and authenticate settles only once the barrier has (known, unknown and missing tokens)', async () => {
    let open!: () => void;
    let calls = 0;
    const tokens = await service(() => {
      calls++;
      return new Promise<void>((r) => (open = r));
    });
    expect(tokens.awaitsBarrier).toBe(true);
    const { token } = await tokens.create({ name: 'web', role: 'service', service: 'web' }, admin);
    for (const [given, refused] of [
      [token, false],
      ['sy_unknown_token_0123456789abcdef', true],
      [undefined, true],
    ] as const) {
      let settled = false;
      const answer = tokens.authenticate(given).then(
        (a) => ((settled = true), a),
        (e: unknown) => {
          settled = true;
          throw e;
        },
      );
      await new Promise<void>((r) => setImmediate(r));
      expect(settled).toBe(false);
      open();
      if (refused) await expect(answer).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
      else await expect(answer).resolves.toMatchObject({ name: 'web', role: 'service', service: 'web' });
    }
    expect(calls).toBe(3);
    // authenticateNow does not wait for the barrier.
    expect(tokens.authenticateNow(token)).toMatchObject({ name: 'web' });
    expect(calls).toBe(3);
  });

  it('without a barrier: not awaitsBarrier, and authenticateNow answers as authenticate does', async () => {
    const tokens = await service();
    expect(tokens.awaitsBarrier).toBe(false);
    const { token } = await tokens.create({ name: 'amy', role: 'owner', team: 'growth' }, admin);
    expect(tokens.authenticateNow(token)).toEqual(await tokens.authenticate(token));
    for (const given of ['sy_unknown_token_0123456789abcdef', '', undefined]) {
      expect(() => tokens.authenticateNow(given)).toThrow(expect.objectContaining({ code: 'unauthorized', status: 401 }));
      await expect(tokens.authenticate(given)).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    }
  });
});
