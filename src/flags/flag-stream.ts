/**
 * Live flag streams (SPEC §7, Server-Sent Events): every open stream of a service hears each new
 * flags-document version of that service as one event whose `id` is the version and whose data is
 * the whole document, the same bytes `GET /v1/services/{service}/flags` serves.
 *
 * Whole documents rather than diffs, because a client that missed events (it was disconnected, or
 * was dropped for reading too slowly) then needs nothing but the latest event: reconnecting with
 * `Last-Event-ID` gets the current document at once, or nothing if it already has it. There is no
 * replay of intermediate versions; a service only ever needs the state, not its history (the
 * `/v1/events` feed has the history).
 *
 * Knows nothing about HTTP: the router hands it a sink (a Node `ServerResponse` fits) once the
 * request has been authorised and the service found.
 */
import type { StoredFlagDocument } from './flag-store.js';
import type { FlagsChange, FlagsListener } from './flag-state-service.js';

/** Where a stream's bytes go: a subset of a Node writable such as `ServerResponse`. */
export interface StreamSink {
  write(chunk: string): boolean;
  end(): void;
  /** Bytes queued but not yet flushed to the socket. */
  readonly writableLength: number;
}

/** What the hub needs from the flag state: post-commit change notifications. */
export interface FlagChangeSource {
  subscribe(listener: FlagsListener): () => void;
}

export interface FlagStreamOptions {
  /** Interval of `: ping` comments, which keep proxies and NATs from closing idle streams. */
  heartbeatMs?: number;
  /**
   * A client with more than this many bytes queued is disconnected rather than buffered without
   * bound; it reconnects with `Last-Event-ID` and gets the current document.
   */
  maxQueuedBytes?: number;
  /** Told the number of open streams whenever it changes (for a gauge). */
  onCountChange?: (count: number) => void;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** How long an EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 2_000;

export interface FlagStream {
  readonly service: string;
  /** Stops delivering to this stream and forgets it; idempotent. */
  close(): void;
}

interface Client extends FlagStream {
  readonly sink: StreamSink;
  /** The highest version this client has (sent by us, or named in its Last-Event-ID). */
  version: number;
}

/** One SSE event; every `data:` line of a multi-line payload gets its own field. */
export function sseEvent(id: number, data: string): string {
  return `id: ${id}\ndata: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}

/** The `Last-Event-ID` a client sent, as a version, or `undefined` when absent or not a version. */
export function parseLastEventId(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * The registry of open streams. One listener on the flag state fans each change out to the streams
 * of its service, and one timer sends heartbeats to all of them (running only while any is open).
 */
export class FlagStreamHub {
  private readonly byService = new Map<string, Set<Client>>();
  private count = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private shut = false;
  private readonly heartbeatMs: number;
  private readonly maxQueuedBytes: number;
  private readonly onCountChange: ((count: number) => void) | undefined;

  constructor(source: FlagChangeSource, options: FlagStreamOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.onCountChange = options.onCountChange;
    this.unsubscribe = source.subscribe((change) => this.deliver(change));
  }

  /** Open streams, over all services. */
  get size(): number {
    return this.count;
  }

  /** Open streams of one service. */
  sizeOf(service: string): number {
    return this.byService.get(service)?.size ?? 0;
  }

  /** After `closeAll` the hub takes no new streams. */
  get closed(): boolean {
    return this.shut;
  }

  /**
   * Starts a stream on `sink` for the service of `current` (its document as of now). Sends that
   * document at once unless the client's `lastEventId` already names its version; a client that is
   * behind, or ahead (a database restored from backup), gets the current document.
   */
  open(sink: StreamSink, current: StoredFlagDocument, lastEventId: number | undefined): FlagStream {
    if (this.shut) throw new Error('the flag stream hub is closed');
    const service = current.service;
    const client: Client = {
      service,
      sink,
      version: -1,
      close: () => this.remove(client),
    };
    let clients = this.byService.get(service);
    if (!clients) {
      clients = new Set();
      this.byService.set(service, clients);
    }
    clients.add(client);
    this.count++;
    this.onCountChange?.(this.count);
    this.startHeartbeat();

    // `retry` alone dispatches no event; it also gets the headers and first bytes through proxies.
    this.send(client, `retry: ${RETRY_MS}\n\n`);
    client.version = current.version;
    if (lastEventId !== current.version) this.send(client, sseEvent(current.version, current.json));
    return client;
  }

  /** Ends every stream (clients see a clean end of stream) and refuses new ones: for shutdown. */
  closeAll(): void {
    if (this.shut) return;
    this.shut = true;
    this.unsubscribe();
    for (const clients of [...this.byService.values()]) {
      for (const client of [...clients]) {
        this.remove(client);
        try {
          client.sink.end();
        } catch {
          // Already gone.
        }
      }
    }
    this.stopHeartbeat();
  }

  private deliver(change: FlagsChange): void {
    const clients = this.byService.get(change.service);
    if (!clients) return;
    const event = sseEvent(change.version, change.json);
    for (const client of [...clients]) {
      // Versions only grow; a client that already has this one (it connected in between) skips it.
      if (change.version <= client.version) continue;
      client.version = change.version;
      this.send(client, event);
    }
  }

  private send(client: Client, chunk: string): void {
    try {
      client.sink.write(chunk);
    } catch {
      this.remove(client);
      return;
    }
    if (client.sink.writableLength > this.maxQueuedBytes) {
      // A stalled reader: drop it rather than hold an unbounded backlog; it resumes by Last-Event-ID.
      this.remove(client);
      client.sink.end();
    }
  }

  private remove(client: Client): void {
    const clients = this.byService.get(client.service);
    if (!clients?.delete(client)) return;
    if (clients.size === 0) this.byService.delete(client.service);
    this.count--;
    this.onCountChange?.(this.count);
    if (this.count === 0) this.stopHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.heartbeat || this.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => {
      for (const clients of [...this.byService.values()]) {
        for (const client of [...clients]) this.send(client, ': ping\n\n');
      }
    }, this.heartbeatMs);
    // Open streams, not this timer, decide whether the process has work left.
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
