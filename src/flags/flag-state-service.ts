import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import { DocumentTooLargeError } from '../errors.js';
import type { FlagState, FlagsDocument } from '../evaluation/types.js';
import type { ChangeFeed } from '../unit-of-work.js';
import type { FlagChangeCause, FlagReader, FlagStore, StoredFlagDocument } from './flag-store.js';

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
 * Owns the per-service flags documents. Writes happen inside the caller's unit of work; the
 * snapshot the read path serves from (`current`) and the listeners (streams, the event feed) learn
 * of them only after the unit commits (`Unit.afterCommit`), so no client ever sees a state that was
 * rolled back. A commit by another process reaches the snapshot through the storage's change feed.
 */
export class FlagStateService implements FlagStateReader {
  private readonly listeners = new Set<FlagsListener>();
  /** The latest committed document of each service: the read path's snapshot, never a query per request. */
  private readonly latest = new Map<string, StoredFlagDocument>();
  /** The highest feed position this snapshot has taken in from the database (reload walks the feed from it). */
  private cursor = 0;
  /** The highest feed position committed that this process knows of (its own commits, and reloads). */
  private seq = 0;
  private reloading: Promise<void> = Promise.resolve();
  private stopFeed: (() => void) | undefined;

  constructor(
    private readonly read: FlagReader,
    private readonly clock: Clock,
    readonly limits: FlagStorageLimits = DEFAULT_FLAG_STORAGE_LIMITS,
  ) {}

  /** Loads the snapshot (at start), and keeps it current from `feed` (another process's commits). */
  async load(feed?: ChangeFeed): Promise<void> {
    this.cursor = await this.read.lastSeq();
    this.seq = Math.max(this.seq, this.cursor);
    for (const doc of await this.read.allLatest()) this.take(doc);
    if (feed && !this.stopFeed) this.stopFeed = feed.onExternalChange(() => this.reloadOrFail());
  }

  /**
   * Another process committed: walks the feed from the cursor, takes in every version newer than
   * the snapshot's and tells the listeners, as if it had been committed here. Reloads run one at a time.
   */
  reload(): Promise<void> {
    return this.reloadOrFail().catch(() => {
      // Flag reads fail static: the snapshot keeps the last good state; the next change retries.
    });
  }

  /** `reload`, rejected if it failed (the read barrier must not count a failed reload as current). */
  private reloadOrFail(): Promise<void> {
    const run = this.reloading.then(async () => {
      for (;;) {
        const page = await this.read.events(this.cursor, undefined, 500);
        for (const e of page) {
          this.cursor = e.seq;
          if (e.version <= (this.latest.get(e.service)?.version ?? 0)) continue;
          const doc = await this.read.at(e.service, e.version);
          if (!doc) continue;
          this.take(doc);
          this.seq = Math.max(this.seq, e.seq);
          this.publish([{ seq: e.seq, service: e.service, version: e.version, etag: doc.etag, json: doc.json, at: e.at, cause: e.cause }]);
        }
        if (page.length < 500) break;
      }
    });
    this.reloading = run.catch(() => {});
    return run;
  }

  stop(): void {
    this.stopFeed?.();
    this.stopFeed = undefined;
  }

  private take(doc: StoredFlagDocument): void {
    const had = this.latest.get(doc.service);
    if (!had || had.version < doc.version) this.latest.set(doc.service, doc);
  }

  /**
   * Prunes the bodies every service holds beyond the retention (the history a release without
   * retention left behind, or a lowered SWITCHYARD_FLAG_HISTORY_VERSIONS); run once at start.
   * Returns how many bodies were pruned.
   */
  async pruneHistory(store: FlagStore): Promise<number> {
    let pruned = 0;
    for (const doc of await store.allLatest()) {
      pruned += await store.pruneBelow(doc.service, doc.version - this.limits.historyVersions);
    }
    return pruned;
  }

  /**
   * Throws document_too_large if giving experiment `key` the flags `next` (per service) would push
   * a service's document past the cap: the check a submission makes before anything is stored.
   */
  async assertFits(store: FlagReader, key: string, next: Map<string, Record<string, FlagState>>): Promise<void> {
    for (const [service, flags] of next) {
      const cur = (await store.latest(service)) ?? emptyDocument(service);
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

  /** The service's latest committed document, from the snapshot: no query. */
  current(service: string): StoredFlagDocument {
    return this.latest.get(service) ?? emptyDocument(service);
  }

  at(service: string, version: number): Promise<StoredFlagDocument | undefined> {
    return this.read.at(service, version);
  }

  /**
   * Replaces every flag that experiment `key` drives in `services` with `next` (missing = removed).
   * Writes a new document version only for services whose flags actually changed.
   */
  async replaceExperiment(
    store: FlagStore,
    key: string,
    services: Iterable<string>,
    next: Map<string, Record<string, FlagState>>,
    cause: FlagChangeCause,
    options: ReplaceOptions = {},
  ): Promise<FlagsChange[]> {
    const changes: FlagsChange[] = [];
    const touched = new Set<string>([...services, ...next.keys()]);
    for (const service of [...touched].sort()) {
      // The unit's own view: an earlier write of the same unit is part of it, the snapshot is not.
      const cur = (await store.latest(service)) ?? emptyDocument(service);
      const flags = this.merge(cur, key, next.get(service) ?? {});
      const candidate = serialize({ service, version: cur.version, flags });
      if (candidate === cur.json) continue;
      const version = cur.version + 1;
      const json = serialize({ service, version, flags });
      // Inside the caller's transaction: a refusal rolls back everything the change wrote before it.
      if (options.enforceCap !== false) this.assertSize(service, json, cur.json);
      const stored: StoredFlagDocument = { service, version, json, etag: strongEtag(json), createdAt: this.clock.now().toISOString() };
      const seq = await store.insert(stored, cause);
      // Retention, in the same transaction: the body that just fell out of the window is pruned.
      await store.pruneVersion(service, version - this.limits.historyVersions - 1);
      changes.push({ seq, service, version, etag: stored.etag, json, at: stored.createdAt, cause });
    }
    return changes;
  }

  /** The feed of document versions after a cursor, for consumers that mirror flag state. */
  events(afterSeq: number, service: string | undefined, limit: number) {
    return this.read.events(afterSeq, service, limit);
  }

  /** The newest feed position this process knows committed (its own commits and reloads): no query. */
  lastSeq(): number {
    return this.seq;
  }

  subscribe(listener: FlagsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called after the unit that produced `changes` has committed (from `Unit.afterCommit`): the
   * snapshot takes them, then the listeners hear them.
   */
  publish(changes: readonly FlagsChange[]): void {
    for (const c of changes) {
      this.take({ service: c.service, version: c.version, json: c.json, etag: c.etag, createdAt: c.at });
      if (c.seq > this.seq) this.seq = c.seq;
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
