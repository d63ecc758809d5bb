import type { Database } from './database.js';
import { ReadCache } from './read-cache.js';

/** Why a document version exists: the provenance the event feed hands to mirroring consumers. */
export interface FlagChangeCause {
  type: string;
  experiment: string;
  experiment_version: number | null;
  decision_id: string | null;
  policy_revision: string | null;
  actor: string;
  /** What made an automatic transition happen: the analysis behind a guardrail's pause. */
  detail?: Record<string, unknown>;
}

export interface FlagEventRecord {
  seq: number;
  service: string;
  version: number;
  etag: string;
  at: string;
  cause: FlagChangeCause;
}

export interface StoredFlagDocument {
  service: string;
  version: number;
  /** The serialized document, stored and served byte for byte so the ETag always matches the body. */
  json: string;
  etag: string;
  createdAt: string;
}

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
export class FlagStore {
  private readonly latestSeqStmt;
  private readonly bySeqStmt;
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
  /** The latest row of each service, asked on every flags read; a new version starts it over. */
  private readonly latestSeqs;

  constructor(private readonly db: Database) {
    this.latestSeqs = new ReadCache<string, number>(db);
    // Answered from the (service, version) index alone: seq is the rowid, so no document is read.
    this.latestSeqStmt = db.prepare<[string], { seq: number }>(
      'SELECT seq FROM flag_documents WHERE service = ? ORDER BY version DESC LIMIT 1',
    );
    // The body comes from flag_document_bodies, or for a row older than migration 3 from the row itself.
    const withBody = `SELECT d.seq, d.service, d.version, coalesce(b.document, d.document) AS document, d.etag, d.created_at, d.cause
      FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq`;
    this.bySeqStmt = db.prepare<[number], Row>(`${withBody} WHERE d.seq = ?`);
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

  /** Which row holds the service's latest document; rows never change, so it identifies the content. */
  latestSeq(service: string): number | undefined {
    return this.latestSeqs.get(service, () => this.latestSeqStmt.get(service)?.seq);
  }

  /** Inside a write transaction a row may still be rolled back, and its seq handed out again. */
  inTransaction(): boolean {
    return this.db.inTransaction;
  }

  bySeq(seq: number): StoredFlagDocument | undefined {
    const r = this.bySeqStmt.get(seq);
    return r ? toDoc(r) : undefined;
  }

  latest(service: string): StoredFlagDocument | undefined {
    const r = this.latestStmt.get(service);
    return r ? toDoc(r) : undefined;
  }

  /** A version whose body was pruned is reported absent, like one that never existed. */
  at(service: string, version: number): StoredFlagDocument | undefined {
    const r = this.atStmt.get(service, version);
    return r && r.document !== '' ? toDoc(r) : undefined;
  }

  /** Drops the body of one version (its feed entry stays); a no-op below version 1. */
  pruneVersion(service: string, version: number): void {
    if (version >= 1) this.pruneVersionStmt.run(service, version);
  }

  /** Drops the bodies of every version below `version`, older releases' rows included; returns how many. */
  pruneBelow(service: string, version: number): number {
    if (version <= 1) return 0;
    return this.pruneBelowStmt.run(service, version).changes + this.pruneLegacyStmt.run(service, version).changes;
  }

  allLatest(): StoredFlagDocument[] {
    return this.allLatestStmt.all().map(toDoc);
  }

  /** Returns the global sequence number of the new version: the event feed's cursor. */
  insert(doc: StoredFlagDocument, cause: FlagChangeCause): number {
    this.latestSeqs.clear();
    const seq = Number(this.insertStmt.run(doc.service, doc.version, doc.etag, doc.createdAt, JSON.stringify(cause)).lastInsertRowid);
    this.insertBodyStmt.run(seq, doc.json);
    return seq;
  }

  /** Every document version after `afterSeq`, in commit order: cursors are stable forever. */
  events(afterSeq: number, service: string | undefined, limit: number): FlagEventRecord[] {
    return this.eventsStmt.all({ after: afterSeq, service: service ?? '', limit }).map((r) => ({
      seq: r.seq,
      service: r.service,
      version: r.version,
      etag: r.etag,
      at: r.created_at,
      cause: JSON.parse(r.cause) as FlagChangeCause,
    }));
  }

  lastSeq(): number {
    return this.lastSeqStmt.get()?.seq ?? 0;
  }
}
