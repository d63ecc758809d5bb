import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Actor } from '../access/actor.js';
import { MalformedBodyError, SwitchyardError } from '../errors.js';
import type { EvaluationContext } from '../evaluation/types.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { bulkEtag, isOfrepFailure, OfrepEvaluator, PAUSED_REASON, type OfrepEvaluation } from '../flags/ofrep.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { actorOf } from './auth.js';
import { assertPlainJson, jsonBody, param } from './body.js';
import { etagMatches, knownServiceDocument, requireServiceAccess } from './flags-router.js';
import { parseWith } from './intents-router.js';
import { sendReply, type Reply } from './reply.js';

/** Where evaluations are counted (a Prometheus counter fits). */
export interface OfrepEvaluationCounter {
  inc(labels: { service: string; reason: string }, value?: number): void;
}

/**
 * `{"context": {...}}`; unknown members are ignored, so a provider built against a later protocol
 * version keeps working.
 */
export const EvaluationRequest = z.looseObject({ context: z.record(z.string(), z.unknown()).optional() });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The shape nearly every request has, `{"context": {...}}` or `{}`, which EvaluationRequest accepts
 * for certain (test/http/ofrep.test.ts holds the two together): checked without zod's copy.
 */
export function plainEvaluationRequest(body: unknown): boolean {
  return isObject(body) && (body['context'] === undefined || isObject(body['context']));
}

function readContext(readBody: () => unknown): EvaluationContext {
  const body = readBody();
  assertPlainJson(body);
  // zod judges the rest, and words the refusal.
  if (!plainEvaluationRequest(body)) {
    parseWith(EvaluationRequest, body, 'OFREP evaluation request');
  }
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
  next(withOfrepFields(err, key));
};

/** `err` with the OFREP failure fields added (see `ofrepErrorFields`), or `err` itself if unknown. */
export function withOfrepFields(err: unknown, key: string | undefined): unknown {
  const parseFailed = (err as { type?: string } | null)?.type === 'entity.parse.failed';
  const known: SwitchyardError | undefined = err instanceof SwitchyardError
    ? err
    : parseFailed
      ? new MalformedBodyError('The request body is not valid JSON')
      : undefined;
  if (!known || known.details?.['errorCode'] !== undefined) return err;
  const errorCode =
    known.code === 'malformed_body'
      ? 'PARSE_ERROR'
      : known.status === 400
        ? 'INVALID_CONTEXT'
        : known.status === 404 && key !== undefined
          ? 'FLAG_NOT_FOUND'
          : 'GENERAL';
  return new SwitchyardError(known.code, known.status, known.message, {
    ...(known.details ?? {}),
    ...(key !== undefined ? { key } : {}),
    errorCode,
    errorDetails: known.message,
  });
}

/** The two OFREP evaluations, served both by `ofrepRouter` and by the read path. */
export interface OfrepEndpoints {
  /**
   * `POST …/ofrep/v1/evaluate/flags/{key}` for an authenticated caller. The body is read only after
   * the access check, so a caller without access learns nothing from how its body is judged.
   */
  single(actor: Actor, service: string, key: string, readBody: () => unknown): Reply;
  /** `POST …/ofrep/v1/evaluate/flags`, 304 when `If-None-Match` names the answer's ETag. */
  bulk(actor: Actor, service: string, readBody: () => unknown, ifNoneMatch: string | undefined): Reply;
}

export function ofrepEndpoints(flags: FlagStateService, catalog: () => ServiceCatalog, counter?: OfrepEvaluationCounter): OfrepEndpoints {
  const evaluator = new OfrepEvaluator();
  // Counted by SPEC §6 reason, as the bulk route counts: a paused flag's STATIC answer is DISABLED.
  const count = (service: string, e: OfrepEvaluation) =>
    counter?.inc({ service, reason: isOfrepFailure(e) ? 'ERROR' : e.reason === PAUSED_REASON ? 'DISABLED' : e.reason });
  return {
    single(actor, service, key, readBody) {
      requireServiceAccess(actor, service);
      const context = readContext(readBody);
      const doc = knownServiceDocument(flags, catalog, service);
      const result = evaluator.evaluate(doc, key, context);
      count(service, result);
      return { status: ofrepStatus(result), json: JSON.stringify(result) };
    },
    bulk(actor, service, readBody, ifNoneMatch) {
      requireServiceAccess(actor, service);
      const context = readContext(readBody);
      const doc = knownServiceDocument(flags, catalog, service);
      const etag = bulkEtag(doc, context);
      if (etagMatches(ifNoneMatch, etag)) return { status: 304, etag };
      const { json, reasons } = evaluator.evaluateAllJson(doc, context);
      // One increment per reason, not per flag: a counter increment hashes its labels.
      for (const [reason, n] of reasons) counter?.inc({ service, reason }, n);
      return { status: 200, etag, json };
    },
  };
}

/**
 * OFREP (SPEC §7) under `/v1/services/{service}`, so a stock OFREP provider works with base URL
 * `.../v1/services/{service}` and an `Authorization: Bearer` header. Access is the flags GET's.
 */
export function ofrepRouter(endpoints: OfrepEndpoints): Router {
  const r = Router();
  r.post('/v1/services/:service/ofrep/v1/evaluate/flags/:key', (req, res) => {
    sendReply(res, endpoints.single(actorOf(res), param(req, 'service'), param(req, 'key'), () => jsonBody(req)));
  });
  r.post('/v1/services/:service/ofrep/v1/evaluate/flags', (req, res) => {
    sendReply(res, endpoints.bulk(actorOf(res), param(req, 'service'), () => jsonBody(req), req.headers['if-none-match']));
  });
  return r;
}
