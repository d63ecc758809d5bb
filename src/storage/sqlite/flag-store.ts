import type { FlagChangeCause, FlagEventRecord, FlagStore, StoredFlagDocument } from '../../flags/flag-store.js';
import type { Database } from './database.js';

interface Row {
  seq: number;
  service: string;
  version: number;
  document: string;
  etag: string;
  created_at: string;
  cause: string;
}

const toDoc = (r: Row): StoredFlagDocument => ({
  service: r.service,
  version: r.version,
  json: r.document,
  etag: r.etag,
  createdAt: r.created_at,
});

/**
 * Every version of every service's flags document has a row in `flag_documents`, kept forever: it
 * is the change feed's entry (`/v1/events`: seq, version, ETag, cause), a few hundred bytes whatever
 * the document's size. The body is a row of `flag_document_bodies`, kept for the latest version and
 * the `historyVersions` before it (FlagStateService prunes the rest): deleting whole rows from the
 * old end of that table frees whole pages, which later bodies reuse, so the file stops growing.
 * (Emptying a body in place does not: the shrunken rows keep their pages, measured in
 * docs/storage.md.) Rows written before migration 3 keep their body in `flag_documents.document`,
 * and pruning empties it there ('' rather than NULL: SQLite cannot drop NOT NULL without copying
 * the table, which on the databases that need pruning most would need twice their disk at upgrade).
 */
export class SqliteFlagStore implements FlagStore {
  private readonly latestStmt;
  private readonly atStmt;
  private readonly insertStmt;
  private readonly allLatestStmt;
  private readonly eventsStmt;
  private readonly lastSeqStmt;
  private readonly pruneVersionStmt;
  private readonly pruneBelowStmt;
  private readonly pruneLegacyStmt;
  private readonly insertBodyStmt;

  constructor(db: Database) {
    // The body comes from flag_document_bodies, or for a row older than migration 3 from the row itself.
    const withBody = `SELECT d.seq, d.service, d.version, coalesce(b.document, d.document) AS document, d.etag, d.created_at, d.cause
      FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq`;
    this.latestStmt = db.prepare<[string], Row>(`${withBody} WHERE d.service = ? ORDER BY d.version DESC LIMIT 1`);
    this.atStmt = db.prepare<[string, number], Row>(`${withBody} WHERE d.service = ? AND d.version = ?`);
    this.insertStmt = db.prepare(
      `INSERT INTO flag_documents (service, version, document, etag, created_at, cause) VALUES (?, ?, '', ?, ?, ?)`,
    );
    this.insertBodyStmt = db.prepare<[number, string]>('INSERT INTO flag_document_bodies (seq, document) VALUES (?, ?)');
    this.eventsStmt = db.prepare<[{ after: number; service: string; limit: number }], Omit<Row, 'document'>>(
      `SELECT seq, service, version, etag, created_at, cause FROM flag_documents WHERE seq > @after AND (@service = '' OR service = @service) ORDER BY seq LIMIT @limit`,
    );
    this.pruneVersionStmt = db.prepare<[string, number]>(
      'DELETE FROM flag_document_bodies WHERE seq = (SELECT seq FROM flag_documents WHERE service = ? AND version = ?)',
    );
    this.pruneBelowStmt = db.prepare<[string, number]>(
      'DELETE FROM flag_document_bodies WHERE seq IN (SELECT seq FROM flag_documents WHERE service = ? AND version < ?)',
    );
    this.pruneLegacyStmt = db.prepare<[string, number]>(`UPDATE flag_documents SET document = '' WHERE service = ? AND version < ? AND document <> ''`);
    this.lastSeqStmt = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM flag_documents');
    this.allLatestStmt = db.prepare<[], Row>(
      `${withBody}
        JOIN (SELECT service, max(version) AS version FROM flag_documents GROUP BY service) m
          ON m.service = d.service AND m.version = d.version`,
    );
  }

  async latest(service: string): Promise<StoredFlagDocument | undefined> {
    const r = this.latestStmt.get(service);
    return r ? toDoc(r) : undefined;
  }

  /** A version whose body was pruned is reported absent, like one that never existed. */
  async at(service: string, version: number): Promise<StoredFlagDocument | undefined> {
    const r = this.atStmt.get(service, version);
    return r && r.document !== '' ? toDoc(r) : undefined;
  }

  /** Drops the body of one version (its feed entry stays); a no-op below version 1. */
  async pruneVersion(service: string, version: number): Promise<void> {
    if (version >= 1) this.pruneVersionStmt.run(service, version);
  }

  /** Drops the bodies of every version below `version`, older releases' rows included; returns how many. */
  async pruneBelow(service: string, version: number): Promise<number> {
    if (version <= 1) return 0;
    return this.pruneBelowStmt.run(service, version).changes + this.pruneLegacyStmt.run(service, version).changes;
  }

  async allLatest(): Promise<StoredFlagDocument[]> {
    return this.allLatestStmt.all().map(toDoc);
  }

  /** Returns the global sequence number of the new version: the event feed's cursor. */
  async insert(doc: StoredFlagDocument, cause: FlagChangeCause): Promise<number> {
    const seq = Number(this.insertStmt.run(doc.service, doc.version, doc.etag, doc.createdAt, JSON.stringify(cause)).lastInsertRowid);
    this.insertBodyStmt.run(seq, doc.json);
    return seq;
  }

  /** Every document version after `afterSeq`, in commit order: cursors are stable forever. */
  async events(afterSeq: number, service: string | undefined, limit: number): Promise<FlagEventRecord[]> {
    return this.eventsStmt.all({ after: afterSeq, service: service ?? '', limit }).map((r) => ({
      seq: r.seq,
      service: r.service,
      version: r.version,
      etag: r.etag,
      at: r.created_at,
      cause: JSON.parse(r.cause) as FlagChangeCause,
    }));
  }

  async lastSeq(): Promise<number> {
    return this.lastSeqStmt.get()?.seq ?? 0;
  }
}
