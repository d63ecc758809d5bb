import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TokenRequestSchema } from '../../src/access/token-service.js';
import { buildApp } from '../../src/app.js';
import { ERROR_CODES } from '../../src/errors.js';
import { IntentSchema } from '../../src/intents/intent-schema.js';
import { documentedOperations } from '../../src/http/openapi.js';
import { ActionSchema, ApprovalSchema } from '../../src/http/intents-router.js';
import { apiFor, exampleIntent, simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

type Json = Record<string, any>;

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string | string[];
  slash?: boolean;
}

/**
 * Every route the express app registers, as `METHOD /path` in OpenAPI syntax: `:param` becomes
 * `{param}` and the escaped colon of `/v1/intents\:evaluate` a plain colon. Routers mounted
 * without a path are walked; a router mounted under a prefix would need that prefix, so that is
 * refused rather than silently misread.
 */
function appRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          const openapi = (prefix + p).replace(/(?<!\\):(\w+)/g, '{$1}').replace(/\\:/g, ':');
          for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method.toUpperCase()} ${openapi}`);
        }
      } else if (layer.handle?.stack) {
        if (!layer.slash) throw new Error(`a router mounted under ${String(layer.rawPath)}: teach appRoutes its prefix`);
        walk(layer.handle.stack, prefix);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

/** Finds the documented operation for a real request: method plus the path template that matches. */
function operationFor(doc: Json, method: string, url: string): { template: string; op: Json } {
  const pathname = new URL(url, 'http://x').pathname;
  for (const [template, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+?')}$`);
    if (re.test(pathname) && item[method.toLowerCase()]) return { template, op: item[method.toLowerCase()] };
  }
  throw new Error(`${method} ${pathname} matches no documented operation`);
}

const pointer = (...parts: string[]) => '#/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

describe('OpenAPI document (GET /openapi.json)', () => {
  let s: TestServer;
  let doc: Json;
  let ajv: Ajv2020;
  const validated = new Set<string>();

  /**
   * Validates a real response against the documented one for its operation and status: the
   * status must be documented, and the body must match the schema of its content type.
   */
  const check = (method: string, url: string, res: ApiResponse) => {
    const { template, op } = operationFor(doc, method, url);
    const documented = op['responses'][String(res.status)];
    expect(documented, `${method} ${template} does not document status ${res.status}: ${res.text}`).toBeDefined();
    validated.add(`${method} ${template}`);
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!documented['content']) {
      expect(res.text, `${method} ${template} ${res.status} documents no body`).toBe('');
      return;
    }
    expect(Object.keys(documented['content']), `${method} ${template} ${res.status}: undocumented content type ${contentType}`).toContain(contentType);
    if (!contentType.endsWith('json')) return;
    const validate = ajv.getSchema(`openapi.json${pointer('paths', template, method.toLowerCase(), 'responses', String(res.status), 'content', contentType, 'schema')}`)!;
    const ok = validate(res.body);
    expect(ok, `${method} ${url} → ${res.status}: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${res.text.slice(0, 600)}`).toBe(true);
  };

  beforeAll(async () => {
    s = await startServer();
    const res = await fetch(`${s.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await res.json()) as Json;
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(doc, 'openapi.json');
  });
  afterAll(async () => s?.close());

  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    expect(doc['openapi']).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    expect(doc['components']['securitySchemes']['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc['security']).toEqual([{ bearerAuth: [] }]);
    for (const open of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect(doc['paths'][open]['get']['security']).toEqual([]);
  });

  it('documents every route the app registers, and no route it does not', () => {
    const app = buildApp(s.container);
    const routes = appRoutes(app);
    expect(routes).toContain('POST /v1/intents:evaluate');
    expect(routes).toContain('POST /v1/decisions/{id}:replay');
    expect(documentedOperations().sort()).toEqual(routes);
    const inDocument = Object.entries(doc['paths'] as Record<string, Json>).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    expect(inDocument.sort()).toEqual(routes);
  });

  it("request bodies are the routers' zod schemas, generated, not copied", () => {
    const generated = (schema: z.ZodType) => {
      const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Json;
      return rest;
    };
    const schemas = doc['components']['schemas'];
    for (const [name, schema] of [['TokenRequest', TokenRequestSchema], ['ApprovalRequest', ApprovalSchema], ['ActionRequest', ActionSchema]] as const) {
      expect(schemas[name], name).toEqual(generated(schema));
    }
    // the intent: strict objects (unknown fields refused), required fields, and defaults optional on input
    const intent = schemas['Intent'];
    expect(intent['additionalProperties']).toBe(false);
    expect(intent['required'].sort()).toEqual(['exposure', 'key', 'owner', 'services', 'variants']);
    expect(intent['properties']['audience']['items']['properties']['op']['enum']).toContain('semver_gte');
    expect(doc['paths']['/v1/intents']['post']['requestBody']['content']['application/json']['schema']).toEqual({ $ref: '#/components/schemas/Intent' });
    expect(Object.keys(z.toJSONSchema(IntentSchema, { io: 'input' }).properties ?? {})).toEqual(Object.keys(intent['properties']));
    // a query parameter: GET /v1/intents?state= is the router's enum
    const state = doc['paths']['/v1/intents']['get']['parameters'].find((p: Json) => p.name === 'state');
    expect(state.schema.enum).toEqual(['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed', 'archived']);
  });

  it('every error code is documented where it can occur, with its status, as a shared Problem', () => {
    const documented = new Map<string, Set<number>>();
    for (const item of Object.values(doc['paths'] as Record<string, Json>)) {
      for (const op of Object.values(item)) {
        for (const [status, response] of Object.entries(op['responses'] as Record<string, Json>)) {
          const problem = response['content']?.['application/problem+json']?.['schema'];
          if (!problem) continue;
          expect(problem['allOf'][0]).toEqual({ $ref: '#/components/schemas/Problem' });
          for (const code of problem['allOf'][1]['properties']['code']['enum'] as string[]) {
            expect(ERROR_CODES[code as keyof typeof ERROR_CODES], code).toBe(Number(status));
            documented.set(code, (documented.get(code) ?? new Set()).add(Number(status)));
          }
        }
      }
    }
    // route_not_found belongs to no operation: it is what a path outside the document gets
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).filter((c) => c !== 'route_not_found').sort());
    expect(doc['components']['schemas']['Problem']['properties']['code']['enum'].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    expect(doc['info']['description']).toContain('route_not_found');
    // each /v1 operation documents 401 with WWW-Authenticate; public ones do not
    for (const [p, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
      for (const op of Object.values(item)) {
        if (p.startsWith('/v1/')) expect(op['responses']['401']['headers']['WWW-Authenticate'], p).toBeDefined();
        else expect(op['responses']['401'], p).toBeUndefined();
      }
    }
  });

  it('real answers of every operation validate against the documented responses', async () => {
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    const gov = await s.token({ name: 'gina', role: 'governance' });
    const web = await s.token({ name: 'web-prod', role: 'service', service: 'web' });
    const anon = apiFor(() => s.base, null);
    const call = async (api: Api, method: string, url: string, body?: unknown, headers?: Record<string, string>) => {
      const res = await api.request(method, url, body, headers);
      check(method, url, res);
      return res;
    };

    // public
    await call(anon, 'GET', '/healthz');
    await call(anon, 'GET', '/readyz');
    await call(anon, 'GET', '/metrics');
    await call(anon, 'GET', '/openapi.json');
    await call(anon, 'GET', '/');

    // intents: approved, denied, pending → approved, errors
    const approved = await call(owner, 'POST', '/v1/intents', simpleIntent('doc-test', { audience: [{ attribute: 'country', op: 'in', values: ['US'] }] }));
    expect(approved.status).toBe(201);
    await call(owner, 'POST', '/v1/intents', simpleIntent('Bad_Key', { exposure: 80 }));
    await call(owner, 'POST', '/v1/intents', exampleIntent());
    await call(owner, 'POST', '/v1/intents', exampleIntent());
    await call(owner, 'POST', '/v1/intents', { key: 'x' });
    await call(owner, 'POST', '/v1/intents', '{"key":', { 'content-type': 'application/json' });
    await call(anon, 'POST', '/v1/intents', simpleIntent('anon'));
    await call(web, 'POST', '/v1/intents', simpleIntent('svc'));
    await call(owner, 'POST', '/v1/intents:evaluate', simpleIntent('dry-run'));
    await call(owner, 'POST', '/v1/intents:evaluate', exampleIntent({ key: 'dry-run-2' }));
    await call(owner, 'GET', '/v1/intents?limit=1');
    await call(owner, 'GET', '/v1/intents?state=nope');
    await call(owner, 'GET', '/v1/intents/checkout-redesign');
    await call(owner, 'GET', '/v1/intents/no-such-key');
    await call(owner, 'PUT', '/v1/intents/doc-test', simpleIntent('doc-test', { exposure: 20 }));
    await call(owner, 'PUT', '/v1/intents/no-such-key', simpleIntent('no-such-key'));
    await call(owner, 'POST', '/v1/intents/checkout-redesign/approvals', {});
    const approval = await call(sre, 'POST', '/v1/intents/checkout-redesign/approvals', { comment: 'ok' });
    expect(approval.body.status).toBe('approved');
    await call(sre, 'POST', '/v1/intents/checkout-redesign/approvals', {});
    await call(owner, 'POST', '/v1/intents/doc-test/actions', { action: 'pause', reason: 'doc' });
    await call(owner, 'POST', '/v1/intents/doc-test/actions', { action: 'pause', reason: 'again' });
    await call(owner, 'POST', '/v1/intents/doc-test/actions', { action: 'resume', reason: 'doc' });
    await call(owner, 'GET', '/v1/intents/checkout-redesign');

    // flags, flagd, OFREP, streams
    const flags = await call(web, 'GET', '/v1/services/web/flags');
    await call(web, 'GET', '/v1/services/web/flags', undefined, { 'if-none-match': flags.headers.get('etag')! });
    await call(web, 'GET', '/v1/services/search/flags');
    await call(owner, 'GET', '/v1/services/nowhere/flags');
    await call(web, 'GET', '/v1/services/web/flagd.json');
    const flagKey = Object.keys(flags.body.flags)[0]!;
    await call(web, 'POST', `/v1/services/web/ofrep/v1/evaluate/flags/${flagKey}`, { context: { user_id: 'u1', country: 'US' } });
    await call(web, 'POST', '/v1/services/web/ofrep/v1/evaluate/flags/nope', { context: { user_id: 'u1' } });
    await call(web, 'POST', `/v1/services/web/ofrep/v1/evaluate/flags/${flagKey}`, { context: {} });
    await call(owner, 'POST', `/v1/services/nowhere/ofrep/v1/evaluate/flags/${flagKey}`, { context: {} });
    // telemetry and analysis (SPEC §10.1–10.2)
    await call(web, 'POST', '/v1/services/web/telemetry', {
      events: [
        { type: 'exposure', flag: flagKey, unit: 'u1', variant: 'control' },
        { type: 'exposure', flag: 'nope', unit: 'u1', variant: 'control' },
        { type: 'metric', metric: 'error_rate', unit: 'u1', value: 1 },
      ],
    });
    await call(web, 'POST', '/v1/services/web/telemetry', { events: [{ type: 'metric' }] });
    await call(web, 'POST', '/v1/services/search/telemetry', { events: [] });
    await call(owner, 'GET', '/v1/intents/doc-test/analysis');
    await call(owner, 'GET', '/v1/intents/no-such-key/analysis');
    // the analysis with its history: a guarded rollout on recommendations, one tick recorded
    await call(owner, 'POST', '/v1/intents', simpleIntent('doc-guarded', {
      services: [{ service: 'recommendations', flag: 'doc_guarded' }],
      rollout: { stages: [{ exposure: 10 }], guardrails: [{ metric: 'error_rate' }] },
    }));
    await s.container.guardrails.tick();
    const withHistory = await call(owner, 'GET', '/v1/intents/doc-guarded/analysis?history=true');
    expect(withHistory.body.history).toHaveLength(1);
    await call(owner, 'GET', '/v1/intents/doc-guarded/analysis?history=yes');
    const bulk = await call(web, 'POST', '/v1/services/web/ofrep/v1/evaluate/flags', { context: { user_id: 'u1' } });
    await call(web, 'POST', '/v1/services/web/ofrep/v1/evaluate/flags', { context: { user_id: 'u1' } }, { 'if-none-match': bulk.headers.get('etag')! });
    for (const url of ['/v1/services/web/flags/stream', '/v1/events/stream']) {
      const controller = new AbortController();
      const res = await fetch(s.base + url, { headers: { authorization: `Bearer ${web.secret}` }, signal: controller.signal });
      check('GET', url, { status: res.status, headers: res.headers, body: undefined, text: 'stream' } as ApiResponse);
      controller.abort();
    }
    await call(web, 'GET', '/v1/services/search/flags/stream');

    // policy, decisions
    await call(gov, 'GET', '/v1/policy');
    await call(web, 'GET', '/v1/policy');
    await call(gov, 'PUT', '/v1/policy?dry_run=true', fs.readFileSync(BUNDLE_PATH), { 'content-type': 'application/gzip' });
    await call(gov, 'PUT', '/v1/policy?dry_run=true', Buffer.from('nope'), { 'content-type': 'application/gzip' });
    await call(owner, 'PUT', '/v1/policy', Buffer.from('nope'), { 'content-type': 'application/gzip' });
    const decisionId = approved.body.decision.id as string;
    await call(owner, 'GET', `/v1/decisions/${decisionId}`);
    await call(owner, 'GET', '/v1/decisions/d_nope');
    await call(owner, 'POST', `/v1/decisions/${decisionId}:replay`);
    await call(owner, 'POST', '/v1/decisions/d_nope:replay');

    // audit, events
    await call(owner, 'GET', '/v1/audit?limit=5');
    await call(owner, 'GET', '/v1/audit?experiment=checkout-redesign');
    await call(owner, 'GET', '/v1/audit?from=yesterday');
    await call(owner, 'GET', '/v1/audit/verify');
    await call(web, 'GET', '/v1/events?limit=5');
    await call(owner, 'GET', '/v1/events?after=-1');

    // tokens, whoami
    const created = await call(s.api, 'POST', '/v1/tokens', { name: 'temp', role: 'operator' });
    await call(s.api, 'POST', '/v1/tokens', { name: 'temp', role: 'owner' });
    await call(owner, 'POST', '/v1/tokens', { name: 'temp', role: 'operator' });
    await call(s.api, 'DELETE', `/v1/tokens/${created.body.id}`);
    await call(s.api, 'DELETE', `/v1/tokens/${created.body.id}`);
    await call(owner, 'GET', '/v1/whoami');
    await call(s.api, 'GET', '/v1/tokens');
    await call(owner, 'GET', '/v1/tokens');
    await call(web, 'GET', '/v1/services');
    // archiving: a denied draft, then again (409), then one that ran (409)
    await call(owner, 'POST', '/v1/intents', simpleIntent('doc-archived', { exposure: 80 }));
    await call(owner, 'DELETE', '/v1/intents/doc-archived');
    await call(owner, 'DELETE', '/v1/intents/doc-archived');
    await call(owner, 'DELETE', '/v1/intents/no-such-key');
    await call(anon, 'GET', '/v1/whoami');

    // idempotency: a replay and a reused key
    await call(owner, 'POST', '/v1/intents:evaluate', simpleIntent('idem'), { 'idempotency-key': 'k1' });
    await call(owner, 'POST', '/v1/intents:evaluate', simpleIntent('idem-2'), { 'idempotency-key': 'k1' });

    // complete last: it removes the flags used above
    await call(owner, 'POST', '/v1/intents/doc-test/actions', { action: 'complete', reason: 'doc' });

    expect([...validated].sort()).toEqual(documentedOperations().sort());
  });
});
