import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
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

/**
 * Starts an access-log entry for a request, written when the response ends, and returns the
 * request id. The id is set as the `X-Request-Id` response header unless `setHeader` is false
 * (the read path writes all its headers at once).
 */
export type AccessLog = (req: IncomingMessage, res: ServerResponse, setHeader?: boolean) => string;

/**
 * One line per request, written when the response is done (or the connection is lost first):
 * `{req: {id, method, url}, res: {statusCode}, responseTime}` with the message `request completed`,
 * at error level with `request errored` for a 5xx. The request id is the caller's `X-Request-Id`
 * when it is a plain token of up to 128 characters, a new ULID otherwise, and is echoed in the
 * `X-Request-Id` response header. Tokens in the URL are redacted.
 *
 * Both ways into the server (the express app and the read path in front of it) use this one
 * function, so their lines are the same. The `info` line has a fixed shape, so it is put together
 * from one template and handed to the logger's own destination, with the logger's level, bindings
 * and line format: going through pino's object serialiser and redaction cost a fifth of the
 * OFREP throughput (ADR 0004). Every other line, 5xx included, goes through pino as usual.
 */
export function accessLog(logger: Logger): AccessLog {
  const nextId = requestIdFactory();
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  const destination = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
  return (req, res, setHeader = true) => {
    const started = Date.now();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : nextId();
    if (setHeader) res.setHeader('X-Request-Id', id);
    // 'close' comes once per response, after 'finish' or when the connection is lost first.
    res.once('close', () => {
      const now = Date.now();
      const url = redactTokens(req.url ?? '');
      if (res.statusCode >= 500 || !destination) {
        const entry = { req: { id, method: req.method, url }, res: { statusCode: res.statusCode }, responseTime: now - started };
        if (res.statusCode >= 500) logger.error(entry, 'request errored');
        else logger.info(entry, 'request completed');
      } else if (logger.isLevelEnabled('info')) {
        destination.write(
          // The id is a ULID or matched INCOMING_ID, and node's parser admits only token methods:
          // neither needs escaping.
          `{"level":30,"time":${now}${bindings},"req":{"id":"${id}","method":"${req.method}","url":${JSON.stringify(url)}},"res":{"statusCode":${res.statusCode}},"responseTime":${now - started},"msg":"request completed"}\n`,
        );
      }
    });
    return id;
  };
}
