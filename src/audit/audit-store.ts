export interface AuditRecord {
  seq: number;
  id: string;
  type: string;
  experiment: string | null;
  version: number | null;
  service: string | null;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  experiment?: string;
  service?: string;
  actor?: string;
  type?: string;
  from?: string;
  to?: string;
  afterSeq?: number;
  limit: number;
}

/**
 * The audit trail's storage port: append-only. No method updates or deletes, and each adapter
 * enforces that in the database too (SQLite: triggers; PostgreSQL: triggers or privileges), so
 * a tampered row is a database refusal, not a code path.
 *
 * Text columns read back exactly as written (a lone surrogate included): the chain was hashed
 * over those strings.
 */
export interface AuditReader {
  /** The event with the highest seq, or undefined on an empty trail. */
  last(): Promise<AuditRecord | undefined>;
  /**
   * Events matching every given filter, seq > afterSeq, by seq ascending, at most `limit`.
   * `service` matches the event's service column or any entry of its `data.services` array;
   * `from` is inclusive, `to` exclusive.
   */
  query(q: AuditQuery): Promise<AuditRecord[]>;
  /** Every event by seq ascending, streamed (the trail may be larger than memory). */
  iterate(): AsyncIterable<AuditRecord>;
}

export interface AuditStore extends AuditReader {
  /**
   * Appends one event; returns its seq (strictly increasing). The chain's `prevHash` is the hash
   * of `last()` read in the SAME unit of work: the unit of work serialises units (SQLite: one
   * writer; PostgreSQL: the unit's advisory lock), so two appends can never both chain to the
   * same predecessor.
   */
  insert(e: Omit<AuditRecord, 'seq'>): Promise<number>;
}

/**
 * An event's `data` column as the adapters read it back. Every version has stored it as the
 * `JSON.stringify` of an object, so anything else was written outside Switchyard (a tampered row):
 * it reads as `{"unreadable_data": <the stored text>}`, which no event ever hashed to, so `verify`
 * names that event and the audit list still answers, instead of either failing on a parse error.
 */
export function readStoredData(text: string): Record<string, unknown> {
  try {
    const data: unknown = JSON.parse(text);
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) return data as Record<string, unknown>;
  } catch {
    // fall through: the stored text is not JSON
  }
  return { unreadable_data: text };
}
