import type { Request } from 'express';
import { UnsupportedMediaTypeError } from '../errors.js';

/**
 * The JSON body, or `{}` when none was sent. A body in another media type is refused rather than
 * ignored, so a client that forgot its Content-Type hears about it.
 */
export function jsonBody(req: Request): unknown {
  if (req.body !== undefined) return req.body;
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > 0 || req.headers['transfer-encoding']) throw new UnsupportedMediaTypeError('application/json');
  return {};
}

/** A single query-string value: repeated or nested parameters are refused by the callers' schemas. */
export function queryString(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** A path parameter; express 5 types them loosely, routing guarantees they are present. */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : String(v ?? '');
}
