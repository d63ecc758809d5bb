/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json.
 *
 * Request bodies and query parameters are generated from the zod schemas the routers validate
 * with (`z.toJSONSchema`, JSON Schema 2020-12, input side), so the document cannot drift from
 * what the server accepts. Responses have no zod schema in the routers (handlers build plain
 * objects), so they are declared here as zod schemas, output side, reusing the domain schemas
 * where one exists (the intent, the policy decision). test/http/openapi.test.ts validates the
 * document against the OpenAPI 3.1 schema, checks that every route of the app is in it, and
 * validates real responses against it.
 */
import { z } from 'zod';
import { ROLES, TokenRequestSchema } from '../access/token-service.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { AudienceConditionSchema, IntentSchema } from '../intents/intent-schema.js';
import { AuditQuery, EventsQuery, EventsStreamQuery } from './audit-router.js';
import { AnalysisQuery } from './telemetry-router.js';
import { Router } from 'express';
import { Decision, eventStream, int, IntentRef, lastEventIdHeader, Obligations, time, VersionStatus, Violation } from './api-schemas.js';
import { CONSOLE_ROUTES } from '../console/console-router.js';
import { FLAGD_ROUTES } from './flagd-router.js';
import { FLAG_ROUTES, FlagState } from './flags-router.js';
import { HEALTH_ROUTES } from './health-router.js';
import { INTENT_ROUTES } from './intents-router.js';
import { OFREP_EVENTS_ROUTES } from './ofrep-events-router.js';
import { OFREP_ROUTES } from './ofrep-router.js';
import { STREAM_ROUTES } from './stream-router.js';
import { WHOAMI_ROUTES } from './whoami-router.js';
import { accessText, declare, openApiPath, route, type RouteDecl } from './route.js';
import { PublishQuery } from './policy-router.js';
import { TelemetryBody } from './telemetry-router.js';

type Json = Record<string, unknown>;

/** What GET /openapi.json answers: an OpenAPI 3.1 document (its own schema is the OpenAPI specification's). */
export const OpenApiDocument = z
  .looseObject({
    openapi: z.literal('3.1.0'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
    components: z.record(z.string(), z.unknown()),
  })
  .meta({ description: 'An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0).' });

export const OPENAPI_ROUTES = {
  openapi: declare({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'meta',
    summary: 'This document',
    access: { kind: 'public' },
    responses: { 200: { description: 'The OpenAPI 3.1 description of the API.', body: { name: 'OpenApiDocument', schema: OpenApiDocument } } },
    errors: [],
  }),
};

/** `GET /openapi.json`: public, like /healthz, so tools can fetch the description without a token. */
export function openApiRouter(): Router {
  const r = Router();
  route(r, OPENAPI_ROUTES.openapi, ({ res, handedOver }) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(openApiJson());
    return handedOver();
  });
  return r;
}

// ---------------------------------------------------------------------------------------------
// Response schemas (the request schemas are the routers' own).

const PolicyInfo = z.object({
  revision: z.string().nullable(),
  manifest_revision: z.string().nullable(),
  wasm_sha256: z.string().nullable(),
  entrypoints: z.array(z.string()),
  loaded_at: z.string().nullable(),
  activated_by: z.string().nullable(),
  services: z.array(z.string()),
});

const ImpactEntry = z.object({
  key: z.string(),
  version: int(),
  state: z.string(),
  old: z.object({ status: z.string(), policy_revision: z.string(), violations: z.array(Violation), obligations: Obligations.nullable() }),
  new: z.object({ status: z.string(), violations: z.array(Violation), obligations: Obligations }),
  changed: z.boolean(),
});
const PublishResult = z.object({
  dry_run: z.boolean(),
  activated: z.boolean(),
  revision: z.string(),
  previous_revision: z.string().nullable(),
  impact: z.object({
    candidate_revision: z.string(),
    active_revision: z.string().nullable(),
    evaluated: int(),
    would_deny: int(),
    changed: int(),
    experiments: z.array(ImpactEntry),
  }),
  // issue #18: the candidate's data document against the active revision's (src/policy/policy-data-diff.ts)
  data_changes: z.array(
    z.discriminatedUnion('change', [
      z.object({ path: z.array(z.string()), change: z.literal('added'), after: z.unknown() }),
      z.object({ path: z.array(z.string()), change: z.literal('removed'), before: z.unknown() }),
      z.object({ path: z.array(z.string()), change: z.literal('changed'), before: z.unknown(), after: z.unknown() }),
    ]),
  ),
  data_changes_omitted: int(),
});

const ReplayResult = z.object({ decision_id: z.string(), policy_revision: z.string(), matches: z.boolean(), original: z.unknown(), replayed: z.unknown() });

const DecisionRecord = z.object({
  id: z.string(),
  policy_revision: z.string(),
  allow: z.boolean(),
  violations: z.array(Violation),
  obligations: Obligations.nullable(),
  limits: z.record(z.string(), z.unknown()),
  intent: IntentRef.nullable(),
  status: VersionStatus,
  actor: z.string(),
  at: time(),
  input: z.unknown().meta({ description: 'The policy input (docs/policy-contract.md).' }),
  result: z.unknown().meta({ description: 'The policy answer as stored.' }),
});

const AuditEvent = z.object({
  id: z.string(),
  seq: int().min(1),
  type: z.string(),
  experiment: z.string().nullable(),
  version: int().nullable(),
  service: z.string().nullable(),
  actor: z.string(),
  at: time(),
  data: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});
const AuditPage = z.object({ events: z.array(AuditEvent), next_cursor: z.string().nullable() });
const AuditVerification = z.object({
  ok: z.boolean(),
  events: int(),
  head: z.string(),
  broken_at: z.object({ seq: int(), id: z.string(), reason: z.string() }).optional(),
});

const FeedEvent = z.object({
  id: int().meta({ description: 'The feed position: pass the last one applied as `after`.' }),
  service: z.string(),
  version: int(),
  etag: z.string(),
  at: time(),
  type: z.string(),
  experiment: z.string(),
  experiment_version: int().nullable(),
  decision_id: z.string().nullable(),
  policy_revision: z.string().nullable(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()).optional().meta({ description: "What made an automatic transition: on a guardrail's pause, the Analysis that tripped it." }),
});
const EventsPage = z.object({ events: z.array(FeedEvent), next_cursor: z.string() });

const TokenCreated = z.object({
  id: z.string(),
  token: z.string().meta({ description: 'The bearer token. Shown once; the server keeps only its SHA-256.' }),
  name: z.string(),
  role: z.enum(ROLES),
});
const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  team: z.string().optional(),
  approval_roles: z.array(z.string()).optional(),
  service: z.string().optional(),
  created_at: time(),
  revoked_at: time().optional().meta({ description: 'Present once the token is revoked.' }),
});
const TokenList = z.object({ tokens: z.array(TokenInfo).meta({ description: 'Every token, revoked ones included, oldest first; never a secret or its hash.' }) });
const CODES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
const Problem = z
  .looseObject({
    type: z.string().meta({ description: '`urn:switchyard:problem:<code>`' }),
    title: z.string(),
    status: int(),
    code: z.enum(CODES),
    detail: z.string(),
    instance: z.string(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().meta({ description: 'Every bad field (validation_failed).' }),
    correlation_id: z.string().optional().meta({ description: 'internal_error: quote it when reporting; the log has the stack.' }),
  })
  .meta({ description: 'An RFC 9457 problem document with a stable `code` (docs/errors.md). Other members may carry details.' });

const TelemetryResult = z.object({
  accepted: int().meta({ description: 'Events not rejected (assignment mismatches included: received, counted, not used).' }),
  rejected: z.array(z.object({ index: int(), code: z.enum(['unknown_flag', 'unknown_metric']), message: z.string() })),
  assignment_mismatches: int().meta({ description: 'Exposures whose unit SPEC §6 places outside the served slice or in another arm.' }),
});
const ArmMean = z.object({ units: int(), mean: z.number() });
const Analysis = z.object({
  key: z.string(),
  version: int(),
  units: z.record(z.string(), int()).meta({ description: 'Exposed units per arm.' }),
  srm: z.object({ p_value: z.number(), flagged: z.boolean() }),
  assignment_mismatches: int(),
  guardrails: z.array(
    z.object({
      metric: z.string(),
      arm: z.string(),
      better: z.enum(['lower', 'higher']).nullable(),
      max_regression: z.number(),
      control: ArmMean,
      arm_stats: ArmMean,
      relative_change: z.number().nullable(),
      interval: z.tuple([z.number(), z.number()]).nullable().meta({ description: 'Always-valid (mSPRT) interval on the relative change.' }),
      status: z.enum(['ok', 'collecting', 'regressed']),
    }),
  ),
  status: z.enum(['healthy', 'collecting', 'regressed', 'srm']),
  method: z.object({ interval: z.literal('msprt-delta'), alpha: z.number(), min_units: int() }),
  history: z
    .array(
      z.object({
        at: time(),
        units: z.record(z.string(), int()),
        status: z.enum(['healthy', 'collecting', 'regressed', 'srm']),
        guardrails: z.array(
          z.object({
            metric: z.string(),
            arm: z.string(),
            relative_change: z.number().nullable(),
            interval: z.tuple([z.number(), z.number()]).nullable(),
            status: z.enum(['ok', 'collecting', 'regressed']),
          }),
        ),
      }),
    )
    .max(200)
    .optional()
    .meta({
      description:
        'With `?history=true`: the points the guardrail loop recorded for this version, oldest first; one per tick in which the analysis changed, at most 200 (older ones thinned).',
    }),
});

/** Request schemas, generated on their input side (defaults optional, coercions as sent). */
const requestSchemas = {
  TokenRequest: TokenRequestSchema,
  TelemetryBatch: TelemetryBody,
} satisfies Record<string, z.ZodType>;

/** Response schemas, generated on their output side. */
const responseSchemas = {
  Problem,
  StoredIntent: IntentSchema,
  // Named inside FlagsDocument, so clients get a type for one flag.
  FlagState,
  AudienceCondition: AudienceConditionSchema,
  Violation,
  Obligations,
  Decision,
  PolicyInfo,
  PublishResult,
  ReplayResult,
  DecisionRecord,
  AuditEvent,
  AuditPage,
  AuditVerification,
  FeedEvent,
  EventsPage,
  TokenCreated,
  TokenList,
  TelemetryResult,
  Analysis,
} satisfies Record<string, z.ZodType>;

type SchemaName = keyof typeof responseSchemas | keyof typeof requestSchemas;

// ---------------------------------------------------------------------------------------------
// JSON Schema generation.

const ref = (name: SchemaName | string): Json => ({ $ref: `#/components/schemas/${name}` });

function isJsonValueSchema(s: unknown): boolean {
  const any = (s as { anyOf?: Json[] })?.anyOf;
  return Array.isArray(any) && any.length === 6 && any.some((x) => x['type'] === 'null') && any.some((x) => x['type'] === 'array');
}

/**
 * Rewrites every `$ref` in `value` through `map`, and drops the ±(2^53 - 1) bounds zod gives every
 * integer: they say nothing a reader needs.
 */
function rewriteRefs(value: unknown, map: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, map));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (k === 'maximum' && v === Number.MAX_SAFE_INTEGER)) continue;
    out[k] = k === '$ref' && typeof v === 'string' ? map(v) : rewriteRefs(v, map);
  }
  return out;
}

/**
 * Generates components from zod schemas. zod puts definitions that no registered schema names
 * (the recursive JSON value behind a flag value) under a `__shared` pseudo-schema; they become
 * components of their own here, so every `$ref` is a plain `#/components/schemas/<name>`.
 */
function generate(schemas: Record<string, z.ZodType>, io: 'input' | 'output', into: Record<string, Json>): void {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas as Record<string, Json>;
  const shared = ((generated['__shared'] as Json | undefined)?.['$defs'] ?? {}) as Record<string, Json>;
  delete generated['__shared'];
  const names = new Map<string, string>();
  for (const [def, schema] of Object.entries(shared)) {
    const wanted = isJsonValueSchema(schema) ? 'JsonValue' : `Shared_${io}_${def}`;
    names.set(def, wanted);
  }
  const map = (r: string) => {
    const m = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/.exec(r);
    return m ? `#/components/schemas/${names.get(m[1]!) ?? m[1]!}` : r;
  };
  const add = (name: string, schema: Json) => {
    const { $schema: _s, $id: _i, ...rest } = rewriteRefs(schema, map) as Json;
    if (into[name] && JSON.stringify(into[name]) !== JSON.stringify(rest)) throw new Error(`OpenAPI: two different schemas named ${name}`);
    into[name] = rest;
  };
  for (const [def, schema] of Object.entries(shared)) add(names.get(def)!, schema);
  for (const [name, schema] of Object.entries(generated)) add(name, schema);
}

/** The JSON Schema of a non-JSON body's zod schema (output side), inlined in its response. */
function textSchema(schema: z.ZodType): Json {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Json;
  return rest;
}

/** Query parameters from a router's zod query schema. */
function queryParameters(schema: z.ZodObject): Json[] {
  const js = rewriteRefs(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }), (r) => r) as Json;
  const required = new Set((js['required'] as string[] | undefined) ?? []);
  return Object.entries((js['properties'] ?? {}) as Record<string, Json>).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

// ---------------------------------------------------------------------------------------------
// Operations.

interface ResponseSpec {
  description: string;
  schema?: string;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
  /** A schema for a non-JSON body (text, event stream). */
  rawSchema?: Json;
  headers?: Record<string, Json>;
}

interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Who may call it; public operations carry no token. */
  access: string | 'public';
  query?: z.ZodObject;
  extraParameters?: Json[];
  /** `optional`: an absent body reads as `{}`. */
  body?: { schema: string; optional?: boolean } | { contentTypes: string[]; description: string };
  responses: Record<number, ResponseSpec>;
  /** Problem codes beyond the ones every operation of its kind can give (see `commonErrors`). */
  errors: ErrorCode[];
  /** Whether this operation parses a JSON body (adds the body parser's codes). */
  jsonBody?: boolean;
}

const header = (description: string, schema: Json = { type: 'string' }): Json => ({ description, schema });

const HUMANS = 'owner, approver, governance, operator, admin';

/**
 * The routes declared beside their handlers (route.ts). The hand-written entries of OPERATIONS are
 * the routers not converted yet; each conversion moves its entries and schemas into its router.
 */
export const DECLARED: RouteDecl[] = [
  ...Object.values(HEALTH_ROUTES),
  ...Object.values(OPENAPI_ROUTES),
  ...Object.values(CONSOLE_ROUTES),
  ...Object.values(INTENT_ROUTES),
  ...Object.values(WHOAMI_ROUTES),
  ...Object.values(FLAG_ROUTES),
  ...Object.values(STREAM_ROUTES),
  ...Object.values(FLAGD_ROUTES),
  ...Object.values(OFREP_ROUTES),
  ...Object.values(OFREP_EVENTS_ROUTES),
];

/** The components the declarations name: request bodies (input side) and answers (output side). */
function declaredSchemas(): { requests: Record<string, z.ZodType>; responses: Record<string, z.ZodType> } {
  const requests: Record<string, z.ZodType> = {};
  const responses: Record<string, z.ZodType> = {};
  const put = (into: Record<string, z.ZodType>, name: string, schema: z.ZodType) => {
    if (into[name] && into[name] !== schema) throw new Error(`OpenAPI: two different schemas named ${name}`);
    into[name] = schema;
  };
  for (const d of DECLARED) {
    if (d.body && 'schema' in d.body) put(requests, d.body.name, d.body.schema);
    for (const r of Object.values(d.responses)) if (r.body) put(responses, r.body.name, r.body.schema);
  }
  return { requests, responses };
}

function fromDeclaration(d: RouteDecl): OperationSpec {
  const responses: Record<number, ResponseSpec> = {};
  for (const [status, r] of Object.entries(d.responses)) {
    responses[Number(status)] = {
      description: r.description,
      ...(r.body ? { schema: r.body.name } : {}),
      ...(r.contentType ? { contentType: r.contentType } : {}),
      ...(r.text ? { rawSchema: textSchema(r.text) } : r.rawSchema ? { rawSchema: r.rawSchema } : {}),
      ...(r.headers ? { headers: r.headers } : {}),
    };
  }
  return {
    method: d.method,
    path: openApiPath(d.path),
    operationId: d.operationId,
    tag: d.tag,
    summary: d.summary,
    ...(d.description ? { description: d.description } : {}),
    access: accessText(d.access),
    ...(d.query ? { query: d.query } : {}),
    ...(d.extraParameters ? { extraParameters: d.extraParameters } : {}),
    ...(d.body ? { body: 'schema' in d.body ? { schema: d.body.name, ...(d.body.optional ? { optional: true } : {}) } : d.body } : {}),
    ...(d.jsonBody ? { jsonBody: true } : {}),
    responses,
    errors: d.errors,
  };
}

const OPERATIONS: OperationSpec[] = [
  // --- declared beside their handlers: DECLARED above
  ...DECLARED.map(fromDeclaration),
  {
    method: 'get',
    path: '/v1/intents/{key}/analysis',
    operationId: 'getAnalysis',
    tag: 'intents',
    summary: 'Sample-ratio check and guardrail analysis of the active version (SPEC §10.2); `?history=true` adds its points over time',
    access: 'owner, approver, governance, operator, admin',
    query: AnalysisQuery,
    responses: { 200: { description: 'The analysis.', schema: 'Analysis' } },
    errors: ['validation_failed', 'forbidden', 'intent_not_found'],
  },
  // --- flags
  {
    method: 'post',
    path: '/v1/services/{service}/telemetry',
    operationId: 'sendTelemetry',
    tag: 'flags',
    summary: 'Exposure and metric events, at most 10,000 a request (body limit 4 MiB); rejected one by one (SPEC §10.1)',
    access: 'service (this service), admin',
    body: { schema: 'TelemetryBatch' },
    jsonBody: true,
    responses: { 202: { description: 'What was accepted and rejected.', schema: 'TelemetryResult' } },
    errors: ['validation_failed', 'forbidden', 'forbidden_service', 'service_not_found'],
  },
  // --- policy and decisions
  {
    method: 'get',
    path: '/v1/policy',
    operationId: 'getPolicy',
    tag: 'policy',
    summary: 'The active policy',
    access: HUMANS,
    responses: { 200: { description: 'Its revision, digest, entrypoints and catalog services.', schema: 'PolicyInfo' } },
    errors: ['forbidden'],
  },
  {
    method: 'put',
    path: '/v1/policy',
    operationId: 'publishPolicy',
    tag: 'policy',
    summary: 'Publish an `opa build -t wasm` bundle, or with dry_run only report its impact',
    access: 'governance, admin',
    query: PublishQuery,
    body: { contentTypes: ['application/gzip', 'application/octet-stream'], description: 'The bundle bytes (at most 32 MiB).' },
    responses: { 200: { description: 'Validated; activated unless dry_run. The impact on every live experiment.', schema: 'PublishResult' } },
    errors: ['validation_failed', 'policy_invalid', 'policy_timeout', 'forbidden', 'payload_too_large', 'shutting_down'],
  },
  {
    method: 'get',
    path: '/v1/decisions/{id}',
    operationId: 'getDecision',
    tag: 'decisions',
    summary: 'One stored decision with its input',
    access: HUMANS,
    responses: { 200: { description: 'The decision.', schema: 'DecisionRecord' } },
    errors: ['forbidden', 'decision_not_found'],
  },
  {
    method: 'post',
    path: '/v1/decisions/{id}:replay',
    operationId: 'replayDecision',
    tag: 'decisions',
    summary: 'Re-evaluate a stored decision under the revision that made it',
    access: HUMANS,
    responses: { 200: { description: 'Both answers and whether they match.', schema: 'ReplayResult' } },
    errors: ['forbidden', 'decision_not_found', 'policy_invalid'],
  },
  // --- audit and events
  {
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAuditEvents',
    tag: 'audit',
    summary: 'The audit trail, oldest first, cursor-paged',
    access: HUMANS,
    query: AuditQuery,
    responses: { 200: { description: 'One page.', schema: 'AuditPage' } },
    errors: ['validation_failed', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/audit/verify',
    operationId: 'verifyAuditChain',
    tag: 'audit',
    summary: 'Recompute the hash chain of the audit trail',
    access: HUMANS,
    responses: { 200: { description: 'Whether the chain is intact, and where it breaks.', schema: 'AuditVerification' } },
    errors: ['forbidden'],
  },
  {
    method: 'get',
    path: '/v1/events',
    operationId: 'listFlagEvents',
    tag: 'events',
    summary: 'The change feed: every flags-document version with its provenance',
    access: `${HUMANS}; a service token (its own service only)`,
    query: EventsQuery,
    responses: { 200: { description: 'Events after `after`.', schema: 'EventsPage' } },
    errors: ['validation_failed', 'forbidden', 'forbidden_service'],
  },
  {
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamFlagEvents',
    tag: 'events',
    summary: 'The change feed as Server-Sent Events',
    access: `${HUMANS}; a service token (its own service only)`,
    query: EventsStreamQuery,
    extraParameters: [lastEventIdHeader],
    responses: { 200: eventStream("The stream; each event's data is a FeedEvent.") },
    errors: ['validation_failed', 'forbidden', 'forbidden_service', 'too_many_streams', 'shutting_down', 'server_busy'],
  },
  // --- tokens
  {
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    tag: 'tokens',
    summary: 'Create a token; the secret is in this answer only',
    access: 'admin',
    body: { schema: 'TokenRequest' },
    jsonBody: true,
    responses: { 201: { description: 'Created.', schema: 'TokenCreated' } },
    errors: ['validation_failed', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    tag: 'tokens',
    summary: 'Every token without its secret, revoked ones included',
    access: 'admin',
    responses: { 200: { description: 'The tokens.', schema: 'TokenList' } },
    errors: ['forbidden'],
  },
  {
    method: 'delete',
    path: '/v1/tokens/{id}',
    operationId: 'revokeToken',
    tag: 'tokens',
    summary: 'Revoke a token',
    access: 'admin',
    responses: { 204: { description: 'Revoked.' } },
    errors: ['forbidden', 'token_not_found'],
  },
];

/**
 * Codes an operation can give besides its own: every /v1 call can be refused a token (401); a
 * path segment that is not valid percent-encoding is a validation failure; a JSON body can be
 * malformed, too large or in another media type; POST and PUT take an Idempotency-Key whose
 * reuse with another request is refused; anything can fail with a 500; on PostgreSQL, a /v1 call
 * that reaches the database while it is away is 503 `store_unavailable` (flag reads served from
 * snapshots do not reach it, but the document does not tell the two apart).
 */
function commonErrors(op: OperationSpec): ErrorCode[] {
  const codes: ErrorCode[] = ['internal_error'];
  if (op.access !== 'public') codes.push('unauthorized', 'store_unavailable');
  if (op.path.includes('{')) codes.push('validation_failed');
  if (op.jsonBody) codes.push('malformed_body', 'payload_too_large', 'unsupported_media_type');
  if (op.access !== 'public' && (op.method === 'post' || op.method === 'put')) codes.push('validation_failed', 'idempotency_key_reused');
  return codes;
}

/** The codes an operation documents, by HTTP status. */
function operationErrors(op: OperationSpec): Map<number, ErrorCode[]> {
  const all = [...new Set([...op.errors, ...commonErrors(op)])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) byStatus.set(ERROR_CODES[code], [...(byStatus.get(ERROR_CODES[code]) ?? []), code]);
  return byStatus;
}

function problemResponse(codes: ErrorCode[]): Json {
  const schema = { allOf: [ref('Problem'), { properties: { code: { enum: codes } } }] };
  return { description: `Problem: ${codes.join(', ')}.`, content: { 'application/problem+json': { schema } } };
}

function responseObject(spec: ResponseSpec): Json {
  const out: Json = { description: spec.description };
  if (spec.headers) out['headers'] = spec.headers;
  if (spec.schema) out['content'] = { [spec.contentType ?? 'application/json']: { schema: ref(spec.schema) } };
  else if (spec.rawSchema) out['content'] = { [spec.contentType ?? 'application/json']: { schema: spec.rawSchema } };
  return out;
}

function operationObject(op: OperationSpec): Json {
  const parameters: Json[] = [...(op.path.match(/\{(\w+)\}/g) ?? [])].map((p) => ({
    name: p.slice(1, -1),
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (op.query) parameters.push(...queryParameters(op.query));
  parameters.push(...(op.extraParameters ?? []));
  if (op.access !== 'public' && (op.method === 'post' || op.method === 'put')) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

  const responses: Record<string, Json> = {};
  for (const [status, spec] of Object.entries(op.responses)) responses[status] = responseObject(spec);
  for (const [status, codes] of [...operationErrors(op)].sort((a, b) => a[0] - b[0])) {
    const problem = problemResponse(codes);
    const existing = responses[String(status)];
    if (existing) {
      // OFREP: the same status is an OFREP failure (evaluation) or a problem (before evaluation).
      existing['content'] = { ...(existing['content'] as Json), ...(problem['content'] as Json) };
      existing['description'] = `${String(existing['description'])} Or a problem: ${codes.join(', ')}.`;
    } else {
      responses[String(status)] = problem;
    }
    if (status === 401) responses['401']!['headers'] = { 'WWW-Authenticate': header('`Bearer realm="switchyard"`') };
  }

  const out: Json = {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, `Who: ${op.access === 'public' ? 'anyone, no token' : op.access}.`].filter(Boolean).join('\n\n'),
  };
  if (parameters.length > 0) out['parameters'] = parameters;
  if (op.body) {
    out['requestBody'] =
      'schema' in op.body
        ? { required: op.body.optional !== true, content: { 'application/json': { schema: ref(op.body.schema) } } }
        : {
            required: true,
            description: op.body.description,
            content: Object.fromEntries(op.body.contentTypes.map((t) => [t, { schema: { type: 'string', contentEncoding: 'binary' } }])),
          };
  }
  out['responses'] = responses;
  if (op.access === 'public') out['security'] = [];
  return out;
}

/** The operations as `METHOD /path` (OpenAPI path syntax), for the route-coverage test. */
export function documentedOperations(): string[] {
  return OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);
}

function buildDocument(): Json {
  const schemas: Record<string, Json> = {};
  const declared = declaredSchemas();
  generate({ ...declared.requests, ...requestSchemas }, 'input', schemas);
  generate({ ...declared.responses, ...responseSchemas }, 'output', schemas);

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operationObject(op);

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Switchyard',
      version: '1',
      summary: 'Experiment intents → Rego/WASM decisions → per-service flag states',
      description:
        'Every /v1 call carries `Authorization: Bearer <token>`. Errors are `application/problem+json` (RFC 9457) with a ' +
        'stable `code`; each operation lists the codes it can give. A path that matches no route gets 404 `route_not_found`. ' +
        'Every answer carries `X-Request-Id`. POST and PUT accept `Idempotency-Key`; a replayed answer carries ' +
        '`Idempotent-Replayed: true`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'intents', description: 'Experiment intents, their decisions, approvals and lifecycle' },
      { name: 'flags', description: "Services' resolved flag states" },
      { name: 'ofrep', description: 'OpenFeature Remote Evaluation Protocol, base URL /v1/services/{service}' },
      { name: 'policy', description: 'The governance policy bundle' },
      { name: 'decisions', description: 'Stored decisions' },
      { name: 'audit', description: 'The append-only, hash-chained audit trail' },
      { name: 'events', description: 'The change feed of flags documents' },
      { name: 'tokens', description: 'API tokens' },
      { name: 'health', description: 'Liveness, readiness, metrics' },
      { name: 'meta', description: 'This document and the web console' },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A Switchyard token (`sy_…`), created with POST /v1/tokens.' },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Retry-safe writes: the first answer is stored per (token, key) and replayed; the same key with another request is 422.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
      },
    },
  };
}

let cached: string | undefined;

/** The document, serialized once per process (it depends on nothing that changes at run time). */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildDocument());
  return cached;
}

export function openApiDocument(): Json {
  return JSON.parse(openApiJson()) as Json;
}
