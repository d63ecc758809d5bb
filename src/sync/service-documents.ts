/**
 * The one thing the push channels (flagd gRPC sync) ask of the flag state: a service's current
 * document, and word of each new version of it. Declared here, next to its user, so that when the
 * read path moves to snapshots kept current by after-commit change events (the storage port), the
 * adapter below is the only thing rewired.
 */
import type { FlagsChange } from '../flags/flag-state-service.js';
import type { StoredFlagDocument } from '../flags/flag-store.js';

/** One version of one service's flags document. */
export type ServiceDocument = Pick<StoredFlagDocument, 'service' | 'version' | 'json' | 'etag'>;

export interface ServiceDocuments {
  /**
   * The service's current document (version 0 with no flags before its first change). Throws
   * `service_not_found` for a service outside the catalog, as the HTTP reads do.
   */
  current(service: string): ServiceDocument;
  /** Calls `listener` with each new version of `service`, after its commit. Returns the unsubscribe. */
  subscribe(service: string, listener: (doc: ServiceDocument) => void): () => void;
}

/** What the adapter needs of today's flag state: the current document, and post-commit changes. */
export interface FlagStateSource {
  current(service: string): StoredFlagDocument;
  subscribe(listener: (change: FlagsChange) => void): () => void;
}

/**
 * `ServiceDocuments` over today's `FlagStateService`: one listener on the flag state, fanned out by
 * service, so a change costs the streams of its own service and not one check per open stream.
 * `current` is the HTTP reads' `knownServiceDocument` (catalog check included).
 */
export function flagStateDocuments(current: (service: string) => StoredFlagDocument, source: Pick<FlagStateSource, 'subscribe'>): ServiceDocuments {
  const byService = new Map<string, Set<(doc: ServiceDocument) => void>>();
  let unsubscribe: (() => void) | undefined;
  const deliver = (change: FlagsChange) => {
    for (const listener of [...(byService.get(change.service) ?? [])]) {
      try {
        listener(change);
      } catch {
        // One stream's failure must not keep the others from hearing.
      }
    }
  };
  return {
    current,
    subscribe(service, listener) {
      let set = byService.get(service);
      if (!set) byService.set(service, (set = new Set()));
      set.add(listener);
      unsubscribe ??= source.subscribe(deliver);
      return () => {
        const s = byService.get(service);
        if (!s?.delete(listener)) return;
        if (s.size === 0) byService.delete(service);
        if (byService.size === 0) {
          unsubscribe?.();
          unsubscribe = undefined;
        }
      };
    },
  };
}
