import type { RevocationListener } from '../access/token-service.js';
import { SwitchyardError } from '../errors.js';

/** What the leases need from the token service: word of each committed revocation. */
export interface RevocationSource {
  onRevoked(listener: RevocationListener): () => void;
}

export interface StreamLimits {
  /** Open streams one token may hold at once (every replica of a service shares its token). */
  perToken: number;
  /** Open streams over all tokens: kept below the connection cap, so streams never take it all. */
  total: number;
}

/** Seconds a refused stream client is told to wait (`Retry-After`). */
export const STREAM_RETRY_AFTER_S = 10;

/** The last bytes a stream gets when its token is revoked: a comment, then the end of the stream. */
export const REVOKED_COMMENT = ': token revoked\n\n';

/** What a lease needs of a streaming response. */
export interface StreamResponse {
  setHeader(name: string, value: string): unknown;
  end(chunk: string): unknown;
  on(event: 'close', listener: () => void): unknown;
}

interface Lease {
  readonly tokenId: string;
  readonly end: () => void;
}

/**
 * Every long-lived response (flag streams, the change-feed stream), by the token that opened it.
 * It enforces the stream caps when a stream opens, and ends a token's streams as soon as its
 * revocation commits (SPEC §8: "open streams included"), by an event from the token service
 * rather than a check per stream per interval.
 */
export class StreamLeases {
  private readonly byToken = new Map<string, Set<Lease>>();
  private count = 0;

  constructor(
    revocations: RevocationSource,
    private readonly limits: StreamLimits,
  ) {
    revocations.onRevoked((tokenId) => this.endAll(tokenId));
  }

  /** Open streams, over all tokens. */
  get size(): number {
    return this.count;
  }

  /**
   * Takes a place for one stream of `tokenId`, or refuses: 429 `too_many_streams` when the token
   * holds its cap, 503 `server_busy` when the server does; both with `Retry-After`, set on
   * `res` before the error is thrown so the problem answer carries it. `end` is called (once) if
   * the token is revoked while the stream is open. Returns the release, which is idempotent.
   */
  acquire(res: { setHeader(name: string, value: string): unknown }, tokenId: string, end: () => void): () => void {
    const held = this.byToken.get(tokenId);
    if ((held?.size ?? 0) >= this.limits.perToken) {
      res.setHeader('Retry-After', String(STREAM_RETRY_AFTER_S));
      throw new SwitchyardError('too_many_streams', `This token already holds ${this.limits.perToken} open streams, the most one token may hold; close one or use another token`, {
        limit: this.limits.perToken,
      });
    }
    if (this.count >= this.limits.total) {
      res.setHeader('Retry-After', String(STREAM_RETRY_AFTER_S));
      throw new SwitchyardError('server_busy', `The server holds ${this.limits.total} open streams, as many as it takes; retry later`);
    }
    const lease: Lease = { tokenId, end };
    let set = held;
    if (!set) {
      set = new Set();
      this.byToken.set(tokenId, set);
    }
    set.add(lease);
    this.count++;
    return () => this.release(lease);
  }

  /**
   * One stream's lease for its whole life: takes its place (or throws, as `acquire` does), then
   * opens it with `open`, which starts delivery and returns how to stop it. A revocation of the
   * token stops delivery and ends the response with REVOKED_COMMENT; the response's close stops
   * delivery and gives the place back.
   */
  hold(res: StreamResponse, tokenId: string, open: () => () => void): void {
    let stop = () => {};
    const release = this.acquire(res, tokenId, () => {
      stop();
      res.end(REVOKED_COMMENT);
    });
    res.on('close', () => {
      stop();
      release();
    });
    stop = open();
  }

  private release(lease: Lease): boolean {
    const set = this.byToken.get(lease.tokenId);
    if (!set?.delete(lease)) return false;
    if (set.size === 0) this.byToken.delete(lease.tokenId);
    this.count--;
    return true;
  }

  private endAll(tokenId: string): void {
    for (const lease of [...(this.byToken.get(tokenId) ?? [])]) {
      this.release(lease);
      try {
        lease.end();
      } catch {
        // The connection is already gone.
      }
    }
  }
}
