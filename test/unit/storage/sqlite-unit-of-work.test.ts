import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/storage/sqlite/database.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

/**
 * The SQLite adapter's unit of work (docs/adr/0008-storage-port.md), each rule on its own, on a
 * real SQLite file: rollback undoes writes and drops afterCommit callbacks, a joined run is a
 * savepoint, callbacks run in order and one that throws stops none of the others, reads route
 * through the open unit only inside its async context, and the lifecycle (ping, close, the poll
 * timer). Fake timers fake setInterval only, where a test is about the poll period.
 */
const token = (id: string) => ({ id, name: id, role: 'service' as const, team: null, approvalRoles: [], service: 'web', createdAt: '2026-11-25T00:00:00Z', createdBy: 'test' });

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('SqliteStorage unit of work', () => {
  let dir: string;
  let file: string;
  let storage: SqliteStorage;
  let errors: unknown[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-uow-'));
    file = path.join(dir, 'db.sqlite');
    errors = [];
    // A poll period no test reaches: checkExternal is called by hand.
    storage = openSqliteStorage({ path: file, pollMs: 3_600_000, onCallbackError: (err) => errors.push(err) });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a unit that rejects undoes its writes, drops its afterCommit callbacks, and rejects with its reason', async () => {
    const ran: string[] = [];
    await expect(
      storage.tx.run(async (u) => {
        await u.tokens.insert(token('t1'), 'h1');
        u.afterCommit(() => ran.push('dropped'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(ran).toEqual([]);
    expect(await storage.read.tokens.get('t1')).toBeUndefined();
    expect(storage.db.inTransaction).toBe(false);
  });

  it('a unit whose transaction SQLite already ended rejects with its own reason', async () => {
    await expect(
      storage.tx.run(async () => {
        storage.db.exec('ROLLBACK');
        throw new Error('own reason');
      }),
    ).rejects.toThrow('own reason');
    // A joined run likewise: no ROLLBACK TO a savepoint that went with the transaction.
    await expect(
      storage.tx.run(async () =>
        storage.tx.run(async () => {
          storage.db.exec('ROLLBACK');
          throw new Error('joined reason');
        }),
      ),
    ).rejects.toThrow('joined reason');
    await storage.tx.run((u) => u.tokens.insert(token('t1'), 'h1'));
    expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
  });

  it('afterCommit callbacks run after the commit, in order; one that throws is reported and stops none of the others', async () => {
    const ran: string[] = [];
    const boom = new Error('callback failed');
    const result = await storage.tx.run(async (u) => {
      await u.tokens.insert(token('t1'), 'h1');
      u.afterCommit(() => ran.push(`first sees ${storage.db.inTransaction ? 'open' : 'committed'}`));
      u.afterCommit(() => {
        throw boom;
      });
      u.afterCommit(() => ran.push('third'));
      return 42;
    });
    expect(result).toBe(42);
    expect(ran).toEqual(['first sees committed', 'third']);
    expect(errors).toEqual([boom]);
  });

  it('a unit without callbacks reports no callback error', async () => {
    await storage.tx.run((u) => u.tokens.insert(token('t1'), 'h1'));
    expect(errors).toEqual([]);
  });

  it('a joined run is a savepoint: its caught failure undoes only its writes and callbacks, the unit commits the rest', async () => {
    const ran: string[] = [];
    await storage.tx.run(async (u) => {
      await u.tokens.insert(token('outer'), 'h0');
      u.afterCommit(() => ran.push('outer'));
      const joined = await storage.tx.run(async (j) => {
        expect(j).toBe(u);
        await j.tokens.insert(token('kept'), 'h1');
        j.afterCommit(() => ran.push('kept'));
        return 'ok';
      });
      expect(joined).toBe('ok');
      await expect(
        storage.tx.run(async (j) => {
          await j.tokens.insert(token('undone'), 'h2');
          j.afterCommit(() => ran.push('undone'));
          // Nested twice: the inner savepoint commits into the failing one.
          await storage.tx.run((k) => k.tokens.insert(token('undone-inner'), 'h3'));
          throw new Error('joined failed');
        }),
      ).rejects.toThrow('joined failed');
      expect(await u.tokens.get('undone')).toBeUndefined();
      await storage.tx.run((j) => j.tokens.insert(token('after'), 'h4'));
      u.afterCommit(() => ran.push('last'));
      // Nothing is visible outside before the outer commit, joined runs included.
      expect(storage.db.inTransaction).toBe(true);
    });
    expect(ran).toEqual(['outer', 'kept', 'last']);
    const ids = (await storage.read.tokens.list()).map((t) => t.id).sort();
    expect(ids).toEqual(['after', 'kept', 'outer']);
  });

  it("a run started from a finished unit's async context is a unit of its own, with its own callbacks", async () => {
    const later = gate();
    const ran: string[] = [];
    let followUp!: Promise<void>;
    await storage.tx.run(async (u) => {
      await u.tokens.insert(token('t1'), 'h1');
      // This continuation keeps the unit's async context, and runs once the unit is done.
      followUp = later.wait.then(async () => {
        expect(storage.db.inTransaction).toBe(false);
        expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
        await storage.tx.run(async (v) => {
          expect(storage.db.inTransaction).toBe(true);
          await v.tokens.insert(token('t2'), 'h2');
          v.afterCommit(() => ran.push('follow-up committed'));
        });
      });
    });
    later.open();
    await followUp;
    expect(ran).toEqual(['follow-up committed']);
    expect(await storage.read.tokens.get('t2')).toMatchObject({ id: 't2' });
  });

  it("reads inside a unit's async context see its writes; reads outside never see them before the commit", async () => {
    const wrote = gate();
    const finish = gate();
    const unit = storage.tx.run(async (u) => {
      await u.tokens.insert(token('t1'), 'h1');
      expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
      wrote.open();
      await finish.wait;
    });
    await wrote.wait;
    expect(await storage.read.tokens.get('t1')).toBeUndefined();
    finish.open();
    await unit;
    expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
  });

  it('the read stores hand out methods and pass other properties through unbound', () => {
    expect(typeof storage.read.tokens.get).toBe('function');
    expect((storage.read.tokens as unknown as Record<string, unknown>).notAMethod).toBeUndefined();
  });

  it('the read connection is a second, read-only connection', () => {
    const reader = Reflect.get(storage, 'reader') as Database;
    expect(reader).not.toBe(storage.db);
    expect(reader.readonly).toBe(true);
  });

  it('a busy file rejects with server_busy without calling the unit, and releases the mutex', async () => {
    const other = new BetterSqlite3(file);
    storage.db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    let called = false;
    try {
      await expect(
        storage.tx.run(async () => {
          called = true;
        }),
      ).rejects.toMatchObject({ code: 'server_busy', status: 503 });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(called).toBe(false);
    await storage.tx.run((u) => u.tokens.insert(token('t1'), 'h1'));
    expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
  });

  it('ping answers while open; it rejects once the writer or the reader is closed', async () => {
    await expect(storage.ping()).resolves.toBeUndefined();
    (Reflect.get(storage, 'reader') as Database).close();
    await expect(storage.ping()).rejects.toThrow(/not open/);
    storage.db.close();
    await expect(storage.ping()).rejects.toThrow('the database is closed');
  });

  it('ping rejects after close', async () => {
    await storage.close();
    await expect(storage.ping()).rejects.toThrow('the database is closed');
  });

  it('close waits for a unit under way, closes both connections, is idempotent, and refuses later units', async () => {
    const inside = gate();
    const finish = gate();
    const unit = storage.tx.run(async (u) => {
      await u.tokens.insert(token('t1'), 'h1');
      inside.open();
      await finish.wait;
    });
    await inside.wait;
    const closing = storage.close();
    // Closing, with the unit still open: another commit is not reported any more.
    expect(storage.checkExternal()).toBe(false);
    finish.open();
    await unit;
    await closing;
    await storage.close();
    expect(storage.db.open).toBe(false);
    expect((Reflect.get(storage, 'reader') as Database).open).toBe(false);
    await expect(storage.tx.run(async () => undefined)).rejects.toThrow('the storage is closed');
    const check = new BetterSqlite3(file, { readonly: true });
    try {
      expect(check.prepare('SELECT id FROM tokens').pluck().all()).toEqual(['t1']);
    } finally {
      check.close();
    }
  });

  it('checkExternal reports nothing while closing, even after another commit', async () => {
    const other = new BetterSqlite3(file);
    other.exec('CREATE TABLE probe (x INTEGER)');
    const inside = gate();
    const finish = gate();
    const unit = storage.tx.run(async () => {
      inside.open();
      await finish.wait;
    });
    await inside.wait;
    const closing = storage.close();
    expect(storage.checkExternal()).toBe(false);
    finish.open();
    await unit;
    await closing;
    other.close();
  });

  it("change feed: another connection's commit is heard, a throwing listener is reported and stops no other, unsubscribe stops it", async () => {
    const other = new BetterSqlite3(file);
    try {
      const heard: string[] = [];
      const boom = new Error('listener failed');
      const off = storage.onExternalChange(() => heard.push('a'));
      storage.onExternalChange(() => {
        throw boom;
      });
      storage.onExternalChange(() => heard.push('c'));
      expect(storage.checkExternal()).toBe(false);
      other.exec('CREATE TABLE probe_one (x INTEGER)');
      expect(storage.checkExternal()).toBe(true);
      expect(heard).toEqual(['a', 'c']);
      expect(errors).toEqual([boom]);
      expect(storage.checkExternal()).toBe(false);
      off();
      other.exec('CREATE TABLE probe_two (x INTEGER)');
      expect(storage.checkExternal()).toBe(true);
      expect(heard).toEqual(['a', 'c', 'c']);
    } finally {
      other.close();
    }
  });

  it('after close, checkExternal reports nothing', async () => {
    const other = new BetterSqlite3(file);
    try {
      await storage.close();
      other.exec('CREATE TABLE probe (x INTEGER)');
      expect(storage.checkExternal()).toBe(false);
    } finally {
      other.close();
    }
  });
});

describe('SqliteStorage without an onCallbackError', () => {
  let dir: string;
  let storage: SqliteStorage;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-nocb-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite'), pollMs: 3_600_000 });
  });
  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a throwing afterCommit callback or change listener is dropped quietly, and the others still run', async () => {
    const ran: string[] = [];
    await storage.tx.run(async (u) => {
      u.afterCommit(() => {
        throw new Error('callback failed');
      });
      u.afterCommit(() => ran.push('callback'));
    });
    storage.onExternalChange(() => {
      throw new Error('listener failed');
    });
    storage.onExternalChange(() => ran.push('listener'));
    const other = new BetterSqlite3(path.join(dir, 'db.sqlite'));
    try {
      other.exec('CREATE TABLE probe (x INTEGER)');
    } finally {
      other.close();
    }
    expect(storage.checkExternal()).toBe(true);
    expect(ran).toEqual(['callback', 'listener']);
  });
});

describe('SqliteStorage poll timer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-poll-'));
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('polls every pollMs, and close stops the timer', async () => {
    const file = path.join(dir, 'db.sqlite');
    const storage = openSqliteStorage({ path: file, pollMs: 1_000 });
    const other = new BetterSqlite3(file);
    try {
      expect(vi.getTimerCount()).toBe(1);
      let heard = 0;
      storage.onExternalChange(() => heard++);
      other.exec('CREATE TABLE probe (x INTEGER)');
      vi.advanceTimersByTime(999);
      expect(heard).toBe(0);
      vi.advanceTimersByTime(1);
      expect(heard).toBe(1);
      await storage.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      other.close();
      await storage.close();
    }
  });

  it("an in-memory store has no poll timer, and its reads share the writer's connection", async () => {
    const storage = openSqliteStorage({ path: ':memory:' });
    try {
      expect(vi.getTimerCount()).toBe(0);
      expect(Reflect.get(storage, 'reader')).toBe(storage.db);
      await storage.tx.run((u) => u.tokens.insert(token('t1'), 'h1'));
      expect(await storage.read.tokens.get('t1')).toMatchObject({ id: 't1' });
      await expect(storage.ping()).resolves.toBeUndefined();
    } finally {
      await storage.close();
    }
    expect(storage.db.open).toBe(false);
  });
});
