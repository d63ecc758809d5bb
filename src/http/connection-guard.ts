import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Open connections, how many have a request in progress, how many were cut to make room or turned away. */
export interface ConnectionGuardStats {
  open: number;
  busy: number;
  evicted: number;
  refused: number;
}

/** Written on a connection turned away: a 503 problem, then the connection closes. */
const BUSY_BODY = JSON.stringify({
  type: 'urn:switchyard:problem:server_busy',
  title: 'server busy',
  status: 503,
  code: 'server_busy',
  detail: 'The server holds as many connections as it takes, each with a request in progress; retry later',
});
const BUSY_RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\n' +
  'Content-Type: application/problem+json; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(BUSY_BODY)}\r\n` +
  'Retry-After: 1\r\nConnection: close\r\n\r\n' +
  BUSY_BODY;

/**
 * Caps the server's open connections at `max`. A connection beyond the cap makes room by cutting
 * the oldest connection that has no request in progress: one still sending its request head (a
 * slow or half-sent request), or an idle keep-alive. So a flood of half-sent requests, without a
 * token, costs its own connections and not everyone else's: `/healthz` still gets through, where a
 * plain `server.maxConnections` would refuse it until the header timeout cut the flood. Only when
 * every connection is busy (streams are capped below this, so not by streams alone) is the new one
 * turned away, with a 503 `server_busy`.
 */
export function guardConnections(server: Server, max: number): ConnectionGuardStats {
  const stats: ConnectionGuardStats = { open: 0, busy: 0, evicted: 0, refused: 0 };
  /** Open connections, oldest first, with the number of requests each has in progress. */
  const sockets = new Map<Socket, { busy: number }>();

  server.on('connection', (socket: Socket) => {
    if (sockets.size >= max) {
      let victim: Socket | undefined;
      for (const [s, state] of sockets) {
        if (state.busy === 0) {
          victim = s;
          break;
        }
      }
      if (!victim) {
        stats.refused++;
        socket.on('error', () => undefined);
        // Destroyed once written, so whatever the client sends meanwhile is never served.
        socket.write(BUSY_RESPONSE, () => socket.destroy());
        return;
      }
      stats.evicted++;
      sockets.delete(victim);
      victim.destroy();
    }
    sockets.set(socket, { busy: 0 });
    stats.open = sockets.size;
    socket.once('close', () => {
      sockets.delete(socket);
      stats.open = sockets.size;
    });
  });
  server.on('request', (req, res) => {
    const state = sockets.get(req.socket);
    if (!state) return;
    if (state.busy++ === 0) stats.busy++;
    res.once('close', () => {
      if (--state.busy === 0) stats.busy--;
    });
  });
  return stats;
}
