/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json: a thin assembler.
 *
 * Every route is declared beside its handler (`declare()`/`route()` in route.ts, ADR 0011): method,
 * path, access rule, request and response schemas (zod), error codes. This file collects the
 * declarations (DECLARED), generates their named schemas with `z.toJSONSchema` (requests on the
 * input side, answers on the output side), adds the problem document and the errors every route of
 * a kind can give, and writes the document. test/http/openapi.test.ts validates it against the
 * OpenAPI 3.1 schema and validates real answers against it; test/http/route-declarations.test.ts
 * fails when a route is registered without a declaration.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { AudienceConditionSchema, IntentSchema } from '../intents/intent-schema.js';
import { Router } from 'express';
import { Decision, int, Obligations, Problem, Violation } from './api-schemas.js';
import { CONSOLE_ROUTES } from '../console/console-router.js';
import { FLAGD_ROUTES } from './flagd-router.js';
import { FLAG_ROUTES, FlagState } from './flags-router.js';
import { HEALTH_ROUTES } from './health-router.js';
import { INTENT_ROUTES } from './intents-router.js';
import { OFREP_EVENTS_ROUTES } from './ofrep-events-router.js';
import { OFREP_ROUTES } from './ofrep-router.js';
import { STREAM_ROUTES } from './stream-router.js';
import { WHOAMI_ROUTES } from './whoami-router.js';
import { AUDIT_ROUTES, EVENTS_ROUTES } from './audit-router.js';
import { DECISION_ROUTES, TOKEN_ROUTES } from './admin-router.js';
import { POLICY_ROUTES } from './policy-router.js';
import { TELEMETRY_ROUTES } from './telemetry-router.js';
import { accessText, declare, openApiPath, route, type RouteDecl } from './route.js';

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

/** Request schemas, generated on their input side (defaults optional, coercions as sent). */
const requestSchemas = {} satisfies Record<string, z.ZodType>;

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

/** A declaration as the document writes it: access as text, bodies and answers by component name. */
interface OperationSpec extends Omit<RouteDecl, 'access' | 'body' | 'responses'> {
  /** Who may call it; public operations carry no token. */
  access: string | 'public';
  body?: { schema: string; optional?: boolean } | { contentTypes: string[]; description: string };
  responses: Record<number, ResponseSpec>;
}

const header = (description: string, schema: Json = { type: 'string' }): Json => ({ description, schema });


/**
 * Every route of the app, declared beside its handler (route.ts); the document holds nothing else.
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

const OPERATIONS: OperationSpec[] = DECLARED.map(fromDeclaration);

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
