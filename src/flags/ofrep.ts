/**
 * OpenFeature Remote Evaluation Protocol (OFREP) evaluation, SPEC §7: the server-side half of
 * `POST /v1/services/{service}/ofrep/v1/evaluate/flags[/{key}]`. It evaluates with the one
 * evaluation module (SPEC §6) and shapes results the way the OFREP OpenAPI document does:
 *
 * - success: `{key, value, reason, variant, metadata}` with reason `SPLIT`, `DEFAULT` or `DISABLED`
 *   (OpenFeature standard reasons; the protocol lists reasons as examples, not a closed set);
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
import type { StoredFlagDocument } from '../storage/flag-store.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** OFREP metadata values are primitives only. */
export type OfrepMetadata = Record<string, string | number | boolean>;

export interface OfrepSuccess {
  key: string;
  value: unknown;
  reason: 'SPLIT' | 'DEFAULT' | 'DISABLED';
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
}

/**
 * The bulk response's ETag: it changes when the flags document changes or the context does, so a
 * polling client with an unchanged context gets 304 until a new version lands. The context is
 * canonicalised (RFC 8785) so key order and whitespace do not matter.
 */
export function bulkEtag(doc: StoredFlagDocument, context: EvaluationContext): string {
  const digest = crypto
    .createHash('sha256')
    .update(doc.etag)
    .update('\0')
    .update(canonicalize(context) ?? '{}')
    .digest('base64url');
  return `"${digest.slice(0, 32)}"`;
}

export class OfrepEvaluator {
  /** One compiled document per service: the latest seen. Services are bounded by the catalog. */
  private readonly prepared = new Map<string, Prepared>();

  evaluate(doc: StoredFlagDocument, key: string, context: EvaluationContext): OfrepEvaluation {
    const p = this.prepare(doc);
    return toOfrep(p.compiled.evaluate(key, context), p.metadata.get(key));
  }

  /** Every flag of the document, sorted by key (the document's order). */
  evaluateAll(doc: StoredFlagDocument, context: EvaluationContext): OfrepEvaluation[] {
    const p = this.prepare(doc);
    const out: OfrepEvaluation[] = [];
    for (const [key, flag] of p.compiled.flags) out.push(toOfrep(flag.evaluate(context), p.metadata.get(key)));
    return out;
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
    const prepared: Prepared = { etag: doc.etag, compiled: compileDocument(parsed), metadata };
    this.prepared.set(doc.service, prepared);
    return prepared;
  }
}

function toOfrep(r: Resolution, metadata: OfrepMetadata | undefined): OfrepEvaluation {
  if (r.reason === 'ERROR') return { key: r.flag, errorCode: r.errorCode, errorDetails: r.errorMessage };
  return { key: r.flag, value: r.value, reason: r.reason, variant: r.variant, metadata: metadata ?? {} };
}
