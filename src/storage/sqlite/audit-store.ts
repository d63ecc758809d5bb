import { readStoredData, type AuditQuery, type AuditRecord, type AuditStore } from '../../audit/audit-store.js';
import type { Database } from './database.js';
import { storedText } from './stored-text.js';

/**
 * The columns a client's text reaches, read as BLOBs (see storedText): the chain was hashed over
 * the strings as written, and verification must see those, not their lossy UTF-8 reading.
 */
const COLUMNS = `seq, id, CAST(type AS BLOB) AS type, CAST(experiment AS BLOB) AS experiment, version,
  CAST(service AS BLOB) AS service, CAST(actor AS BLOB) AS actor, at, data, prev_hash, hash`;

interface Row {
  seq: number;
  id: string;
  type: Buffer;
  experiment: Buffer | null;
  version: number | null;
  service: Buffer | null;
  actor: Buffer;
  at: string;
  data: string;
  prev_hash: string;
  hash: string;
}

const toRecord = (r: Row): AuditRecord => ({
  seq: r.seq,
  id: r.id,
  type: storedText(r.type)!,
  experiment: storedText(r.experiment),
  version: r.version,
  service: storedText(r.service),
  actor: storedText(r.actor)!,
  at: r.at,
  data: readStoredData(r.data),
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** Append-only by construction: the table's triggers refuse UPDATE and DELETE, and this class offers neither. */
export class SqliteAuditStore implements AuditStore {
  private readonly lastStmt;
  private readonly insertStmt;
  private readonly queryStmt;
  private readonly iterateStmt;

  constructor(db: Database) {
    this.lastStmt = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT 1`);
    this.insertStmt = db.prepare(
      `INSERT INTO audit_events (id, type, experiment, version, service, actor, at, data, prev_hash, hash)
       VALUES (@id, @type, @experiment, @version, @service, @actor, @at, @data, @prevHash, @hash)`,
    );
    this.queryStmt = db.prepare<Record<string, unknown>, Row>(
      `SELECT ${COLUMNS} FROM audit_events
        WHERE seq > @afterSeq
          AND (@experiment IS NULL OR audit_events.experiment = @experiment)
          AND (@service IS NULL OR audit_events.service = @service OR (@service IS NOT NULL AND EXISTS (
                SELECT 1 FROM json_each(audit_events.data, '$.services') WHERE value = @service)))
          AND (@actor IS NULL OR audit_events.actor = @actor)
          AND (@type IS NULL OR audit_events.type = @type)
          AND (@from IS NULL OR at >= @from)
          AND (@to IS NULL OR at < @to)
        ORDER BY seq LIMIT @limit`,
    );
    this.iterateStmt = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM audit_events ORDER BY seq`);
  }

  async last(): Promise<AuditRecord | undefined> {
    const r = this.lastStmt.get();
    return r ? toRecord(r) : undefined;
  }

  async insert(e: Omit<AuditRecord, 'seq'>): Promise<number> {
    const info = this.insertStmt.run({ ...e, data: JSON.stringify(e.data) });
    return Number(info.lastInsertRowid);
  }

  async query(q: AuditQuery): Promise<AuditRecord[]> {
    return this.queryStmt
      .all({
        afterSeq: q.afterSeq ?? 0,
        experiment: q.experiment ?? null,
        service: q.service ?? null,
        actor: q.actor ?? null,
        type: q.type ?? null,
        from: q.from ?? null,
        to: q.to ?? null,
        limit: q.limit,
      })
      .map(toRecord);
  }

  async *iterate(): AsyncIterableIterator<AuditRecord> {
    for (const r of this.iterateStmt.iterate()) yield toRecord(r);
  }
}
