import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ulid } from 'ulid';
import { MalformedBodyError, PayloadTooLargeError, SwitchyardError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { redactTokens } from '../access/token-service.js';
import type { Logger } from '../logger.js';

export const PROBLEM_TYPE_BASE = 'urn:switchyard:problem:';

/** The RFC 9457 document for an error, as JSON text. */
export function problemDocument(err: SwitchyardError, instance: string, requestId: unknown): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_BASE + err.code,
    title: err.code.replace(/_/g, ' '),
    status: err.status,
    code: err.code,
    detail: err.message,
    instance,
    ...(requestId ? { request_id: requestId } : {}),
    ...(err.details ?? {}),
  });
}

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** Through express's `res.send`, so the idempotency middleware records a refusal like any answer. */
export function sendProblem(res: Response, err: SwitchyardError, instance: string): void {
  // RFC 9110 §11.6.1: a 401 must say which scheme to authenticate with.
  if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="switchyard"');
  res.status(err.status).type(PROBLEM_JSON).send(problemDocument(err, instance, res.getHeader('x-request-id')));
}

/** The same answer on a bare node:http response, for the read path that bypasses express. */
export function writeProblem(res: ServerResponse, err: SwitchyardError, instance: string): void {
  const body = problemDocument(err, instance, res.getHeader('x-request-id'));
  if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="switchyard"');
  res.statusCode = err.status;
  res.setHeader('Content-Type', PROBLEM_JSON);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Turns body-parser failures into our own errors so they share one code list. */
function fromBodyParser(err: unknown): SwitchyardError | undefined {
  // The router could not percent-decode a path segment (`/v1/intents/%E0%A4%A`): the URL is at
  // fault, not the body.
  if (err instanceof URIError && (err as { status?: number }).status === 400) return new ValidationError([{ path: '(path)', message: 'is not valid percent-encoded UTF-8' }], 'The request path cannot be decoded');
  const e = err as { type?: string; status?: number; limit?: number };
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError(`${e.limit ?? ''} bytes`);
  if (e?.type === 'entity.parse.failed') return new MalformedBodyError('The request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new UnsupportedMediaTypeError('UTF-8 JSON');
  if (e?.type === 'request.aborted') return new MalformedBodyError('The request body was cut short');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new MalformedBodyError('The request body could not be read');
  return undefined;
}

/**
 * What a client is told about `err`. Known errors keep their status and code and are logged at
 * info. Anything else is a bug: 500 with a correlation id, logged at error with its stack.
 */
export function explainError(logger: Logger, err: unknown, path: string, requestId: unknown): SwitchyardError {
  const known = err instanceof SwitchyardError ? err : fromBodyParser(err);
  if (known) {
    // The message often quotes the request (an owner, a key, a path): a token sent there stays out of the log.
    logger.info({ code: known.code, status: known.status, path: redactTokens(path), reqId: requestId }, redactTokens(known.message));
    return known;
  }
  const correlationId = String(requestId ?? ulid());
  logger.error({ err, path: redactTokens(path), reqId: correlationId }, 'unhandled error');
  return new SwitchyardError('internal_error', `Something went wrong on our side; quote ${correlationId} when reporting it`, { correlation_id: correlationId });
}

/** The one place errors become responses in the express app. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = explainError(logger, err, req.path, res.getHeader('x-request-id'));
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, error, req.originalUrl);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, new SwitchyardError('route_not_found', `No route ${req.method} ${req.path}`), req.originalUrl);
};
