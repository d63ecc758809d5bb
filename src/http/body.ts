import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { zodFieldErrors } from '../intents/validation.js';
import { findDuplicateMember } from './json-duplicates.js';

/**
 * How deep arrays and objects may nest in a JSON body (the body itself is level 1). JSON.parse
 * copes with any depth, but schema validation, canonical JSON and even JSON.stringify recurse,
 * and a 256 KiB body of `[[[[…` would overflow their stack: a 500 for bad input. No real body
 * comes near: an intent's flag value sits at level 4.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The text each parsed body came from, for the one check that needs it (duplicate member names).
 * Both JSON readers register here: express.json (through `jsonSource` and `jsonBody`) and the read
 * path's own parser, so `assertPlainJson` judges both the same way.
 */
const SOURCES = new WeakMap<object, string>();

/** Records that `value` was parsed from `text`. */
export function registerJsonSource(value: unknown, text: string): void {
  if (value !== null && typeof value === 'object') SOURCES.set(value, text);
}

// The path quotes member names; one that is not well-formed is shown with U+FFFD, so the problem document is.
const refuse = (path: string, message: string, title = 'The request body is not valid') => new ValidationError([{ path: path.toWellFormed(), message }], title);

/**
 * The boundary check every JSON body goes through (SPEC §2, text rules), without recursing:
 *
 * - nesting deeper than MAX_JSON_DEPTH (schema validation, canonical JSON and JSON.stringify
 *   recurse; a 256 KiB `[[[[…` would overflow their stack);
 * - a member named `__proto__`, which JavaScript objects cannot hold as data (schema validation
 *   drops it, so a flag value or an override would be stored silently changed);
 * - a string (member name or value) that is not well-formed Unicode: a lone surrogate such as
 *   `"\ud800"` cannot be stored faithfully (SQLite keeps its WTF-8 bytes and reads them back as
 *   U+FFFD), nor sent to the policy;
 * - a number JSON.parse made infinite (`1e400`): JSON.stringify would store it as `null`;
 * - a duplicate member name, which JSON.parse resolves silently to the last one.
 *
 * Each is a 400 `validation_failed` naming the field.
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
  const scalar = (v: unknown, f: Frame) => {
    if (typeof v === 'string' && !v.isWellFormed()) throw refuse(pathOf(f), 'must be well-formed Unicode (no lone surrogates)');
    if (typeof v === 'number' && !Number.isFinite(v)) throw refuse(pathOf(f), 'must be a finite number');
  };
  const root: Frame = { value, depth: 1, key: '', parent: null };
  const stack: Frame[] = [root];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.value === null || typeof f.value !== 'object') {
      scalar(f.value, f);
      continue;
    }
    if (f.depth > max) {
      throw refuse(pathOf(f), `nests arrays and objects deeper than ${max} levels`, 'The request body is nested too deeply');
    }
    const isArray = Array.isArray(f.value);
    for (const [k, v] of Object.entries(f.value)) {
      const child: Frame = { value: v, depth: f.depth + 1, key: k, parent: f };
      if (!isArray) {
        if (k === '__proto__') throw refuse(pathOf(child), 'a member named "__proto__" is not accepted');
        if (!k.isWellFormed()) throw refuse(pathOf(child), 'the member name must be well-formed Unicode (no lone surrogates)');
      }
      // Only arrays and objects nest: a primitive member is judged here, without a frame of its own.
      if (v !== null && typeof v === 'object') stack.push(child);
      else scalar(v, child);
    }
  }
  const text = value !== null && typeof value === 'object' ? SOURCES.get(value) : undefined;
  if (text !== undefined) {
    const dup = findDuplicateMember(text);
    if (dup) throw refuse(dup.join('.'), 'duplicate member name: a JSON object may name each member once');
  }
}

const RAW = Symbol('switchyard.rawJson');

/**
 * express.json's `verify` hook: keeps the raw bytes and their charset until `registerBodySource`
 * (mounted right after express.json) ties the parsed body to its text.
 */
export function keepRawJson(req: unknown, _res: unknown, buf: Buffer, encoding: string): void {
  (req as Record<symbol, unknown>)[RAW] = { buf, encoding };
}

export const registerBodySource: RequestHandler = (req, _res, next) => {
  const raw = (req as unknown as Record<symbol, { buf: Buffer; encoding: string } | undefined>)[RAW];
  if (raw && req.body !== null && typeof req.body === 'object') {
    // body-parser decodes with iconv-lite and drops a byte-order mark; TextDecoder does the same.
    registerJsonSource(req.body, new TextDecoder(raw.encoding).decode(raw.buf));
  }
  next();
};

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

/**
 * A path parameter; express 5 types them loosely, routing guarantees they are present. Percent-
 * decoding cannot yield a lone surrogate today (decodeURIComponent refuses one), but the text rule
 * holds here whatever the router does: a path that is not well-formed is a 400, never a lookup.
 */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  const s = typeof v === 'string' ? v : String(v ?? '');
  if (!s.isWellFormed()) throw new ValidationError([{ path: name, message: 'must be well-formed Unicode (no lone surrogates)' }], 'The request path is not valid');
  return s;
}

/**
 * SPEC §2's well-formedness rule for the query string. Node's query parser replaces undecodable
 * escapes with U+FFFD, so this is the same belt-and-braces as `param`.
 */
export const queryTextRules: RequestHandler = (req, _res, next) => {
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    const values = Array.isArray(v) ? (v as unknown[]) : [v];
    if (!k.isWellFormed() || values.some((x) => typeof x === 'string' && !x.isWellFormed())) {
      throw new ValidationError([{ path: k.toWellFormed(), message: 'must be well-formed Unicode (no lone surrogates)' }], 'The query string is not valid');
    }
  }
  next();
};

/**
 * A whole number in a query string, written in decimal digits only. `z.coerce.number()` would take
 * whatever `Number()` takes: `0x10`, `1e2`, ` 5`, `+5`, `0b11`.
 */
export function decimalInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^[0-9]{1,16}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** `value` parsed with a router's zod schema; a 400 `validation_failed` listing every bad field otherwise. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(zodFieldErrors(r.error), `The ${what} is not valid`);
  return r.data;
}
