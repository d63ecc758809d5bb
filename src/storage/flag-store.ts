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
 * Every version of every service's flags document has a row, kept forever: it is the change feed's
 * entry (`/v1/events`: seq, version, ETag, cause), a few hundred bytes whatever the document's size.
 * The document body itself is kept for the latest version and the `historyVersions` before it
 * (FlagStateService prunes the rest). A pruned body is the empty string rather than NULL because
 * SQLite cannot drop NOT NULL without copying the table, which on the databases that need pruning
 * most (gigabytes of history) would need twice their disk at upgrade. Docs: docs/storage.md.
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
  /** The latest row of each service, asked on every flags read; a new version starts it over. */
  private readonly latestSeqs;

  constructor(private readonly db: Database) {
    this.latestSeqs = new ReadCache<string, number>(db);
    // Answered from the (service, version) index alone: seq is the rowid, so no document is read.
    this.latestSeqStmt = db.prepare<[string], { seq: number }>(
      'SELECT seq FROM flag_documents WHERE service = ? ORDER BY version DESC LIMIT 1',
    );
    this.bySeqStmt = db.prepare<[number], Row>('SELECT * FROM flag_documents WHERE seq = ?');
    this.latestStmt = db.prepare<[string], Row>(
      'SELECT * FROM flag_documents WHERE service = ? ORDER BY version DESC LIMIT 1',
    );
    this.atStmt = db.prepare<[string, number], Row>('SELECT * FROM flag_documents WHERE service = ? AND version = ?');
    this.insertStmt = db.prepare(
      'INSERT INTO flag_documents (service, version, document, etag, created_at, cause) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.eventsStmt = db.prepare<[{ after: number; service: string; limit: number }], Row>(
      `SELECT * FROM flag_documents WHERE seq > @after AND (@service = '' OR service = @service) ORDER BY seq LIMIT @limit`,
    );
    this.pruneVersionStmt = db.prepare<[string, number]>(`UPDATE flag_documents SET document = '' WHERE service = ? AND version = ? AND document <> ''`);
    this.pruneBelowStmt = db.prepare<[string, number]>(`UPDATE flag_documents SET document = '' WHERE service = ? AND version < ? AND document <> ''`);
    this.lastSeqStmt = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM flag_documents');
    this.allLatestStmt = db.prepare<[], Row>(
      `SELECT d.* FROM flag_documents d
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

  /** Drops the bodies of every version below `version`; returns how many. */
  pruneBelow(service: string, version: number): number {
    return version > 1 ? this.pruneBelowStmt.run(service, version).changes : 0;
  }

  allLatest(): StoredFlagDocument[] {
    return this.allLatestStmt.all().map(toDoc);
  }

  /** Returns the global sequence number of the new version: the event feed's cursor. */
  insert(doc: StoredFlagDocument, cause: FlagChangeCause): number {
    this.latestSeqs.clear();
    return Number(this.insertStmt.run(doc.service, doc.version, doc.json, doc.etag, doc.createdAt, JSON.stringify(cause)).lastInsertRowid);
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
