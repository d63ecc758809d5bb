import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
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
  ) {}

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
  ): FlagsChange[] {
    const changes: FlagsChange[] = [];
    const touched = new Set<string>([...services, ...next.keys()]);
    for (const service of [...touched].sort()) {
      const cur = this.current(service);
      const doc = JSON.parse(cur.json) as FlagsDocument;
      const flags: Record<string, FlagState> = {};
      for (const [name, state] of Object.entries(doc.flags)) {
        if (state.experiment.key !== key) flags[name] = state;
      }
      for (const [name, state] of Object.entries(next.get(service) ?? {})) flags[name] = state;
      const candidate = serialize({ service, version: cur.version, flags });
      if (candidate === cur.json) continue;
      const version = cur.version + 1;
      const json = serialize({ service, version, flags });
      const stored: StoredFlagDocument = { service, version, json, etag: strongEtag(json), createdAt: this.clock.now().toISOString() };
      const seq = this.store.insert(stored, cause);
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
