import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashToken, TokenService } from '../../../src/access/token-service.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import { OTHER_WRITER_POLL_MS, openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

/**
 * The SQLite adapter's change feed (what replaced the per-request ReadCache): a commit by another
 * connection on the file is reported (the snapshots reload on it), the adapter's own commits and
 * another connection's open transaction are not; reads outside a unit never see a unit's
 * uncommitted rows. The timer is real, so each wait is a bounded poll for the event, never a sleep.
 */
describe('SqliteStorage change feed and read connection', () => {
  let dir: string;
  let storage: SqliteStorage;
  let other: BetterSqlite3.Database;
  const token = { name: 'svc', role: 'service' as const, team: null, approvalRoles: [], service: 'web', createdAt: '2026-11-25T00:00:00Z', createdBy: 'test' };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-feed-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    other = new BetterSqlite3(path.join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    other.close();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reports another connection's commit, not one still open, and not its own", async () => {
    let heard = 0;
    storage.onExternalChange(() => heard++);
    await storage.tx.run((u) => u.tokens.insert({ id: 't1', ...token }, 'hash-1'));
    expect(storage.checkExternal()).toBe(false);
    other.exec('BEGIN');
    other.prepare('UPDATE tokens SET name = ? WHERE id = ?').run('renamed', 't1');
    expect(storage.checkExternal()).toBe(false);
    expect(heard).toBe(0);
    other.exec('COMMIT');
    expect(storage.checkExternal()).toBe(true);
    expect(heard).toBe(1);
    // The timer asks by itself every OTHER_WRITER_POLL_MS.
    other.prepare('UPDATE tokens SET name = ? WHERE id = ?').run('again', 't1');
    await vi.waitFor(() => expect(heard).toBe(2), { timeout: 50 * OTHER_WRITER_POLL_MS, interval: 10 });
  });

  it('reads outside a unit never see the rows of a unit still open', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const wrote = new Promise<void>((resolve) => (inserted = resolve));
    const unit = storage.tx.run(async (u) => {
      await u.tokens.insert({ id: 't1', ...token }, 'hash-1');
      expect(await u.tokens.get('t1')).toMatchObject({ id: 't1' });
      inserted();
      await gate;
    });
    await wrote;
    expect(await storage.read.tokens.get('t1')).toBeUndefined();
    release();
    await unit;
    expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
  });

  it('two units never interleave: the second starts after the first commits', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = storage.tx.run(async (u) => {
      order.push('first begins');
      await u.tokens.insert({ id: 't1', ...token }, 'hash-1');
      await gate;
      order.push('first ends');
    });
    const second = storage.tx.run(async (u) => {
      order.push('second begins');
      expect(await u.tokens.get('t1')).toMatchObject({ id: 't1' });
    });
    await vi.waitFor(() => expect(order).toEqual(['first begins']), { timeout: 1_000, interval: 5 });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first begins', 'first ends', 'second begins']);
  });

  it('a token revoked by another process stops authenticating once its commit is seen', async () => {
    const clock = new ManualClock('2026-11-25T00:00:00Z');
    const tokens = new TokenService({ read: storage.read.tokens, audit: new AuditLog(storage.read.audit, clock), clock, tx: storage.tx });
    await storage.tx.run(async (u) => {
      await u.tokens.insert({ id: 't1', ...token }, hashToken('sy_one'));
      await u.tokens.insert({ id: 't2', ...token }, hashToken('sy_two'));
    });
    await tokens.load(storage);
    const revoked: string[] = [];
    tokens.onRevoked((id) => revoked.push(id));
    expect((await tokens.authenticate('sy_one')).tokenId).toBe('t1');
    other.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run('2026-11-25T00:00:02Z', 't1');
    await vi.waitFor(() => expect(tokens.authenticate('sy_one')).rejects.toThrow(/unknown or revoked/), { timeout: 50 * OTHER_WRITER_POLL_MS, interval: 10 });
    expect(revoked).toEqual(['t1']);
    expect((await tokens.authenticate('sy_two')).tokenId).toBe('t2');
    tokens.stop();
  });

  it('a driver error leaves the adapter as a domain error: a busy file is server_busy (503)', async () => {
    other.pragma('busy_timeout = 0');
    storage.db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    try {
      await expect(storage.tx.run((u) => u.tokens.insert({ id: 't9', ...token }, 'hash-9'))).rejects.toMatchObject({ code: 'server_busy', status: 503 });
    } finally {
      other.exec('ROLLBACK');
    }
    // And the adapter still works once the other writer is gone.
    await storage.tx.run((u) => u.tokens.insert({ id: 't9', ...token }, 'hash-9'));
    expect(await storage.read.tokens.get('t9')).toMatchObject({ id: 't9' });
  });
});
