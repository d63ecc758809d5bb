import { Router, type ErrorRequestHandler, type Request } from 'express';
import { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import type { EvaluationContext } from '../evaluation/types.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { bulkEtag, isOfrepFailure, OfrepEvaluator, type OfrepEvaluation } from '../flags/ofrep.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { actorOf } from './auth.js';
import { jsonBody, param } from './body.js';
import { etagMatches, knownServiceDocument, requireServiceAccess } from './flags-router.js';
import { parseWith } from './intents-router.js';

/** Where evaluations are counted (a Prometheus counter fits). */
export interface OfrepEvaluationCounter {
  inc(labels: { service: string; reason: string }): void;
}

/**
 * `{"context": {...}}`; unknown members are ignored, so a provider built against a later protocol
 * version keeps working.
 */
export const EvaluationRequest = z.looseObject({ context: z.record(z.string(), z.unknown()).optional() });

function readContext(req: Request): EvaluationContext {
  const body = jsonBody(req);
  parseWith(EvaluationRequest, body, 'OFREP evaluation request');
  // The validated object itself, not zod's copy: attribute names reach evaluation exactly as sent.
  return ((body as { context?: EvaluationContext }).context ?? {}) as EvaluationContext;
}

/** The HTTP status the OFREP OpenAPI document gives each single-flag outcome. */
export function ofrepStatus(e: OfrepEvaluation): 200 | 400 | 404 | 500 {
  if (!isOfrepFailure(e)) return 200;
  switch (e.errorCode) {
    case 'FLAG_NOT_FOUND':
      return 404;
    case 'GENERAL':
      return 500;
    default:
      // TARGETING_KEY_MISSING, INVALID_CONTEXT, PARSE_ERROR: the protocol's "bad evaluation request".
      return 400;
  }
}

const SINGLE_PATH = /^\/v1\/evaluate\/flags\/([^/]+)\/?$/;

/** Where the OFREP routes live; `ofrepErrorFields` is mounted here. */
export const OFREP_MOUNT = '/v1/services/:service/ofrep';

/**
 * Errors raised before an evaluation (bad token, unknown service, malformed body) stay Switchyard
 * problem+json documents, with the OFREP failure fields added (`errorCode`, `errorDetails` and, for
 * a single flag, `key`), so a stock OFREP provider reports them as the matching OpenFeature error
 * (an unknown service, for instance, as FLAG_NOT_FOUND) instead of "unexpected response".
 *
 * Mount it on the app at `OFREP_MOUNT`, after the routers and before the problem handler: errors
 * from app-level middleware (the JSON body parser, authentication) skip routers entirely and only
 * reach error handlers registered on the app.
 */
export const ofrepErrorFields: ErrorRequestHandler = (err, req, _res, next) => {
  const match = SINGLE_PATH.exec(req.path);
  let key: string | undefined;
  try {
    key = match ? decodeURIComponent(match[1]!) : undefined;
  } catch {
    key = match?.[1];
  }
  const parseFailed = (err as { type?: string } | null)?.type === 'entity.parse.failed';
  const known: SwitchyardError | undefined = err instanceof SwitchyardError
    ? err
    : parseFailed
      ? new SwitchyardError('malformed_body', 400, 'The request body is not valid JSON')
      : undefined;
  if (!known || known.details?.['errorCode'] !== undefined) {
    next(err);
    return;
  }
  const errorCode =
    known.code === 'malformed_body'
      ? 'PARSE_ERROR'
      : known.status === 400
        ? 'INVALID_CONTEXT'
        : known.status === 404 && key !== undefined
          ? 'FLAG_NOT_FOUND'
          : 'GENERAL';
  const decorated = new SwitchyardError(known.code, known.status, known.message, {
    ...(known.details ?? {}),
    ...(key !== undefined ? { key } : {}),
    errorCode,
    errorDetails: known.message,
  });
  next(decorated);
};

/**
 * OFREP (SPEC §7) under `/v1/services/{service}`, so a stock OFREP provider works with base URL
 * `.../v1/services/{service}` and an `Authorization: Bearer` header. Access is the flags GET's.
 */
export function ofrepRouter(flags: FlagStateService, catalog: () => ServiceCatalog, counter?: OfrepEvaluationCounter): Router {
  const r = Router();
  const evaluator = new OfrepEvaluator();
  const count = (service: string, e: OfrepEvaluation) => counter?.inc({ service, reason: isOfrepFailure(e) ? 'ERROR' : e.reason });

  r.post('/v1/services/:service/ofrep/v1/evaluate/flags/:key', (req, res) => {
    const service = param(req, 'service');
    requireServiceAccess(actorOf(res), service);
    const context = readContext(req);
    const doc = knownServiceDocument(flags, catalog, service);
    const result = evaluator.evaluate(doc, param(req, 'key'), context);
    count(service, result);
    res.status(ofrepStatus(result)).json(result);
  });

  r.post('/v1/services/:service/ofrep/v1/evaluate/flags', (req, res) => {
    const service = param(req, 'service');
    requireServiceAccess(actorOf(res), service);
    const context = readContext(req);
    const doc = knownServiceDocument(flags, catalog, service);
    const etag = bulkEtag(doc, context);
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    const results = evaluator.evaluateAll(doc, context);
    for (const e of results) count(service, e);
    res.status(200).json({ flags: results });
  });

  return r;
}
