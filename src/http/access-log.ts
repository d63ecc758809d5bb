import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monotonicFactory } from 'ulid';
import { redactTokens } from '../access/token-service.js';
import type { Logger } from '../logger.js';

/**
 * ULIDs for request ids, drawing their random part from a pooled buffer: ulid's default asks the
 * system for one random byte per character, which was a sixth of the server's CPU on the OFREP
 * benchmark. Monotonic, so ids made within one millisecond still sort in arrival order.
 */
function requestIdFactory(): () => string {
  const pool = Buffer.alloc(4096);
  let next = pool.length;
  return monotonicFactory(() => {
    if (next === pool.length) {
      crypto.randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  });
}

const INCOMING_ID = /^[\w.-]{1,128}$/;

/** Starts an access-log entry for a request; the entry is written when the response ends. */
export type AccessLog = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * One line per request, written when the response is done (or the connection is lost first):
 * `{req: {id, method, url}, res: {statusCode}, responseTime}` with the message `request completed`,
 * at error level with `request errored` for a 5xx. The request id is the caller's `X-Request-Id`
 * when it is a plain token of up to 128 characters, a new ULID otherwise, and is echoed in the
 * `X-Request-Id` response header. Tokens in the URL are redacted.
 *
 * Both ways into the server (the express app and the read path in front of it) use this one
 * function, so their lines are the same. It replaces pino-http, whose per-request child logger
 * and header copies cost more than the OFREP evaluation they logged.
 */
export function accessLog(logger: Logger): AccessLog {
  const nextId = requestIdFactory();
  return (req, res) => {
    const started = Date.now();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : nextId();
    res.setHeader('X-Request-Id', id);
    // 'close' comes once per response, after 'finish' or when the connection is lost first.
    res.once('close', () => {
      const entry = { req: { id, method: req.method, url: redactTokens(req.url ?? '') }, res: { statusCode: res.statusCode }, responseTime: Date.now() - started };
      if (res.statusCode >= 500) logger.error(entry, 'request errored');
      else logger.info(entry, 'request completed');
    });
  };
}
