/**
 * OpenFeature Remote Evaluation Protocol (OFREP) evaluation, SPEC §7: the server-side half of
 * `POST /v1/services/{service}/ofrep/v1/evaluate/flags[/{key}]`. It evaluates with the one
 * evaluation module (SPEC §6) and shapes results the way the OFREP OpenAPI document does:
 *
 * - success: `{key, value, reason, variant, metadata}` with reason `SPLIT`, `DEFAULT` or `STATIC`
 *   (OpenFeature standard reasons; the protocol lists reasons as examples, not a closed set);
 * - a paused flag (SPEC §6 step 1, reason DISABLED) is answered with reason `STATIC` and
 *   `metadata.switchyard_state: "DISABLED"`, a documented deviation (README, "Paused flags over
 *   OFREP"): the stock Go provider (go-sdk-contrib providers/ofrep) returns the caller's code default,
 *   not the value sent, for reason `DISABLED`, so a paused experiment would serve each Go service
 *   whatever its code says instead of the control arm. `STATIC` is what flagd answers for the same
 *   flag in our flagd export, so OFREP and flagd agree on the reason too;
 * - failure: `{key, errorCode, errorDetails}`. OFREP failures carry no value, so a remote caller
 *   falls back to its code default where the SDK and flagd would serve the flag's default variant;
 *   that is the protocol's choice, and the `errorCode` says why.
 *
 * Compiling a document (validating every flag, absorbing seeds into hash states) happens once per
 * (service, ETag); the hot path only evaluates.
 */
import crypto from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { compileDocument, type CompiledDocument } from '../evaluation/index.js';
import type { EvaluationContext, EvaluationErrorCode, FlagsDocument, Resolution } from '../evaluation/types.js';
import type { StoredFlagDocument } from './flag-store.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** OFREP metadata values are primitives only. */
export type OfrepMetadata = Record<string, string | number | boolean>;

export interface OfrepSuccess {
  key: string;
  value: unknown;
  reason: 'SPLIT' | 'DEFAULT' | 'STATIC';
  variant: string;
  metadata: OfrepMetadata;
}

export interface OfrepFailure {
  key: string;
  errorCode: EvaluationErrorCode;
  errorDetails: string;
}

export type OfrepEvaluation = OfrepSuccess | OfrepFailure;

export function isOfrepFailure(e: OfrepEvaluation): e is OfrepFailure {
  return 'errorCode' in e;
}

interface Prepared {
  readonly etag: string;
  readonly compiled: CompiledDocument;
  /** Per flag: which experiment drives it, so callers can attribute exposures. */
  readonly metadata: ReadonlyMap<string, OfrepMetadata>;
  /**
   * Per flag, the JSON of each successful answer seen so far, by reason and variant: within one
   * document version a flag's success is one of a few fixed objects, so the bulk answer is put
   * together from text instead of serialising the same objects on every request.
   */
  readonly answers: Map<string, Map<string, string>>;
}

/**
 * The bulk response's ETag: it changes when the flags document changes or the context does, so a
 * polling client with an unchanged context gets 304 until a new version lands. The context is
 * canonicalised (RFC 8785) so key order and whitespace do not matter.
 */
export function bulkEtag(doc: StoredFlagDocument, context: EvaluationContext): string {
  const digest = crypto.hash('sha256', `${doc.etag}\0${canonicalContext(context)}`, 'base64url');
  return `"${digest.slice(0, 32)}"`;
}

const INDEX_LIKE = /^(?:0|[1-9]\d*)$/;

/**
 * RFC 8785 text of a context, as `canonicalize` writes it. For the usual context, whose members
 * are all strings, numbers, booleans or null, that is `JSON.stringify` of the members in code-unit
 * order: one native call instead of one per key and value. Keys that look like array indexes are
 * left to the library, because JavaScript objects put those first whatever their insertion order
 * (and `__proto__`, which an object literal cannot hold as data).
 */
export function canonicalContext(context: EvaluationContext): string {
  const keys = Object.keys(context);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const v = context[keys[i]!];
    if ((v !== null && typeof v === 'object') || INDEX_LIKE.test(keys[i]!) || keys[i] === '__proto__') return canonicalize(context) ?? '{}';
    if (i > 0 && keys[i - 1]! > keys[i]!) sorted = false;
  }
  if (sorted) return JSON.stringify(context);
  const ordered: Record<string, unknown> = {};
  for (const k of keys.sort()) ordered[k] = context[k];
  return JSON.stringify(ordered);
}

/** The bulk answer as JSON text, with how many flags resolved with each reason (`ERROR` for failures). */
export interface BulkAnswer {
  json: string;
  reasons: Map<string, number>;
}

export class OfrepEvaluator {
  /** One compiled document per service: the latest seen. Services are bounded by the catalog. */
  private readonly prepared = new Map<string, Prepared>();

  evaluate(doc: StoredFlagDocument, key: string, context: EvaluationContext): OfrepEvaluation {
    const p = this.prepare(doc);
    return toOfrep(p.compiled.evaluate(key, context), p.metadata.get(key));
  }

  /**
   * Every flag of the document, sorted by key (the document's order), as the JSON text of
   * `{"flags": [OfrepEvaluation, …]}`: the same bytes `JSON.stringify` would give.
   */
  evaluateAllJson(doc: StoredFlagDocument, context: EvaluationContext): BulkAnswer {
    const p = this.prepare(doc);
    const parts: string[] = [];
    const reasons = new Map<string, number>();
    for (const [key, flag] of p.compiled.flags) {
      const r = flag.evaluate(context);
      reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      if (r.reason === 'ERROR') {
        parts.push(JSON.stringify(toOfrep(r, undefined)));
        continue;
      }
      let seen = p.answers.get(key);
      if (!seen) p.answers.set(key, (seen = new Map()));
      // Reasons hold no ':', so the variant after it cannot make two answers collide.
      const id = `${r.reason}:${r.variant}`;
      let text = seen.get(id);
      if (text === undefined) seen.set(id, (text = JSON.stringify(toOfrep(r, p.metadata.get(key)))));
      parts.push(text);
    }
    return { json: `{"flags":[${parts.join(',')}]}`, reasons };
  }

  private prepare(doc: StoredFlagDocument): Prepared {
    const hit = this.prepared.get(doc.service);
    if (hit?.etag === doc.etag) return hit;
    const parsed = JSON.parse(doc.json) as FlagsDocument;
    const metadata = new Map<string, OfrepMetadata>();
    for (const [key, flag] of Object.entries(parsed.flags ?? {})) {
      const m: OfrepMetadata = { flags_version: parsed.version };
      if (typeof flag?.experiment?.key === 'string') m['experiment'] = flag.experiment.key;
      if (typeof flag?.experiment?.version === 'number') m['experiment_version'] = flag.experiment.version;
      metadata.set(key, m);
    }
    const prepared: Prepared = { etag: doc.etag, compiled: compileDocument(parsed), metadata, answers: new Map() };
    this.prepared.set(doc.service, prepared);
    return prepared;
  }
}

/** What OFREP answers for a paused flag, which SPEC §6 resolves with reason DISABLED (see the header). */
export const PAUSED_REASON = 'STATIC';

function toOfrep(r: Resolution, metadata: OfrepMetadata | undefined): OfrepEvaluation {
  if (r.reason === 'ERROR') return { key: r.flag, errorCode: r.errorCode, errorDetails: r.errorMessage };
  if (r.reason === 'DISABLED') {
    return { key: r.flag, value: r.value, reason: PAUSED_REASON, variant: r.variant, metadata: { ...metadata, switchyard_state: 'DISABLED' } };
  }
  return { key: r.flag, value: r.value, reason: r.reason, variant: r.variant, metadata: metadata ?? {} };
}
