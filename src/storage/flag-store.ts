import type { Database } from './database.js';

export interface StoredFlagDocument {
  service: string;
  version: number;
  /** The serialized document, stored and served byte for byte so the ETag always matches the body. */
  json: string;
  etag: string;
  createdAt: string;
}

interface Row {
  service: string;
  version: number;
  document: string;
  etag: string;
  created_at: string;
}

const toDoc = (r: Row): StoredFlagDocument => ({
  service: r.service,
  version: r.version,
  json: r.document,
  etag: r.etag,
  createdAt: r.created_at,
});

/** Every version of every service's flags document is kept: history is how an answer is explained later. */
export class FlagStore {
  private readonly latestStmt;
  private readonly atStmt;
  private readonly insertStmt;
  private readonly allLatestStmt;

  constructor(db: Database) {
    this.latestStmt = db.prepare<[string], Row>(
      'SELECT * FROM flag_documents WHERE service = ? ORDER BY version DESC LIMIT 1',
    );
    this.atStmt = db.prepare<[string, number], Row>('SELECT * FROM flag_documents WHERE service = ? AND version = ?');
    this.insertStmt = db.prepare(
      'INSERT INTO flag_documents (service, version, document, etag, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.allLatestStmt = db.prepare<[], Row>(
      `SELECT d.* FROM flag_documents d
        JOIN (SELECT service, max(version) AS version FROM flag_documents GROUP BY service) m
          ON m.service = d.service AND m.version = d.version`,
    );
  }

  latest(service: string): StoredFlagDocument | undefined {
    const r = this.latestStmt.get(service);
    return r ? toDoc(r) : undefined;
  }

  at(service: string, version: number): StoredFlagDocument | undefined {
    const r = this.atStmt.get(service, version);
    return r ? toDoc(r) : undefined;
  }

  allLatest(): StoredFlagDocument[] {
    return this.allLatestStmt.all().map(toDoc);
  }

  insert(doc: StoredFlagDocument): void {
    this.insertStmt.run(doc.service, doc.version, doc.json, doc.etag, doc.createdAt);
  }
}
