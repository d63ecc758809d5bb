import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Clock } from '../clock.js';
import { UnprocessableError, ValidationError } from '../errors.js';
import type { IdempotencyStore } from '../storage/idempotency-store.js';
import { actorOf } from './auth.js';
import { assertJsonDepth } from './body.js';

/**
 * `Idempotency-Key` on POST and PUT: the first answer (2xx or 4xx) is stored under (token, key);
 * a retry with the same request gets it back byte for byte and changes nothing; the same key with a
 * different method, path or body is refused with 422. Handlers run synchronously on SQLite, so a
 * request's write and the record of its answer happen before the next request is handled.
 */
export function idempotency(store: IdempotencyStore, clock: Clock): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    const key = req.headers['idempotency-key'];
    if (key === undefined) return next();
    if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }], 'The Idempotency-Key header is not valid');
    }
    const actor = actorOf(res);
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) assertJsonDepth(body);
    const bodyBytes = Buffer.isBuffer(body) ? body : Buffer.from(body === undefined ? '' : JSON.stringify(body));
    const requestHash = crypto.createHash('sha256').update(req.method).update('\0').update(req.originalUrl).update('\0').update(bodyBytes).digest('hex');
    const prior = store.get(actor.tokenId, key);
    if (prior) {
      if (prior.requestHash !== requestHash) {
        throw new UnprocessableError('idempotency_key_reused', `Idempotency-Key ${key} was used for a different request (${prior.method} ${prior.path})`);
      }
      for (const [h, v] of Object.entries(prior.headers)) res.setHeader(h, v);
      res.setHeader('Idempotent-Replayed', 'true');
      res.status(prior.status).send(prior.body);
      return;
    }
    const send = res.send.bind(res);
    res.send = (payload?: unknown) => {
      if (res.statusCode < 500) {
        const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : typeof payload === 'string' ? payload : JSON.stringify(payload ?? '');
        const contentType = res.getHeader('content-type');
        store.put(actor.tokenId, key, {
          method: req.method,
          path: req.originalUrl,
          requestHash,
          status: res.statusCode,
          headers: contentType ? { 'content-type': String(contentType) } : {},
          body: text,
          createdAt: clock.now().toISOString(),
        });
      }
      return send(payload);
    };
    next();
  };
}
