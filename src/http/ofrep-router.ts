import crypto from 'node:crypto';
import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Actor } from '../access/actor.js';
import { MalformedBodyError, SwitchyardError, ValidationError } from '../errors.js';
import type { EvaluationContext } from '../evaluation/types.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { bulkEtag, isOfrepFailure, OfrepEvaluator, PAUSED_REASON, type OfrepEvaluation, type OfrepFailure as OfrepFailureType } from '../flags/ofrep.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { ETAG, ifNoneMatch, notModified } from './api-schemas.js';
import { assertPlainJson, jsonBody, param, parseWith } from './body.js';
import type { StoredFlagDocument } from '../flags/flag-store.js';
import { etagMatches, knownServiceDocument, unixSeconds } from './flag-reads.js';
import { SERVICE_READERS } from './flags-router.js';
import { jsonText, type JsonText } from './reply.js';
import { declare, route, type DeclaredReply } from './route.js';

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

/** The HTTP status the OFREP OpenAPI document gives each single-flag failure. */
export function ofrepFailureStatus(e: OfrepFailureType): 400 | 404 | 500 {
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

// ---------------------------------------------------------------------------------------------
// Answers and routes.

const Primitive = z.union([z.string(), z.number(), z.boolean()]);
export const OfrepSuccess = z.object({
  key: z.string(),
  value: z.unknown(),
  // STATIC: a paused flag (SPEC §6 reason DISABLED), with metadata.switchyard_state DISABLED; see src/flags/ofrep.ts.
  reason: z.enum(['SPLIT', 'DEFAULT', 'STATIC']),
  variant: z.string(),
  metadata: z.record(z.string(), Primitive),
});
export const OfrepFailure = z.object({
  key: z.string(),
  errorCode: z.enum(['TARGETING_KEY_MISSING', 'FLAG_NOT_FOUND', 'INVALID_CONTEXT', 'PARSE_ERROR', 'GENERAL']),
  errorDetails: z.string(),
});
const OfrepEventStreamSchema = z.object({ type: z.literal('sse'), endpoint: z.object({ requestUri: z.string() }) });
export const OfrepBulk = z.object({ flags: z.array(z.union([OfrepSuccess, OfrepFailure])), eventStreams: z.array(OfrepEventStreamSchema).optional() });

const failure = (description: string) => ({ description, body: { name: 'OfrepFailure', schema: OfrepFailure } }) as const;

export const OFREP_ROUTES = {
  single: declare({
    method: 'post',
    path: '/v1/services/:service/ofrep/v1/evaluate/flags/:key',
    operationId: 'ofrepEvaluateFlag',
    tag: 'ofrep',
    summary: 'OFREP: evaluate one flag',
    description: 'Errors before evaluation are problem documents with the OFREP fields `errorCode` and `errorDetails` added.',
    access: SERVICE_READERS,
    body: { name: 'OfrepEvaluationRequest', schema: EvaluationRequest, optional: true },
    jsonBody: true,
    responses: {
      200: { description: 'The evaluation.', body: { name: 'OfrepSuccess', schema: OfrepSuccess } },
      400: failure('TARGETING_KEY_MISSING, INVALID_CONTEXT or PARSE_ERROR.'),
      404: failure('FLAG_NOT_FOUND.'),
      500: failure('GENERAL.'),
    },
    errors: ['validation_failed', 'forbidden_service', 'service_not_found'],
  }),
  bulk: declare({
    method: 'post',
    path: '/v1/services/:service/ofrep/v1/evaluate/flags',
    operationId: 'ofrepEvaluateFlags',
    tag: 'ofrep',
    summary: 'OFREP: evaluate every flag of the service (ETag per document and context)',
    access: SERVICE_READERS,
    body: { name: 'OfrepEvaluationRequest', schema: EvaluationRequest, optional: true },
    jsonBody: true,
    extraParameters: [
      ifNoneMatch,
      { name: 'flagConfigEtag', in: 'query', required: false, description: 'OFREP ADR-0008 re-fetch metadata: the `etag` of the `refetchEvaluation` event that triggered this request (the flags document ETag).', schema: { type: 'string' } },
      { name: 'flagConfigLastModified', in: 'query', required: false, description: "OFREP ADR-0008 re-fetch metadata: the event's `lastModified`, Unix seconds or an ISO 8601 date-time.", schema: { type: 'string' } },
    ],
    responses: {
      200: { description: "Every flag, by key, and `eventStreams`: the SSE stream that announces this service's changes.", body: { name: 'OfrepBulk', schema: OfrepBulk }, headers: ETAG },
      304: notModified,
    },
    errors: ['validation_failed', 'forbidden_service', 'service_not_found', 'flag_config_stale'],
  }),
};

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
  return new SwitchyardError(known.code, known.message, {
    ...(known.details ?? {}),
    ...(key !== undefined ? { key } : {}),
    errorCode,
    errorDetails: known.message,
  });
}

/**
 * The re-fetch metadata of OFREP ADR-0008: a provider that re-fetches because a `refetchEvaluation`
 * event told it to sends the event's `etag` and `lastModified` as these query parameters.
 */
export interface RefetchQuery {
  flagConfigEtag?: unknown;
  flagConfigLastModified?: unknown;
}

/** An `eventStreams` entry of a bulk answer (OFREP ADR-0008). */
export interface OfrepEventStream {
  type: 'sse';
  endpoint: { requestUri: string };
}

/** What the bulk answer advertises for a caller: the streams that notify `service`'s changes. */
export type EventStreamsFor = (actor: Actor, service: string) => OfrepEventStream[];

function queryText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new ValidationError([{ path: `query.${name}`, message: 'must be one non-empty string of at most 512 characters' }], `The query parameter ${name} is not valid`);
  }
  return value;
}

/** `flagConfigLastModified` as Unix seconds: an integer of seconds, or an ISO 8601 date-time. */
function lastModifiedSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError([{ path: 'query.flagConfigLastModified', message: 'must be Unix seconds or an ISO 8601 date-time' }], 'The query parameter flagConfigLastModified is not valid');
  }
  return Math.floor(ms / 1000);
}

/**
 * Honours the re-fetch metadata. The event named a document version by its ETag and time; if this
 * server's current document is another one *older* than that time, it has not seen the change yet
 * (a read snapshot behind the database), and answering would hand the provider the state it is
 * replacing, with a 304 it would trust: it gets 503 `flag_config_stale` instead, and retries. A
 * current document equal to the event's, or newer, is served as always.
 */
function assertFresh(doc: StoredFlagDocument, query: RefetchQuery | undefined): void {
  if (!query) return;
  const etag = queryText(query.flagConfigEtag, 'flagConfigEtag');
  const modified = lastModifiedSeconds(queryText(query.flagConfigLastModified, 'flagConfigLastModified'));
  if (etag === undefined || etag === doc.etag || modified === undefined) return;
  if (unixSeconds(doc.createdAt) < modified) {
    throw new SwitchyardError('flag_config_stale', `This server does not have the flags configuration ${etag} yet; retry in a moment`, { flagConfigEtag: etag });
  }
}

/**
 * The two OFREP evaluations, served both by `ofrepRouter` and by the read path, for a caller the
 * declared access rule admitted (which both apply before the body is read, so a caller without
 * access learns nothing from how its body is judged).
 */
export interface OfrepEndpoints {
  /** `POST …/ofrep/v1/evaluate/flags/{key}`. */
  single(service: string, key: string, readBody: () => unknown): DeclaredReply<typeof OFREP_ROUTES.single>;
  /**
   * `POST …/ofrep/v1/evaluate/flags`, 304 when `If-None-Match` names the answer's ETag. With
   * `query`, the re-fetch metadata is honoured (see `assertFresh`). `actor` is who the advertised
   * event streams are for.
   */
  bulk(actor: Actor, service: string, readBody: () => unknown, ifNoneMatch: string | undefined, query?: RefetchQuery): DeclaredReply<typeof OFREP_ROUTES.bulk>;
}

/** The bulk answer's shape, as the evaluator assembles its text (src/flags/ofrep.ts). */
interface OfrepBulkAnswer {
  flags: OfrepEvaluation[];
  eventStreams?: OfrepEventStream[];
}

export function ofrepEndpoints(flags: FlagStateService, catalog: () => ServiceCatalog, counter?: OfrepEvaluationCounter, eventStreams?: EventStreamsFor): OfrepEndpoints {
  const evaluator = new OfrepEvaluator();
  // Counted by SPEC §6 reason, as the bulk route counts: a paused flag's STATIC answer is DISABLED.
  const count = (service: string, e: OfrepEvaluation) =>
    counter?.inc({ service, reason: isOfrepFailure(e) ? 'ERROR' : e.reason === PAUSED_REASON ? 'DISABLED' : e.reason });
  return {
    single(service, key, readBody) {
      const context = readContext(readBody);
      const doc = knownServiceDocument(flags, catalog, service);
      const result = evaluator.evaluate(doc, key, context);
      count(service, result);
      return isOfrepFailure(result) ? { status: ofrepFailureStatus(result), json: jsonText(result) } : { status: 200, json: jsonText(result) };
    },
    bulk(actor, service, readBody, ifNoneMatch, query) {
      const context = readContext(readBody);
      const doc = knownServiceDocument(flags, catalog, service);
      assertFresh(doc, query);
      const streams = eventStreams?.(actor, service);
      const streamsJson = streams && streams.length > 0 ? JSON.stringify(streams) : undefined;
      let etag = bulkEtag(doc, context);
      // The advertised streams are part of the answer: a 304 must not keep a provider on a ticket
      // this server no longer takes (another process's key).
      if (streamsJson !== undefined) etag = `"${crypto.hash('sha256', `${etag}\0${streamsJson}`, 'base64url').slice(0, 32)}"`;
      if (etagMatches(ifNoneMatch, etag)) return { status: 304, etag };
      const { json, reasons } = evaluator.evaluateAllJson(doc, context);
      // One increment per reason, not per flag: a counter increment hashes its labels.
      for (const [reason, n] of reasons) counter?.inc({ service, reason }, n);
      const text = streamsJson === undefined ? json : `${json.slice(0, -1)},"eventStreams":${streamsJson}}`;
      return { status: 200, etag, json: text as JsonText<OfrepBulkAnswer> };
    },
  };
}

/**
 * OFREP (SPEC §7) under `/v1/services/{service}`, so a stock OFREP provider works with base URL
 * `.../v1/services/{service}` and an `Authorization: Bearer` header. Access is the flags GET's.
 */
export function ofrepRouter(endpoints: OfrepEndpoints): Router {
  const r = Router();
  route(r, OFREP_ROUTES.single, ({ req, send }) => send(endpoints.single(param(req, 'service'), param(req, 'key'), () => jsonBody(req))));
  route(r, OFREP_ROUTES.bulk, ({ req, actor, send }) => {
    const query = req.query as Record<string, unknown>;
    return send(endpoints.bulk(actor, param(req, 'service'), () => jsonBody(req), req.headers['if-none-match'], { flagConfigEtag: query['flagConfigEtag'], flagConfigLastModified: query['flagConfigLastModified'] }));
  });
  return r;
}
