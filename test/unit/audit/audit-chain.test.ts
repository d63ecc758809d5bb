import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, eventHash, GENESIS_HASH } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import type { Database } from '../../../src/storage/sqlite/database.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

/**
 * The audit chain on a real SQLite file, without a server. Someone with write access to the file
 * (the triggers dropped) changes one column of one event, or deletes one: verify must name the
 * first event whose stored content no longer matches, whatever the column.
 */
describe('audit chain', () => {
  let dir: string;
  let db: Database;
  let storage: SqliteStorage;
  let log: AuditLog;
  /** Appends in a unit of its own, as every caller does inside its own. */
  const append = (e: Parameters<AuditLog['append']>[1]) => storage.tx.run((u) => log.append(u, e));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-audit-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    db = storage.db;
    log = new AuditLog(storage.read.audit, new ManualClock(new Date('2026-12-01T00:00:00Z')));
    await append({ type: 'submitted', actor: 'alice', experiment: 'exp-a', version: 1, data: { reason: 'first' } });
    await append({ type: 'decided', actor: 'alice', experiment: 'exp-a', version: 1, data: { allow: true } });
    await append({ type: 'flags_changed', actor: 'bob', experiment: 'exp-a', version: 1, service: 'web', data: { version: 2 } });
    await append({ type: 'paused', actor: 'ops', experiment: 'exp-a', version: 1, data: { reason: 'incident' } });
    await append({ type: 'token_created', actor: 'admin', data: { id: 't1' } });
    db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete');
  });

  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('verifies an untouched chain from the genesis hash', async () => {
    const events = await log.query({ limit: 100 });
    expect(events[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(await log.verify()).toEqual({ ok: true, events: 5, head: events.at(-1)!.hash });
  });

  // Event 3 has every column set (service included), so each change below is a real change.
  it.each([
    ['id', "'ev_forged'"],
    ['type', "'resumed'"],
    ['experiment', "'exp-b'"],
    ['version', '2'],
    ['service', "'search'"],
    ['actor', "'mallory'"],
    ['at', "'2026-12-01T00:00:01.000Z'"],
    ['data', `'{"version":3}'`],
  ])('a changed %s is found at that event', async (column, value) => {
    db.exec(`UPDATE audit_events SET ${column} = ${value} WHERE seq = 3`);
    expect(await log.verify()).toMatchObject({ ok: false, events: 2, broken_at: { seq: 3, reason: 'hash does not match the event content' } });
  });

  // The hashes are served by GET /v1/audit and kept in every existing database: a change to how they
  // are computed (the genesis value, the separator, the fields) makes every stored chain fail to verify.
  it('hashes as it always has: SHA-256 of 64 zeros, a newline and the RFC 8785 JSON of the event', async () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    const record = {
      id: 'ev_01KAUDITVECTOR0000000000',
      type: 'submitted',
      experiment: 'exp-a',
      version: 1,
      service: null,
      actor: 'alice',
      at: '2026-12-01T00:00:00.000Z',
      data: { reason: 'first', n: 2 },
    };
    // printf '%s\n%s' 000…0 '{"actor":"alice",…,"version":1}' | sha256sum
    expect(eventHash('0'.repeat(64), record)).toBe('c11457c01edcb9fb3b966b76a652627e2e91463baf83928bd8f37742d1e33317');
  });

  it('append returns the event as it is stored and served', async () => {
    const appended = await append({ type: 'resumed', actor: 'ops', experiment: 'exp-a', version: 1, data: { reason: 'fixed' } });
    expect(appended).toEqual((await log.query({ limit: 100 })).at(-1));
    expect(appended).toMatchObject({ seq: 6, type: 'resumed', actor: 'ops', prev_hash: (await log.query({ limit: 100 }))[4]!.hash });
  });

  it('a rewritten prev_hash is found at that event', async () => {
    db.exec(`UPDATE audit_events SET prev_hash = '${'f'.repeat(64)}' WHERE seq = 3`);
    expect(await log.verify()).toMatchObject({ ok: false, events: 2, broken_at: { seq: 3, reason: 'prev_hash does not match the event before' } });
  });

  it('a rewritten hash breaks the link to the next event', async () => {
    db.exec(`UPDATE audit_events SET hash = '${'a'.repeat(64)}' WHERE seq = 3`);
    expect(await log.verify()).toMatchObject({ ok: false, broken_at: { seq: 3 } });
  });

  it('a deleted event is found at the one after it', async () => {
    db.exec('DELETE FROM audit_events WHERE seq = 3');
    expect(await log.verify()).toMatchObject({ ok: false, events: 2, broken_at: { seq: 4, reason: 'prev_hash does not match the event before' } });
  });

  it('the database refuses changes while its triggers stand', async () => {
    const other = openSqliteStorage({ path: path.join(dir, 'other.sqlite') });
    const fresh = other.db;
    try {
      await other.tx.run((u) => new AuditLog(other.read.audit, new ManualClock(new Date())).append(u, { type: 'submitted', actor: 'a' }));
      expect(() => fresh.exec("UPDATE audit_events SET actor = 'b'")).toThrow(/append-only/);
      expect(() => fresh.exec('DELETE FROM audit_events')).toThrow(/append-only/);
    } finally {
      await other.close();
    }
  });
});
