import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-store.js';
import { openPostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { ROOT } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * Durability on PostgreSQL at the storage port: a process writing units of work (4 at a time) is
 * killed with SIGKILL once it has acknowledged some commits (each unit: an audit event and
 * TOKENS_PER_UNIT tokens), in each of several rounds on the same
 * database. Every acknowledged unit must be there afterwards, whole (its audit event and its
 * token), no unacknowledged unit may be there by half, the audit chain must stay one chain, and the
 * dead process's advisory lock must not hold the next round up. The HTTP-level test with the real
 * server (test/crash/crash-consistency.test.ts on SQLite) needs the port's container; see
 * docs/storage.md "PostgreSQL".
 */
const ROUNDS = 5;
const ACKS_BEFORE_KILL = 40;
/** Statements per unit besides its audit event: a kill then lands between a unit's statements. */
const TOKENS_PER_UNIT = 10;
const WRITER = path.join(ROOT, 'test/crash/postgres-writer.ts');

/** The fault's moment, from a seeded PRNG so that a failing run can be replayed (CRASH_SEED). */
const rand = prng(Number(process.env['CRASH_SEED'] ?? 20261129));
const killDelay = () => Math.floor(rand() * 16);

interface Round {
  acked: Set<string>;
}

function runAndKill(url: string, round: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url, String(round), '4', String(TOKENS_PER_UNIT)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Set<string>();
    let buffered = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`round ${round}: fewer than ${ACKS_BEFORE_KILL} acks within 60 s (${acked.size}); stderr: ${err}`));
    }, 60_000);
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    child.stdout.on('data', (c: Buffer) => {
      buffered += String(c);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l.startsWith('ack ')) acked.add(l.slice(4));
      if (!killed && acked.size >= ACKS_BEFORE_KILL) {
        killed = true;
        // Units are in flight now (4 loops, each starting the next unit at once). The kill lands a
        // random 0–15 ms later, so across rounds it hits units at every statement, not only the first.
        setTimeout(() => child.kill('SIGKILL'), killDelay());
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`round ${round}: the writer exited by itself (${code}): ${err}`));
      // What reached our pipe before the kill is all it acknowledged.
      else resolve({ acked });
    });
  });
}

describe('durability on PostgreSQL: SIGKILL of a writing process', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(postgresAdminUrl(), 'crash');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it(`keeps every acknowledged unit whole, no half unit, one audit chain, over ${ROUNDS} kills`, { timeout: 180_000 }, async () => {
    const acked = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runAndKill(db.url, round);
      for (const n of r.acked) acked.add(n);
    }
    const s = await openPostgresStorage({ url: db.url });
    try {
      const events: AuditRecord[] = [];
      for await (const e of s.read.audit.iterate()) events.push(e);
      // Tokens per unit: a whole unit has TOKENS_PER_UNIT of them.
      const tokens = new Map<string, number>();
      for (const t of await s.read.tokens.list()) {
        const n = t.id.slice(1, t.id.indexOf('/'));
        tokens.set(n, (tokens.get(n) ?? 0) + 1);
      }
      const stored = new Set(events.map((e) => e.id.slice(1)));
      // Every acknowledged unit is there, whole.
      const lost = [...acked].filter((n) => !stored.has(n) || tokens.get(n) !== TOKENS_PER_UNIT);
      expect(lost).toEqual([]);
      // No unit by half: an event has all its tokens, and tokens come with their event.
      expect([...tokens].filter(([n, count]) => !stored.has(n) || count !== TOKENS_PER_UNIT)).toEqual([]);
      expect([...stored].filter((n) => !tokens.has(n))).toEqual([]);
      // One chain, numbered without gaps.
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      events.forEach((e, i) => expect(e.prevHash).toBe(i === 0 ? 'genesis' : events[i - 1]!.hash));
      expect(acked.size).toBeGreaterThanOrEqual(ROUNDS * ACKS_BEFORE_KILL);
    } finally {
      await s.close();
    }
  });
});
