import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database } from '../../../src/storage/database.js';
import { OTHER_WRITER_DELAY_MS, ReadCache } from '../../../src/storage/read-cache.js';
import { TokenStore } from '../../../src/storage/token-store.js';

/** A real SQLite file, the connection the cache reads through, and a second writer on the same file. */
describe('ReadCache', () => {
  let dir: string;
  let db: Database;
  let other: BetterSqlite3.Database;
  let now = 0;
  let loads = 0;
  let cache: ReadCache<string, string>;
  const read = (k: string) =>
    cache.get(k, () => {
      loads++;
      return db.prepare<[string], string>('SELECT v FROM kv WHERE k = ?').pluck().get(k);
    });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cache-'));
    db = openDatabase({ path: path.join(dir, 'db.sqlite') });
    db.exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); INSERT INTO kv VALUES ('a', 'one')");
    other = new BetterSqlite3(path.join(dir, 'db.sqlite'));
    now = 1_000;
    loads = 0;
    cache = new ReadCache<string, string>(db, 3, () => now);
  });

  afterEach(() => {
    other.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the database once per key while nothing changes', () => {
    expect(read('a')).toBe('one');
    expect(read('a')).toBe('one');
    now += OTHER_WRITER_DELAY_MS * 5;
    expect(read('a')).toBe('one');
    expect(loads).toBe(1);
  });

  it('holds several keys at once, each read once', () => {
    db.exec("INSERT INTO kv VALUES ('b', '2')");
    for (const k of ['a', 'b', 'a', 'b', 'a']) read(k);
    expect(loads).toBe(2);
  });

  it('keeps no misses, so guessed keys neither fill it nor push out what it holds', () => {
    expect(read('a')).toBe('one');
    for (const k of ['guess-1', 'guess-2', 'guess-3', 'guess-4']) expect(read(k)).toBeUndefined();
    expect(read('a')).toBe('one');
    expect(loads).toBe(5);
  });

  it('keeps no misses, so unknown keys always reach the database', () => {
    expect(read('nope')).toBeUndefined();
    db.exec("INSERT INTO kv VALUES ('nope', 'now here')");
    expect(read('nope')).toBe('now here');
  });

  it("sees another connection's commit within OTHER_WRITER_DELAY_MS, and not one that is still open", () => {
    expect(read('a')).toBe('one');
    other.exec("UPDATE kv SET v = 'two' WHERE k = 'a'");
    now += OTHER_WRITER_DELAY_MS - 1;
    expect(read('a')).toBe('one');
    now += 1;
    expect(read('a')).toBe('two');
    other.exec('BEGIN');
    other.exec("UPDATE kv SET v = 'three' WHERE k = 'a'");
    now += OTHER_WRITER_DELAY_MS;
    expect(read('a')).toBe('two');
    other.exec('ROLLBACK');
  });

  it('starts over at once when its owner writes, and reads inside a transaction bypass it', () => {
    expect(read('a')).toBe('one');
    db.exec("UPDATE kv SET v = 'local' WHERE k = 'a'");
    cache.clear();
    expect(read('a')).toBe('local');
    expect(() =>
      db.transaction(() => {
        db.exec("UPDATE kv SET v = 'uncommitted' WHERE k = 'a'");
        expect(read('a')).toBe('uncommitted');
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(read('a')).toBe('local');
  });

  it('keeps nothing it read inside a transaction that then rolled back, cached before or not', () => {
    expect(() =>
      db.transaction(() => {
        db.exec("INSERT INTO kv VALUES ('ghost', 'uncommitted')");
        expect(read('ghost')).toBe('uncommitted');
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(read('ghost')).toBeUndefined();
    expect(() =>
      db.transaction(() => {
        db.exec("UPDATE kv SET v = 'uncommitted' WHERE k = 'a'");
        expect(read('a')).toBe('uncommitted');
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(read('a')).toBe('one');
  });

  it('starts over when full', () => {
    db.exec("INSERT INTO kv VALUES ('b', '2'), ('c', '3'), ('d', '4')");
    for (const k of ['a', 'b', 'c']) read(k);
    expect(loads).toBe(3);
    read('d');
    read('a');
    expect(loads).toBe(5);
  });
});

describe('TokenStore lookups through the cache', () => {
  it('a revoked token stops working at once, and so does one revoked by another process within the delay', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cache-'));
    const db = openDatabase({ path: path.join(dir, 'db.sqlite') });
    const other = new BetterSqlite3(path.join(dir, 'db.sqlite'));
    try {
      const store = new TokenStore(db);
      const token = { name: 'svc', role: 'service' as const, team: null, approvalRoles: [], service: 'web', createdAt: '2026-11-25T00:00:00Z', createdBy: 'test' };
      store.insert({ id: 't1', ...token }, 'hash-1');
      store.insert({ id: 't2', ...token }, 'hash-2');
      expect(store.findActiveByHash('hash-1')?.id).toBe('t1');
      expect(store.findActiveByHash('hash-2')?.id).toBe('t2');
      store.revoke('t1', '2026-11-25T00:00:01Z');
      expect(store.findActiveByHash('hash-1')).toBeUndefined();
      // Cached again after the local revocation started the cache over: only the other writer's commit can drop it.
      expect(store.findActiveByHash('hash-2')?.id).toBe('t2');
      other.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run('2026-11-25T00:00:02Z', 't2');
      await vi.waitFor(() => expect(store.findActiveByHash('hash-2')).toBeUndefined(), { timeout: 20 * OTHER_WRITER_DELAY_MS, interval: 10 });
    } finally {
      other.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
