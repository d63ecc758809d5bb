import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Clock } from '../clock.js';
import { UnprocessableError, ValidationError } from '../errors.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { IdempotencyReader, StoredResponse } from './idempotency-store.js';
import { actorOf } from './auth.js';
import { assertPlainJson } from './body.js';

/**
 * `res.locals` key a handler sets to the top-level members of its JSON answer that are shown once
 * (a new token's secret): the stored copy, and so a replay, carries them as `null`, because the
 * database keeps no secret in the clear.
 */
export const SHOWN_ONCE = 'idempotency.shownOnce';

const ROLLBACK = Symbol('roll back the request transaction');

function withoutShownOnce(text: string, fields: unknown): string {
  if (!Array.isArray(fields) || fields.length === 0) return text;
  const doc: unknown = JSON.parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return text;
  for (const f of fields as string[]) if (Object.hasOwn(doc, f)) (doc as Record<string, unknown>)[f] = null;
  return JSON.stringify(doc);
}

/**
 * `Idempotency-Key` on POST and PUT: the first answer (2xx or 4xx) is stored under (token, key);
 * a retry with the same request gets it back byte for byte and changes nothing; the same key with a
 * different method, path or body is refused with 422.
 *
 * For a request that `inUnit` accepts, the handler runs inside one unit of work (its services'
 * units join it), the record of its answer is written in that same unit, and the answer is sent
 * only after COMMIT: a crash can lose both, never just the record (a retry would then run the
 * write again). A handler that fails (5xx) commits nothing, not even what it wrote before failing.
 * Handlers that await other work (a policy check in a worker, the telemetry group commit) must not
 * hold the writer that long: for them the record is written in a unit of its own once they
 * answer, and the answer sent after it commits.
 */
export function idempotency(
  read: IdempotencyReader,
  clock: Clock,
  tx: UnitOfWork,
  inUnit: (req: Request) => boolean,
): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    const key = req.headers['idempotency-key'];
    if (key === undefined) return next();
    if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }], 'The Idempotency-Key header is not valid');
    }
    const actor = actorOf(res);
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) assertPlainJson(body);
    const bodyBytes = Buffer.isBuffer(body) ? body : Buffer.from(body === undefined ? '' : JSON.stringify(body));
    const requestHash = crypto.createHash('sha256').update(req.method).update('\0').update(req.originalUrl).update('\0').update(bodyBytes).digest('hex');
    const prior = await read.get(actor.tokenId, key, clock.now());
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
    const record = (payload: unknown): StoredResponse => {
      const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : typeof payload === 'string' ? payload : JSON.stringify(payload ?? '');
      const contentType = res.getHeader('content-type');
      return {
        method: req.method,
        path: req.originalUrl,
        requestHash,
        status: res.statusCode,
        headers: contentType ? { 'content-type': String(contentType) } : {},
        body: withoutShownOnce(text, res.locals[SHOWN_ONCE]),
        createdAt: clock.now().toISOString(),
      };
    };
    // The handler's answer, held back until the record of it has committed.
    let answered!: (payload: unknown) => void;
    const answer = new Promise<{ payload: unknown } | undefined>((resolve) => {
      answered = (payload) => resolve({ payload });
      res.once('close', () => resolve(undefined));
    });
    res.send = (payload?: unknown) => {
      answered(payload);
      return res;
    };
    if (!inUnit(req)) {
      next();
      const got = await answer;
      res.send = send;
      if (!got) return;
      if (res.statusCode < 500) {
        const stored = record(got.payload);
        await tx.run((u) => u.idempotency.put(actor.tokenId, key, stored));
      }
      send(got.payload);
      return;
    }
    let got: { payload: unknown } | undefined;
    try {
      await tx.run(async (u) => {
        next();
        got = await answer;
        if (!got) throw ROLLBACK;
        // A handler that failed (5xx) commits nothing, not even what it wrote before failing.
        if (res.statusCode >= 500) throw ROLLBACK;
        await u.idempotency.put(actor.tokenId, key, record(got.payload));
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    } finally {
      res.send = send;
    }
    if (got) send(got.payload);
  };
}
