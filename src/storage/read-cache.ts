import { performance } from 'node:perf_hooks';
import type { Database } from './database.js';

/**
 * How long a commit by another process may go unseen by a cache. Commits by this process are seen
 * at once; a second writer on the same file (`make run` twice, a script) is seen within this.
 */
export const OTHER_WRITER_DELAY_MS = 100;

/**
 * Rows a store reads on every request (a token by its hash, a service's latest document), kept in
 * memory so the read path makes no SQLite call at all: every read transaction in WAL mode takes and
 * drops a lock on the shared-memory file, two system calls that cost more than the OFREP evaluation.
 *
 * The entries are dropped whenever the database may have changed under them: when this process
 * writes through the owning store (it calls `clear()`), and when another connection has committed,
 * which SQLite's `PRAGMA data_version` tells; that is asked at most every OTHER_WRITER_DELAY_MS.
 * Reads inside a transaction bypass the cache: they may see rows that are rolled back. Misses are
 * not kept, so unknown keys (a guessed token) cannot fill it; at `max` entries it starts over.
 */
export class ReadCache<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly dataVersion;
  private seen = -1;
  private checkedAt = -Infinity;

  constructor(
    private readonly db: Database,
    private readonly max = 10_000,
    /** Milliseconds on a monotonic clock; tests step it. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  get(key: K, load: () => V | undefined): V | undefined {
    if (this.db.inTransaction) return load();
    const now = this.now();
    if (now - this.checkedAt >= OTHER_WRITER_DELAY_MS) {
      this.checkedAt = now;
      const version = this.dataVersion.get()!;
      if (version !== this.seen) {
        this.entries.clear();
        this.seen = version;
      }
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const value = load();
    if (value !== undefined) {
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
