/**
 * The SSE form of the change feed (`GET /v1/events/stream`): every flags-document version with its
 * provenance, in commit order, each event's `id` its feed position. A consumer that reconnects
 * with `Last-Event-ID` first gets everything it missed (from the database) and then live changes,
 * each exactly once: live changes that arrive while the backlog is being sent are held back and
 * only those past the backlog are sent.
 */
import type { FlagEventRecord } from './flag-store.js';
import type { FlagChangeCause, FlagsChange, FlagsListener } from './flag-state-service.js';
import { DEFAULT_HEARTBEAT_MS, sseEvent, type StreamSink } from './flag-stream.js';

export interface FeedSource {
  subscribe(listener: FlagsListener): () => void;
  events(afterSeq: number, service: string | undefined, limit: number): Promise<FlagEventRecord[]>;
  /** The feed position of the newest committed event (0 when there is none). */
  lastSeq(): number;
}

export interface FeedEvent {
  id: number;
  service: string;
  version: number;
  etag: string;
  at: string;
}

export function feedEventView(e: { seq: number; service: string; version: number; etag: string; at: string; cause: FlagChangeCause }): FeedEvent & FlagChangeCause {
  return { id: e.seq, service: e.service, version: e.version, etag: e.etag, at: e.at, ...e.cause };
}

const BACKLOG_PAGE = 500;

interface Subscriber {
  sink: StreamSink;
  service: string | undefined;
  lastSent: number;
  /** Live changes heard while the backlog is being read; null once it has been sent. */
  held: FlagsChange[] | null;
}

export class EventFeedStreams {
  private readonly subscribers = new Set<Subscriber>();
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private shut = false;

  constructor(
    private readonly source: FeedSource,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {}

  get closed(): boolean {
    return this.shut;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Sends the backlog after `afterSeq` and then every new change; returns the close function. */
  open(sink: StreamSink, afterSeq: number, service: string | undefined): () => void {
    if (this.shut) throw new Error('the event feed is closed');
    // An id past the end of the feed (a client of another server, or of a database restored from
    // a backup) names nothing here: without the clamp, every change up to that id would be
    // skipped as already sent, and the stream would stay silent. It resumes from the end instead.
    const sub: Subscriber = { sink, service, lastSent: Math.min(afterSeq, this.source.lastSeq()), held: [] };
    this.ensureListening();
    this.subscribers.add(sub);
    sink.write('retry: 2000\n\n');
    void this.backlog(sub);
    return () => this.remove(sub);
  }

  /**
   * Sends what the consumer missed, read from the database page by page, then the live changes
   * held back meanwhile: listening started before the first read, so a change committed after the
   * last page was read is among the held ones, and one committed before is in a page; each is sent
   * once, in feed order.
   */
  private async backlog(sub: Subscriber): Promise<void> {
    try {
      for (;;) {
        const page = await this.source.events(sub.lastSent, sub.service, BACKLOG_PAGE);
        if (!this.subscribers.has(sub)) return;
        for (const e of page) this.send(sub, e.seq, feedEventView(e));
        if (page.length < BACKLOG_PAGE) break;
      }
    } catch {
      // The database did not answer: end the stream; the consumer reconnects with Last-Event-ID.
      this.remove(sub);
      try {
        sub.sink.end();
      } catch {
        // already gone
      }
      return;
    }
    const held = sub.held ?? [];
    sub.held = null;
    for (const c of held) if (c.seq > sub.lastSent) this.send(sub, c.seq, feedEventView(c));
  }

  closeAll(): void {
    if (this.shut) return;
    this.shut = true;
    for (const sub of [...this.subscribers]) {
      this.remove(sub);
      try {
        sub.sink.end();
      } catch {
        // already gone
      }
    }
    this.unsubscribe?.();
  }

  private ensureListening(): void {
    if (!this.unsubscribe) this.unsubscribe = this.source.subscribe((c) => this.deliver(c));
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const sub of this.subscribers) sub.sink.write(': ping\n\n');
      }, this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private deliver(c: FlagsChange): void {
    for (const sub of this.subscribers) {
      if (sub.service !== undefined && sub.service !== c.service) continue;
      if (sub.held) {
        sub.held.push(c);
        continue;
      }
      if (c.seq <= sub.lastSent) continue;
      this.send(sub, c.seq, feedEventView(c));
    }
  }

  private send(sub: Subscriber, seq: number, event: unknown): void {
    sub.lastSent = seq;
    sub.sink.write(sseEvent(seq, JSON.stringify(event)));
  }

  private remove(sub: Subscriber): void {
    this.subscribers.delete(sub);
    if (this.subscribers.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}
