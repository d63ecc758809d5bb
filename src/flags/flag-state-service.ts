import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import { DocumentTooLargeError } from '../errors.js';
import type { FlagState, FlagsDocument } from '../evaluation/types.js';
import type { FlagChangeCause, FlagStore, StoredFlagDocument } from '../storage/flag-store.js';

export type { FlagChangeCause };

export interface FlagsChange {
  /** Global position in the event feed. */
  seq: number;
  service: string;
  version: number;
  etag: string;
  json: string;
  at: string;
  cause: FlagChangeCause;
}

export type FlagsListener = (change: FlagsChange) => void;

/** How large a service's document may grow, and how many older versions of it are kept. */
export interface FlagStorageLimits {
  /** UTF-8 bytes of the serialized document; a change that would grow one past it is refused. */
  maxDocumentBytes: number;
  /** Older versions whose body is kept besides the latest; older bodies are pruned on write. */
  historyVersions: number;
}

export const DEFAULT_FLAG_STORAGE_LIMITS: FlagStorageLimits = Object.freeze({ maxDocumentBytes: 1024 * 1024, historyVersions: 100 });

export interface ReplaceOptions {
  /**
   * Whether the size cap applies. The kill switch (pause) is exempt: it only turns ENABLED into
   * DISABLED (one byte more per flag), and must work even on a document at or over the cap.
   */
  enforceCap?: boolean;
}

/** What the read path needs: the current document of a service. */
export interface FlagStateReader {
  current(service: string): StoredFlagDocument;
}

export function strongEtag(json: string): string {
  return `"${crypto.createHash('sha256').update(json).digest('base64url').slice(0, 32)}"`;
}

function serialize(doc: FlagsDocument): string {
  const flags: Record<string, FlagState> = {};
  for (const k of Object.keys(doc.flags).sort()) flags[k] = doc.flags[k]!;
  return JSON.stringify({ service: doc.service, version: doc.version, flags });
}

/** What a service without any flags document yet is served: version 0, no flags. */
function emptyDocument(service: string): StoredFlagDocument {
  const json = serialize({ service, version: 0, flags: {} });
  return { service, version: 0, json, etag: strongEtag(json), createdAt: new Date(0).toISOString() };
}

/**
 * Owns the per-service flags documents. Writes happen inside the caller's transaction and return
 * the changes; listeners (streams, the event feed) hear of them only after the caller commits, so no
 * client ever sees a state that was rolled back.
 */
export class FlagStateService implements FlagStateReader {
  private readonly listeners = new Set<FlagsListener>();
  /** The latest document per service, with the row it came from: rows are append-only. */
  private readonly latest = new Map<string, { seq: number; doc: StoredFlagDocument }>();

  constructor(
    private readonly store: FlagStore,
    private readonly clock: Clock,
    readonly limits: FlagStorageLimits = DEFAULT_FLAG_STORAGE_LIMITS,
  ) {}

  /**
   * Prunes the bodies every service holds beyond the retention (the history a release without
   * retention left behind, or a lowered SWITCHYARD_FLAG_HISTORY_VERSIONS); run once at start.
   * Returns how many bodies were pruned.
   */
  pruneHistory(): number {
    let pruned = 0;
    for (const doc of this.store.allLatest()) {
      pruned += this.store.pruneBelow(doc.service, doc.version - this.limits.historyVersions);
    }
    return pruned;
  }

  /**
   * Throws document_too_large if giving experiment `key` the flags `next` (per service) would push
   * a service's document past the cap: the check a submission makes before anything is stored.
   */
  assertFits(key: string, next: Map<string, Record<string, FlagState>>): void {
    for (const [service, flags] of next) {
      const cur = this.current(service);
      const merged = this.merge(cur, key, flags);
      this.assertSize(service, serialize({ service, version: cur.version + 1, flags: merged }), cur.json);
    }
  }

  private merge(cur: StoredFlagDocument, key: string, next: Record<string, FlagState>): Record<string, FlagState> {
    const doc = JSON.parse(cur.json) as FlagsDocument;
    const flags: Record<string, FlagState> = {};
    for (const [name, state] of Object.entries(doc.flags)) {
      if (state.experiment.key !== key) flags[name] = state;
    }
    for (const [name, state] of Object.entries(next)) flags[name] = state;
    return flags;
  }

  /** A document may not grow past the cap; one already over it (an older release, a lowered cap) may shrink or stay. */
  private assertSize(service: string, json: string, currentJson: string): void {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes <= this.limits.maxDocumentBytes) return;
    const currentBytes = Buffer.byteLength(currentJson, 'utf8');
    if (bytes > currentBytes) throw new DocumentTooLargeError(service, bytes, currentBytes, this.limits.maxDocumentBytes);
  }

  /**
   * Every read asks the database which row is the latest, so a write by any connection is seen at
   * once; only the document's text is reused, because reading and decoding it (hundreds of KiB
   * with a thousand flags) made a 304 cost as much as a 200. Only committed rows are remembered:
   * a row read inside a transaction may be rolled back and its seq reused.
   */
  current(service: string): StoredFlagDocument {
    const seq = this.store.latestSeq(service);
    if (seq === undefined) return emptyDocument(service);
    const hit = this.latest.get(service);
    if (hit?.seq === seq) return hit.doc;
    const doc = this.store.bySeq(seq)!;
    if (!this.store.inTransaction()) this.latest.set(service, { seq, doc });
    return doc;
  }

  at(service: string, version: number): StoredFlagDocument | undefined {
    return this.store.at(service, version);
  }

  /**
   * Replaces every flag that experiment `key` drives in `services` with `next` (missing = removed).
   * Writes a new document version only for services whose flags actually changed.
   */
  replaceExperiment(
    key: string,
    services: Iterable<string>,
    next: Map<string, Record<string, FlagState>>,
    cause: FlagChangeCause,
    options: ReplaceOptions = {},
  ): FlagsChange[] {
    const changes: FlagsChange[] = [];
    const touched = new Set<string>([...services, ...next.keys()]);
    for (const service of [...touched].sort()) {
      const cur = this.current(service);
      const flags = this.merge(cur, key, next.get(service) ?? {});
      const candidate = serialize({ service, version: cur.version, flags });
      if (candidate === cur.json) continue;
      const version = cur.version + 1;
      const json = serialize({ service, version, flags });
      // Inside the caller's transaction: a refusal rolls back everything the change wrote before it.
      if (options.enforceCap !== false) this.assertSize(service, json, cur.json);
      const stored: StoredFlagDocument = { service, version, json, etag: strongEtag(json), createdAt: this.clock.now().toISOString() };
      const seq = this.store.insert(stored, cause);
      // Retention, in the same transaction: the body that just fell out of the window is pruned.
      this.store.pruneVersion(service, version - this.limits.historyVersions - 1);
      changes.push({ seq, service, version, etag: stored.etag, json, at: stored.createdAt, cause });
    }
    return changes;
  }

  /** The feed of document versions after a cursor, for consumers that mirror flag state. */
  events(afterSeq: number, service: string | undefined, limit: number) {
    return this.store.events(afterSeq, service, limit);
  }

  lastSeq(): number {
    return this.store.lastSeq();
  }

  subscribe(listener: FlagsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after the transaction that produced `changes` has committed. */
  publish(changes: readonly FlagsChange[]): void {
    for (const c of changes) {
      for (const l of this.listeners) {
        try {
          l(c);
        } catch {
          // A listener's failure (a closed socket) must not stop the others from hearing.
        }
      }
    }
  }
}
