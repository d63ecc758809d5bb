import type { ServerResponse } from 'node:http';
import type { Response } from 'express';

/**
 * An answer built without a framework. The read endpoints (flags GET, OFREP) return one, and the
 * two ways into the server send it: express with `sendReply` and the read path with `writeReply`,
 * so both put the same status, headers and bytes on the wire.
 */
export interface Reply {
  status: number;
  /** A validator: sent as `ETag`, with `Cache-Control: no-cache` so caches always revalidate. */
  etag?: string;
  /** JSON text; none for a 304. */
  json?: string;
}

declare const JSON_OF: unique symbol;
/**
 * JSON text that records, in its type only, the type of the value it is the serialization of: a
 * declared route's `send` takes it only for the body its declaration gives that status. `T` is
 * invariant, so the value's type must match the declared schema both ways: a field the schema
 * lacks fails `tsc` as surely as one it requires and the value lacks. Made by `jsonText`, or by a
 * cast where the text was serialized elsewhere (stored, or assembled in pieces on the hot read
 * path) from a value of that type. Costs nothing at run time: it is a string.
 */
export type JsonText<T> = string & { readonly [JSON_OF]: (value: T) => T };

/** `JSON.stringify(value)`, typed as the text of `value`. */
export const jsonText = <T>(value: T): JsonText<T> => JSON.stringify(value) as JsonText<T>;

const JSON_TYPE = 'application/json; charset=utf-8';

/** Through express's `res.send`, so the idempotency middleware records it like any answer. */
export function sendReply(res: Response, r: Reply): void {
  if (r.etag !== undefined) {
    res.setHeader('ETag', r.etag);
    res.setHeader('Cache-Control', 'no-cache');
  }
  res.status(r.status);
  if (r.json === undefined) res.end();
  else res.type(JSON_TYPE).send(r.json);
}

/** On a bare node:http response, every header in one `writeHead`, with the request id. */
export function writeReply(res: ServerResponse, r: Reply, requestId: string): void {
  const headers = ['X-Request-Id', requestId];
  if (r.etag !== undefined) headers.push('ETag', r.etag, 'Cache-Control', 'no-cache');
  if (r.json === undefined) {
    res.writeHead(r.status, headers).end();
    return;
  }
  headers.push('Content-Type', JSON_TYPE, 'Content-Length', String(Buffer.byteLength(r.json)));
  res.writeHead(r.status, headers).end(r.json);
}
