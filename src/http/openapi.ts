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
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { AudienceConditionSchema, IntentSchema } from '../intents/intent-schema.js';
import { AUDIT_ROUTES, EVENTS_ROUTES } from './audit-router.js';
import { Decision, ETAG, eventStream, ifNoneMatch, int, IntentRef, lastEventIdHeader, notModified, Obligations, Violation } from './api-schemas.js';
import { INTENT_ROUTES } from './intents-router.js';
import { WHOAMI_ROUTES } from './whoami-router.js';
import { accessText, openApiPath, type RouteDecl } from './route.js';
import { EvaluationRequest } from './ofrep-router.js';
import { POLICY_ROUTES } from './policy-router.js';
import { DECISION_ROUTES, TOKEN_ROUTES } from './admin-router.js';
import { TELEMETRY_ROUTES } from './telemetry-router.js';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Response schemas (the request schemas are the routers' own).

const FlagState = z.object({
  state: z.enum(['ENABLED', 'DISABLED']),
  default_variant: z.string(),
  variants: z.record(z.string(), z.unknown()),
  audience: z.array(AudienceConditionSchema),
  allocation: z.object({
    unit: z.string(),
    exposure: z.object({ seed: z.string(), start: int(), end: int(), total: int() }),
    variants: z.object({ seed: z.string(), buckets: z.array(z.tuple([z.string(), int()])) }),
  }),
  experiment: IntentRef,
  provenance: z.object({ decision_id: z.string(), policy_revision: z.string(), actor: z.string(), at: z.string() }),
});

const FlagsDocument = z
  .object({ service: z.string(), version: int().min(0), flags: z.record(z.string(), FlagState) })
  .meta({ description: "A service's resolved flag states (SPEC §5); evaluate them as SPEC §6 says." });

const Primitive = z.union([z.string(), z.number(), z.boolean()]);
const FlagdDefinition = z
  .object({
    $schema: z.string(),
    metadata: z.record(z.string(), Primitive),
    flags: z.record(
      z.string(),
      z.object({
        state: z.enum(['ENABLED', 'DISABLED']),
        variants: z.record(z.string(), z.unknown()),
        defaultVariant: z.string(),
        targeting: z.record(z.string(), z.unknown()).optional(),
        metadata: z.record(z.string(), Primitive),
      }),
    ),
  })
  .meta({ description: 'A flagd flag definition (https://flagd.dev/schema/v0/flags.json).' });

const OfrepSuccess = z.object({
  key: z.string(),
  value: z.unknown(),
  // STATIC: a paused flag (SPEC §6 reason DISABLED), with metadata.switchyard_state DISABLED; see src/flags/ofrep.ts.
  reason: z.enum(['SPLIT', 'DEFAULT', 'STATIC']),
  variant: z.string(),
  metadata: z.record(z.string(), Primitive),
});
const OfrepFailure = z.object({
  key: z.string(),
  errorCode: z.enum(['TARGETING_KEY_MISSING', 'FLAG_NOT_FOUND', 'INVALID_CONTEXT', 'PARSE_ERROR', 'GENERAL']),
  errorDetails: z.string(),
});
const OfrepEventStream = z.object({ type: z.literal('sse'), endpoint: z.object({ requestUri: z.string() }) });
const OfrepBulk = z.object({ flags: z.array(z.union([OfrepSuccess, OfrepFailure])), eventStreams: z.array(OfrepEventStream).optional() });

const ServiceList = z.object({
  services: z.array(z.object({ service: z.string(), tier: z.string().nullable() })).meta({ description: "The active policy's service catalog, sorted by service." }),
});
const Health = z.object({ status: z.literal('ok') });
const Readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ database: z.boolean(), policy: z.boolean() }),
  policy_revision: z.string().nullable(),
});

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

/** Request schemas, generated on their input side (defaults optional, coercions as sent). */
const requestSchemas = {
  OfrepEvaluationRequest: EvaluationRequest,
} satisfies Record<string, z.ZodType>;

/** Response schemas, generated on their output side. */
const responseSchemas = {
  Problem,
  StoredIntent: IntentSchema,
  AudienceCondition: AudienceConditionSchema,
  Violation,
  Obligations,
  Decision,
  FlagState,
  FlagsDocument,
  FlagdDefinition,
  OfrepSuccess,
  OfrepFailure,
  OfrepBulk,
  ServiceList,
  Health,
  Readiness,
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

const FLAG_READERS = "that service's token, or any human role";

/**
 * The routes declared beside their handlers (route.ts). The hand-written entries of OPERATIONS are
 * the routers not converted yet; each conversion moves its entries and schemas into its router.
 */
export const DECLARED: RouteDecl[] = [
  ...Object.values(INTENT_ROUTES),
  ...Object.values(WHOAMI_ROUTES),
  ...Object.values(POLICY_ROUTES),
  ...Object.values(DECISION_ROUTES),
  ...Object.values(TOKEN_ROUTES),
  ...Object.values(AUDIT_ROUTES),
  ...Object.values(EVENTS_ROUTES),
  ...Object.values(TELEMETRY_ROUTES),
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
      ...(r.rawSchema ? { rawSchema: r.rawSchema } : {}),
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
  // --- public
  { method: 'get', path: '/healthz', operationId: 'health', tag: 'health', summary: 'Liveness', access: 'public', responses: { 200: { description: 'The process answers.', schema: 'Health' } }, errors: [] },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'health',
    summary: 'Readiness: the database answers and a policy is loaded',
    access: 'public',
    responses: { 200: { description: 'Ready.', schema: 'Readiness' }, 503: { description: 'Not ready; `checks` says why.', schema: 'Readiness' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'health',
    summary: 'Prometheus metrics',
    access: 'public',
    responses: { 200: { description: 'Prometheus text exposition format.', contentType: 'text/plain', rawSchema: { type: 'string' } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'meta',
    summary: 'This document',
    access: 'public',
    responses: { 200: { description: 'The OpenAPI 3.1 description of the API.', contentType: 'application/json', rawSchema: { type: 'object' } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/',
    operationId: 'console',
    tag: 'meta',
    summary: 'The web console (a static page; its assets are under /console/)',
    access: 'public',
    responses: { 200: { description: 'The console page.', contentType: 'text/html', rawSchema: { type: 'string' } } },
    errors: [],
  },
  // --- declared beside their handlers (intents, whoami): DECLARED above
  ...DECLARED.map(fromDeclaration),
  // --- flags
  {
    method: 'get',
    path: '/v1/services',
    operationId: 'listServices',
    tag: 'flags',
    summary: "The active policy's service catalog, each service with its tier",
    access: 'any token',
    responses: { 200: { description: 'The services.', schema: 'ServiceList' } },
    errors: ['policy_unavailable'],
  },
  {
    method: 'get',
    path: '/v1/services/{service}/flags',
    operationId: 'getFlags',
    tag: 'flags',
    summary: "A service's flag states",
    access: FLAG_READERS,
    extraParameters: [ifNoneMatch],
    responses: { 200: { description: 'The flags document.', schema: 'FlagsDocument', headers: ETAG }, 304: notModified },
    errors: ['forbidden_service', 'service_not_found'],
  },
  {
    method: 'get',
    path: '/v1/services/{service}/flags/stream',
    operationId: 'streamFlags',
    tag: 'flags',
    summary: "A service's flags as Server-Sent Events: each event's id is the flags version, its data the whole document",
    access: FLAG_READERS,
    extraParameters: [
      lastEventIdHeader,
      { name: 'last_event_id', in: 'query', required: false, description: 'Last-Event-ID for clients that cannot set headers.', schema: { type: 'string' } },
    ],
    responses: { 200: eventStream('The stream; `data` of each event is a FlagsDocument.') },
    errors: ['forbidden_service', 'service_not_found', 'too_many_streams', 'shutting_down', 'server_busy'],
  },
  {
    method: 'get',
    path: '/v1/services/{service}/flagd.json',
    operationId: 'getFlagdDefinition',
    tag: 'flags',
    summary: "A service's flags as a flagd flag definition",
    access: FLAG_READERS,
    extraParameters: [ifNoneMatch],
    responses: { 200: { description: 'The flagd definition.', schema: 'FlagdDefinition', headers: ETAG }, 304: notModified },
    errors: ['forbidden_service', 'service_not_found'],
  },
  {
    method: 'post',
    path: '/v1/services/{service}/ofrep/v1/evaluate/flags/{key}',
    operationId: 'ofrepEvaluateFlag',
    tag: 'ofrep',
    summary: 'OFREP: evaluate one flag',
    description: 'Errors before evaluation are problem documents with the OFREP fields `errorCode` and `errorDetails` added.',
    access: FLAG_READERS,
    body: { schema: 'OfrepEvaluationRequest', optional: true },
    jsonBody: true,
    responses: {
      200: { description: 'The evaluation.', schema: 'OfrepSuccess' },
      400: { description: 'TARGETING_KEY_MISSING, INVALID_CONTEXT or PARSE_ERROR.', schema: 'OfrepFailure' },
      404: { description: 'FLAG_NOT_FOUND.', schema: 'OfrepFailure' },
      500: { description: 'GENERAL.', schema: 'OfrepFailure' },
    },
    errors: ['validation_failed', 'forbidden_service', 'service_not_found'],
  },
  {
    method: 'post',
    path: '/v1/services/{service}/ofrep/v1/evaluate/flags',
    operationId: 'ofrepEvaluateFlags',
    tag: 'ofrep',
    summary: 'OFREP: evaluate every flag of the service (ETag per document and context)',
    access: FLAG_READERS,
    body: { schema: 'OfrepEvaluationRequest', optional: true },
    jsonBody: true,
    extraParameters: [
      ifNoneMatch,
      { name: 'flagConfigEtag', in: 'query', required: false, description: 'OFREP ADR-0008 re-fetch metadata: the `etag` of the `refetchEvaluation` event that triggered this request (the flags document ETag).', schema: { type: 'string' } },
      { name: 'flagConfigLastModified', in: 'query', required: false, description: 'OFREP ADR-0008 re-fetch metadata: the event\'s `lastModified`, Unix seconds or an ISO 8601 date-time.', schema: { type: 'string' } },
    ],
    responses: { 200: { description: 'Every flag, by key, and `eventStreams`: the SSE stream that announces this service\'s changes.', schema: 'OfrepBulk', headers: ETAG }, 304: notModified },
    errors: ['validation_failed', 'forbidden_service', 'service_not_found', 'flag_config_stale'],
  },
  {
    method: 'get',
    path: '/v1/services/{service}/ofrep/events',
    operationId: 'ofrepEventStream',
    tag: 'ofrep',
    summary: "OFREP change notifications (ADR-0008): Server-Sent Events, one `refetchEvaluation` per flags version of the service",
    description: 'The URL a bulk answer advertises in `eventStreams`. Takes the `ticket` it carries (for an EventSource, which cannot send headers) or the Authorization header.',
    access: FLAG_READERS,
    extraParameters: [
      lastEventIdHeader,
      { name: 'ticket', in: 'query', required: false, description: 'The ticket from the bulk answer, instead of the Authorization header.', schema: { type: 'string' } },
    ],
    responses: { 200: eventStream('The stream; `data` of each event is `{"type": "refetchEvaluation", "etag", "lastModified"}`, `id` the flags version.') },
    errors: ['forbidden_service', 'service_not_found', 'too_many_streams', 'shutting_down', 'server_busy'],
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
