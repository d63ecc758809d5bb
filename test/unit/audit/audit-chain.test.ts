import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, eventHash, GENESIS_HASH } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import type { Database } from '../../../src/storage/sqlite/database.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import { storedText } from '../../../src/storage/sqlite/stored-text.js';
import { openPostgresEngine } from '../../storage/engines.js';

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

  it('a head recorded earlier (`verify(witness)`): found at its event, and refused once the events up to it are deleted', async () => {
    const events = await log.query({ limit: 100 });
    const [third, last] = [events[2]!, events[4]!];
    expect(await log.verify(third.hash)).toEqual({ ok: true, events: 5, head: last.hash, witness: { head: third.hash, found: true, seq: third.seq } });
    expect(await log.verify(last.hash)).toEqual({ ok: true, events: 5, head: last.hash, witness: { head: last.hash, found: true, seq: last.seq } });
    expect(await log.verify(GENESIS_HASH)).toMatchObject({ ok: true, witness: { found: true, seq: 0 } });
    // A head this chain never had.
    expect(await log.verify('f'.repeat(64))).toEqual({ ok: false, events: 5, head: last.hash, witness: { head: 'f'.repeat(64), found: false, seq: null } });
    // The last event deleted: the shorter chain verifies on its own; the recorded head shows the loss.
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(last.seq);
    expect(await log.verify()).toEqual({ ok: true, events: 4, head: events[3]!.hash });
    expect(await log.verify(last.hash)).toMatchObject({ ok: false, events: 4, witness: { found: false, seq: null } });
    expect(await log.verify(third.hash)).toMatchObject({ ok: true, witness: { found: true, seq: third.seq } });
  });

  it('a broken chain is not ok with a witness either; the witness is found only if it comes before the break', async () => {
    const events = await log.query({ limit: 100 });
    db.exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3");
    const broken = { ok: false, events: 2, broken_at: { seq: 3, reason: 'hash does not match the event content' } };
    expect(await log.verify(events[0]!.hash)).toMatchObject({ ...broken, witness: { found: true, seq: events[0]!.seq } });
    expect(await log.verify(events[3]!.hash)).toMatchObject({ ...broken, witness: { found: false, seq: null } });
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

/**
 * Tampering at the byte level, as someone with write access to the file would: one byte of any
 * stored column of any event (fast-check over event × column × byte position × xor mask, fixed
 * seed), a NULL column given a value, a set one made NULL, a row deleted, two rows swapped. verify
 * must fail and name the event (its seq and id as stored), and what it verified before it.
 */
describe('audit chain: tampering with any byte of any column', () => {
  const SEED = 20261130;
  const TEXT_COLUMNS = ['id', 'type', 'experiment', 'service', 'actor', 'at', 'data', 'prev_hash', 'hash'] as const;
  const COLUMNS = [...TEXT_COLUMNS, 'version'] as const;
  type Column = (typeof COLUMNS)[number];
  const NULLABLE: readonly Column[] = ['experiment', 'version', 'service'];

  let dir: string;
  let storage: SqliteStorage;
  let db: Database;
  let log: AuditLog;
  let seqs: number[];
  let ids: string[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-audit-tamper-'));
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    db = storage.db;
    const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));
    log = new AuditLog(storage.read.audit, clock);
    // Every column set somewhere and NULL somewhere; non-ASCII and astral text; nested data.
    for (const e of [
      { type: 'submitted', actor: 'alice', experiment: 'exp-a', version: 1, data: { reason: 'first' } },
      { type: 'decided', actor: 'Zoë 🚀', experiment: 'exp-a', version: 1, data: { allow: true, n: 1.5, list: [1, 'two', null, { deep: 'ü' }] } },
      { type: 'flags_changed', actor: 'bob', experiment: 'exp-a', version: 1, service: 'web', data: { version: 2 } },
      { type: 'paused', actor: 'ops', experiment: 'exp-a', version: 12345, data: { reason: 'incident: 支付 down' } },
      { type: 'token_created', actor: 'admin', data: { id: 't1' } },
      { type: 'approved', actor: 'sam', experiment: 'exp-b', version: 2, service: 'checkout-api', data: {} },
    ] as const) {
      await storage.tx.run((u) => log.append(u, e));
      clock.advance(1234);
    }
    db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete');
    const rows = db.prepare<[], { seq: number; id: string }>('SELECT seq, id FROM audit_events ORDER BY seq').all();
    seqs = rows.map((r) => r.seq);
    ids = rows.map((r) => r.id);
  });

  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  interface Stored {
    type: 'null' | 'text' | 'integer';
    bytes: Buffer | null;
    value: unknown;
  }
  const read = (column: Column, seq: number): Stored => {
    const r = db
      .prepare<[number], { t: Stored['type']; b: Buffer | null; v: unknown }>(`SELECT typeof(${column}) AS t, CAST(${column} AS BLOB) AS b, ${column} AS v FROM audit_events WHERE seq = ?`)
      .safeIntegers(true)
      .get(seq)!;
    return { type: r.t, bytes: r.b, value: r.v };
  };
  const write = (column: Column, seq: number, value: Buffer | bigint | null) =>
    db.prepare(`UPDATE audit_events SET ${column} = ${Buffer.isBuffer(value) ? 'CAST(? AS TEXT)' : '?'} WHERE seq = ?`).run(value, seq);

  /** One byte of the column's stored bytes changed (a text's UTF-8 bytes, an integer's 8 bytes), or a NULL given a one-byte value. */
  const tamper = (column: Column, seq: number, position: number, mask: number) => {
    const before = read(column, seq);
    if (before.type === 'null') {
      write(column, seq, column === 'version' ? BigInt(mask) : Buffer.from([mask]));
    } else if (before.type === 'text') {
      const bytes = Buffer.from(before.bytes!);
      const at = position % bytes.length;
      bytes[at] = bytes[at]! ^ mask;
      write(column, seq, bytes);
    } else {
      const bytes = Buffer.alloc(8);
      bytes.writeBigInt64BE(before.value as bigint);
      bytes[position % 8] = bytes[position % 8]! ^ mask;
      write(column, seq, bytes.readBigInt64BE());
    }
    return () => write(column, seq, before.type === 'null' ? null : before.type === 'text' ? before.bytes : (before.value as bigint));
  };

  const reasonFor = (column: Column) => (column === 'prev_hash' ? 'prev_hash does not match the event before' : 'hash does not match the event content');

  it(`names the event whatever byte of whatever column changed (fast-check, seed ${SEED})`, async () => {
    const head = (await log.verify()).head;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 5 }),
        fc.constantFrom(...COLUMNS),
        fc.nat({ max: 1000 }),
        fc.integer({ min: 1, max: 255 }),
        async (index, column, position, mask) => {
          const restore = tamper(column, seqs[index]!, position, mask);
          try {
            const stored = read('id', seqs[index]!).bytes!;
            const result = await log.verify();
            expect(result).toEqual({
              ok: false,
              events: index,
              head: index === 0 ? GENESIS_HASH : expect.stringMatching(/^[0-9a-f]{64}$/),
              broken_at: { seq: seqs[index], id: column === 'id' ? storedText(stored) : ids[index], reason: reasonFor(column) },
            });
          } finally {
            restore();
          }
          expect(await log.verify()).toEqual({ ok: true, events: 6, head });
        },
      ),
      { seed: SEED, numRuns: 250 },
    );
  });

  it.each(NULLABLE)('names the event whose %s was set to NULL', async (column) => {
    const set = [0, 1, 2, 3, 4, 5].filter((i) => read(column, seqs[i]!).type !== 'null');
    expect(set.length).toBeGreaterThanOrEqual(2);
    for (const index of set) {
      const restore = (() => {
        const before = read(column, seqs[index]!);
        write(column, seqs[index]!, null);
        return () => write(column, seqs[index]!, before.type === 'text' ? before.bytes : (before.value as bigint));
      })();
      expect(await log.verify()).toMatchObject({ ok: false, events: index, broken_at: { seq: seqs[index], id: ids[index], reason: 'hash does not match the event content' } });
      restore();
    }
    expect(await log.verify()).toMatchObject({ ok: true, events: 6 });
  });

  it.each([0, 1, 2, 3, 4])('a deleted event %i is found at the one after it', async (index) => {
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(seqs[index]);
    expect(await log.verify()).toMatchObject({ ok: false, events: index, broken_at: { seq: seqs[index + 1], id: ids[index + 1], reason: 'prev_hash does not match the event before' } });
  });

  it('stored data that is not a JSON object names its event, and the event still lists (as unreadable_data)', async () => {
    for (const text of ['{"version":2', 'null', '[1]', '42', '"text"', '']) {
      const restore = (() => {
        const before = read('data', seqs[2]!);
        write('data', seqs[2]!, Buffer.from(text));
        return () => write('data', seqs[2]!, before.bytes);
      })();
      expect(await log.verify(), text).toMatchObject({ ok: false, events: 2, broken_at: { seq: seqs[2], id: ids[2], reason: 'hash does not match the event content' } });
      expect((await log.query({ limit: 10 }))[2]!.data, text).toEqual({ unreadable_data: text });
      restore();
    }
    expect(await log.verify()).toMatchObject({ ok: true, events: 6 });
  });

  it('a deleted last event leaves a shorter chain that verifies, under another head: only a head kept elsewhere shows it', async () => {
    const before = await log.verify();
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(seqs[5]);
    const after = await log.verify();
    expect(after).toMatchObject({ ok: true, events: 5 });
    expect(after.head).not.toBe(before.head);
  });

  it('two swapped events are found at the first place they moved to', async () => {
    for (const [i, j] of [
      [0, 1],
      [1, 4],
      [2, 5],
      [4, 5],
    ] as const) {
      const swap = () => {
        db.prepare('UPDATE audit_events SET seq = -1 WHERE seq = ?').run(seqs[i]);
        db.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(seqs[i], seqs[j]);
        db.prepare('UPDATE audit_events SET seq = ? WHERE seq = -1').run(seqs[j]);
      };
      swap();
      expect(await log.verify(), `${i} <-> ${j}`).toMatchObject({ ok: false, events: i, broken_at: { seq: seqs[i], id: ids[j], reason: 'prev_hash does not match the event before' } });
      swap();
    }
    expect(await log.verify()).toMatchObject({ ok: true, events: 6 });
  });
});

/** The same chain on PostgreSQL (the run's cluster, a database of its own): each column, a deletion, a swap. */
describe('audit chain on PostgreSQL', () => {
  let engine: Awaited<ReturnType<typeof openPostgresEngine>>;
  let log: AuditLog;
  let rows: { seq: number; id: string }[];

  beforeEach(async () => {
    engine = await openPostgresEngine();
    const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));
    log = new AuditLog(engine.storage.read.audit, clock);
    for (const e of [
      { type: 'submitted', actor: 'alice', experiment: 'exp-a', version: 1, data: { reason: 'first' } },
      { type: 'flags_changed', actor: 'Zoë 🚀', experiment: 'exp-a', version: 1, service: 'web', data: { version: 2 } },
      { type: 'paused', actor: 'ops', experiment: 'exp-a', version: 1, service: 'web', data: { reason: 'incident' } },
      { type: 'token_created', actor: 'admin', data: { id: 't1' } },
    ] as const) {
      await engine.storage.tx.run((u) => log.append(u, e));
      clock.advance(1000);
    }
    await engine.exec('ALTER TABLE audit_events DISABLE TRIGGER USER');
    // The tampering goes through another connection, committed, as an intruder's would; this copy puts the rows back.
    await engine.exec('CREATE TABLE audit_backup AS SELECT * FROM audit_events');
    rows = (await log.query({ limit: 10 })).map((e) => ({ seq: e.seq, id: e.id }));
  });

  afterEach(async () => {
    await engine.close();
  });

  const restore = async () => {
    await engine.exec('DELETE FROM audit_events');
    await engine.exec('INSERT INTO audit_events SELECT * FROM audit_backup');
  };

  it('names the event whose one byte changed, in any column', async () => {
    // One character of each column of event 2 (index 1) changed in place; version by one.
    const changes: [string, string][] = [
      ['id', "overlay(id placing (CASE WHEN substr(id, 5, 1) = 'Z' THEN 'Y' ELSE 'Z' END) from 5 for 1)"],
      ['type', "overlay(type placing 'X' from 1 for 1)"],
      ['experiment', "overlay(experiment placing 'b' from 5 for 1)"],
      ['version', 'version + 1'],
      ['service', "overlay(service placing 'W' from 1 for 1)"],
      ['actor', "overlay(actor placing 'z' from 1 for 1)"],
      ['at', "overlay(at placing '9' from 18 for 1)"],
      ['data', "overlay(data placing '3' from 12 for 1)"],
      ['data', "overlay(data placing 'x' from 1 for 1)"],
      // A hash's 7th hex digit may already be 'f' (the ids are random): then 'e', so the byte always changes.
      ['prev_hash', "overlay(prev_hash placing (CASE WHEN substr(prev_hash, 7, 1) = 'f' THEN 'e' ELSE 'f' END) from 7 for 1)"],
      ['hash', "overlay(hash placing (CASE WHEN substr(hash, 7, 1) = 'f' THEN 'e' ELSE 'f' END) from 7 for 1)"],
    ];
    for (const [column, expr] of changes) {
      try {
        await engine.exec(`UPDATE audit_events SET ${column} = ${expr} WHERE seq = ${rows[1]!.seq}`);
        const reason = column === 'prev_hash' ? 'prev_hash does not match the event before' : 'hash does not match the event content';
        const id = column === 'id' ? `${rows[1]!.id.slice(0, 4)}${rows[1]!.id[4] === 'Z' ? 'Y' : 'Z'}${rows[1]!.id.slice(5)}` : rows[1]!.id;
        expect(await log.verify(), `${column} = ${expr}`).toMatchObject({ ok: false, events: 1, broken_at: { seq: rows[1]!.seq, id, reason } });
      } finally {
        await restore();
      }
    }
    expect(await log.verify()).toMatchObject({ ok: true, events: 4 });
  });

  it('names the event after a deleted one, and the first place two swapped events moved to', async () => {
    await engine.exec(`DELETE FROM audit_events WHERE seq = ${rows[1]!.seq}`);
    expect(await log.verify()).toMatchObject({ ok: false, events: 1, broken_at: { seq: rows[2]!.seq, id: rows[2]!.id, reason: 'prev_hash does not match the event before' } });
    await restore();
    await engine.exec(`UPDATE audit_events SET seq = -1 WHERE seq = ${rows[0]!.seq}`);
    await engine.exec(`UPDATE audit_events SET seq = ${rows[0]!.seq} WHERE seq = ${rows[2]!.seq}`);
    await engine.exec(`UPDATE audit_events SET seq = ${rows[2]!.seq} WHERE seq = -1`);
    expect(await log.verify()).toMatchObject({ ok: false, events: 0, broken_at: { seq: rows[0]!.seq, id: rows[2]!.id, reason: 'prev_hash does not match the event before' } });
    await restore();
    expect(await log.verify()).toMatchObject({ ok: true, events: 4 });
  });
});
