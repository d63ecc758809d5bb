import type { Request, Response } from 'express';
import { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import { parseLastEventId } from '../flags/flag-stream.js';

/** Refuses a new stream while the server drains; the client's EventSource retries after Retry-After. */
export function refuseWhileClosing(res: Response, closing: boolean): void {
  if (!closing) return;
  res.setHeader('Retry-After', '2');
  throw new SwitchyardError('shutting_down', 'The server is shutting down; reconnect in a moment');
}

/** The client's `Last-Event-ID` header, or the fallback (a query parameter for clients that cannot set it). */
export function lastEventId(req: Request, fallback: string | undefined): number | undefined {
  const header = req.headers['last-event-id'];
  return parseLastEventId(typeof header === 'string' ? header : fallback);
}

/** Sends the head of a Server-Sent Events response. Every check that can fail must come before. */
export function startEventStream(req: Request, res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  // A stream never shares its connection; closing it with the stream lets a drain finish at once.
  res.setHeader('Connection', 'close');
  // Tell nginx-style proxies not to buffer the stream.
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
}

/** The declared 200 of a Server-Sent Events route (route.ts): `text/event-stream`, its text described by zod. */
export const eventStreamOf = (description: string) =>
  ({
    description,
    contentType: 'text/event-stream',
    text: z.string().meta({ description: 'Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html): `id:` and `data:` lines per event, `:` comment lines as heartbeats.' }),
  }) as const;
