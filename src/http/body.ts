import type { Request } from 'express';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';

/**
 * How deep arrays and objects may nest in a JSON body (the body itself is level 1). JSON.parse
 * copes with any depth, but schema validation, canonical JSON and even JSON.stringify recurse,
 * and a 256 KiB body of `[[[[…` would overflow their stack: a 500 for bad input. No real body
 * comes near: an intent's flag value sits at level 4.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses (400, with the path) what the JSON parser accepts but the rest of the stack cannot take
 * faithfully, without recursing: nesting deeper than MAX_JSON_DEPTH, and a member named
 * `__proto__`, which JavaScript objects cannot hold as data (schema validation drops it, so a flag
 * value or an override would be stored silently changed).
 */
export function assertPlainJson(value: unknown, max = MAX_JSON_DEPTH): void {
  interface Frame {
    value: unknown;
    depth: number;
    key: string;
    parent: Frame | null;
  }
  const pathOf = (f: Frame) => {
    const path: string[] = [];
    for (let p: Frame | null = f; p?.parent; p = p.parent) path.unshift(p.key);
    return path.join('.') || '(body)';
  };
  const stack: Frame[] = [{ value, depth: 1, key: '', parent: null }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.value === null || typeof f.value !== 'object') continue;
    if (f.depth > max) {
      throw new ValidationError([{ path: pathOf(f), message: `nests arrays and objects deeper than ${max} levels` }], 'The request body is nested too deeply');
    }
    const isArray = Array.isArray(f.value);
    for (const [k, v] of Object.entries(f.value)) {
      if (k === '__proto__' && !isArray) {
        const child = { value: v, depth: f.depth + 1, key: k, parent: f };
        throw new ValidationError([{ path: pathOf(child), message: 'a member named "__proto__" is not accepted' }], 'The request body is not valid');
      }
      // Only arrays and objects nest: a primitive member needs no frame of its own.
      if (v !== null && typeof v === 'object') stack.push({ value: v, depth: f.depth + 1, key: k, parent: f });
    }
  }
}

/**
 * The JSON body, or `{}` when none was sent. A body in another media type is refused rather than
 * ignored, so a client that forgot its Content-Type hears about it.
 */
export function jsonBody(req: Request): unknown {
  if (req.body !== undefined) {
    assertPlainJson(req.body);
    return req.body;
  }
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
