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

/**
 * The flags documents' storage port. Every version of every service's document has a feed entry
 * kept forever (`/v1/events`: seq, version, ETag, cause); its body is kept for the latest version
 * and a retention window before it (FlagStateService prunes the rest).
 *
 * `seq` is the feed's cursor: global, strictly increasing in COMMIT order, never reused once
 * committed. The adapter guarantees this because every `insert` happens inside a unit of work and
 * units are serialised (SQLite: one writer; PostgreSQL: the unit's advisory lock), so a reader
 * that has seen seq n never later sees a new entry below n.
 */
export interface FlagReader {
  /** The latest version of one service, with its body; undefined before its first version. */
  latest(service: string): Promise<StoredFlagDocument | undefined>;
  /** One version of one service; a version whose body was pruned is reported absent, like one that never existed. */
  at(service: string, version: number): Promise<StoredFlagDocument | undefined>;
  /** The latest version of every service, with its body, each service once, in no particular order. */
  allLatest(): Promise<StoredFlagDocument[]>;
  /** Up to `limit` feed entries with seq > afterSeq (of one service, or of all when undefined), by seq ascending. */
  events(afterSeq: number, service: string | undefined, limit: number): Promise<FlagEventRecord[]>;
  /** The highest seq ever committed, 0 on an empty feed. */
  lastSeq(): Promise<number>;
}

export interface FlagStore extends FlagReader {
  /**
   * Appends a version (its feed entry and its body); returns its seq. `doc.version` must be the
   * service's latest version + 1: the caller read the latest in the same unit.
   */
  insert(doc: StoredFlagDocument, cause: FlagChangeCause): Promise<number>;
  /** Drops the body of one version (its feed entry stays); a no-op below version 1. */
  pruneVersion(service: string, version: number): Promise<void>;
  /** Drops the bodies of every version below `version`; returns how many bodies went. */
  pruneBelow(service: string, version: number): Promise<number>;
}
