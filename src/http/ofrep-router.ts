import crypto from 'node:crypto';
import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Actor } from '../access/actor.js';
import { MalformedBodyError, SwitchyardError, ValidationError } from '../errors.js';
import type { EvaluationContext } from '../evaluation/types.js';
import type { FlagStateService } from '../flags/flag-state-service.js';
import { bulkEtag, isOfrepFailure, OfrepEvaluator, PAUSED_REASON, type OfrepEvaluation } from '../flags/ofrep.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { actorOf } from './auth.js';
import { assertPlainJson, jsonBody, param, parseWith } from './body.js';
import type { StoredFlagDocument } from '../flags/flag-store.js';
import { etagMatches, knownServiceDocument, requireServiceAccess } from './flags-router.js';
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

/** Unix seconds of an ISO 8601 time (the `lastModified` the notification stream sends). */
export const unixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

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

/** The two OFREP evaluations, served both by `ofrepRouter` and by the read path. */
export interface OfrepEndpoints {
  /**
   * `POST …/ofrep/v1/evaluate/flags/{key}` for an authenticated caller. The body is read only after
   * the access check, so a caller without access learns nothing from how its body is judged.
   */
  single(actor: Actor, service: string, key: string, readBody: () => unknown): Reply;
  /**
   * `POST …/ofrep/v1/evaluate/flags`, 304 when `If-None-Match` names the answer's ETag. With
   * `query`, the re-fetch metadata is honoured (see `assertFresh`).
   */
  bulk(actor: Actor, service: string, readBody: () => unknown, ifNoneMatch: string | undefined, query?: RefetchQuery): Reply;
}

export function ofrepEndpoints(flags: FlagStateService, catalog: () => ServiceCatalog, counter?: OfrepEvaluationCounter, eventStreams?: EventStreamsFor): OfrepEndpoints {
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
    bulk(actor, service, readBody, ifNoneMatch, query) {
      requireServiceAccess(actor, service);
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
      return { status: 200, etag, json: streamsJson === undefined ? json : `${json.slice(0, -1)},"eventStreams":${streamsJson}}` };
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
    const query = req.query as Record<string, unknown>;
    sendReply(res, endpoints.bulk(actorOf(res), param(req, 'service'), () => jsonBody(req), req.headers['if-none-match'], { flagConfigEtag: query['flagConfigEtag'], flagConfigLastModified: query['flagConfigLastModified'] }));
  });
  return r;
}
