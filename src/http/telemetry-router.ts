import { Router } from 'express';
import { z } from 'zod';
import { READERS, requireServiceAccess } from '../access/actor.js';
import { NotFoundError } from '../errors.js';
import { identifier } from '../intents/validation.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import { ANALYSIS_STATUSES } from '../intents/rollout.js';
import { BETTER } from '../telemetry/metric-catalog.js';
import { GUARDRAIL_STATUSES, type AnalysisPoint, type RolloutAnalysis } from '../telemetry/rollout-analysis.js';
import { MAX_EVENTS, REJECTION_CODES, type TelemetryService } from '../telemetry/telemetry-service.js';
import { int, time } from './api-schemas.js';
import { jsonBody, param, parseWith } from './body.js';
import { declare, route } from './route.js';

/**
 * The body limit of `POST /v1/services/{service}/telemetry`: 10,000 events of up to 400 bytes each
 * (a typical event is 100 to 150). Other routes keep BODY_LIMIT_BYTES.
 */
export const TELEMETRY_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
export const TELEMETRY_PATH = '/v1/services/:service/telemetry';

const id = identifier(128);
/** A unit id as the service hashes it (SPEC §6); bounded so one row stays small. */
const unit = z.string().min(1).max(256);
const at = z.iso.datetime({ offset: true }).optional();

export const TelemetryBody = z.strictObject({
  events: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('exposure'), flag: id, unit, variant: id, at }),
        z.strictObject({ type: z.literal('metric'), metric: id, unit, value: z.number(), at }),
      ]),
    )
    .max(MAX_EVENTS),
});

/** `?history=true` adds the version's analysis points over time (docs/telemetry.md "History"). */
export const AnalysisQuery = z.strictObject({
  history: z.enum(['true', 'false', '1', '0']).optional().meta({ description: 'Add `history`: the analysis points the guardrail loop recorded for this version, oldest first.' }),
});

// ---------------------------------------------------------------------------------------------
// Answers.

export const TelemetryResult = z.object({
  accepted: int().meta({ description: 'Events not rejected (assignment mismatches included: received, counted, not used).' }),
  rejected: z.array(z.object({ index: int(), code: z.enum(REJECTION_CODES), message: z.string() })),
  assignment_mismatches: int().meta({ description: 'Exposures whose unit SPEC §6 places outside the served slice or in another arm.' }),
});

const GuardrailStatus = z.enum(GUARDRAIL_STATUSES);
const AnalysisStatus = z.enum(ANALYSIS_STATUSES);
const ArmMean = z.object({ units: int(), mean: z.number() });
export const Analysis = z.object({
  key: z.string(),
  version: int(),
  units: z.record(z.string(), int()).meta({ description: 'Exposed units per arm.' }),
  srm: z.object({ p_value: z.number(), flagged: z.boolean() }),
  assignment_mismatches: int(),
  guardrails: z.array(
    z.object({
      metric: z.string(),
      arm: z.string(),
      better: z.enum(BETTER).nullable(),
      max_regression: z.number(),
      control: ArmMean,
      arm_stats: ArmMean,
      relative_change: z.number().nullable(),
      interval: z.tuple([z.number(), z.number()]).nullable().meta({ description: 'Always-valid (mSPRT) interval on the relative change.' }),
      status: GuardrailStatus,
    }),
  ),
  status: AnalysisStatus,
  method: z.object({ interval: z.literal('msprt-delta'), alpha: z.number(), min_units: int() }),
  history: z
    .array(
      z.object({
        at: time(),
        units: z.record(z.string(), int()),
        status: AnalysisStatus,
        guardrails: z.array(
          z.object({
            metric: z.string(),
            arm: z.string(),
            relative_change: z.number().nullable(),
            interval: z.tuple([z.number(), z.number()]).nullable(),
            status: GuardrailStatus,
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

// ---------------------------------------------------------------------------------------------
// Routes.

export const TELEMETRY_ROUTES = {
  send: declare({
    method: 'post',
    path: TELEMETRY_PATH,
    operationId: 'sendTelemetry',
    tag: 'flags',
    summary: 'Exposure and metric events, at most 10,000 a request (body limit 4 MiB); rejected one by one (SPEC §10.1)',
    access: { kind: 'roles', roles: ['service'], what: 'send telemetry', qualify: { service: 'this service' } },
    body: { name: 'TelemetryBatch', schema: TelemetryBody },
    jsonBody: true,
    responses: { 202: { description: 'What was accepted and rejected.', body: { name: 'TelemetryResult', schema: TelemetryResult } } },
    errors: ['validation_failed', 'forbidden', 'forbidden_service', 'service_not_found'],
  }),
  analysis: declare({
    method: 'get',
    path: '/v1/intents/:key/analysis',
    operationId: 'getAnalysis',
    tag: 'intents',
    summary: 'Sample-ratio check and guardrail analysis of the active version (SPEC §10.2); `?history=true` adds its points over time',
    access: { kind: 'roles', roles: READERS, what: 'read analyses' },
    query: AnalysisQuery,
    responses: { 200: { description: 'The analysis.', body: { name: 'Analysis', schema: Analysis } } },
    errors: ['validation_failed', 'forbidden', 'intent_not_found'],
  }),
};

export function telemetryRouter(
  telemetry: TelemetryService,
  analysis: RolloutAnalysis,
  catalog: () => ServiceCatalog,
  history: (key: string, version: number) => Promise<AnalysisPoint[]>,
): Router {
  const r = Router();

  route(r, TELEMETRY_ROUTES.send, async ({ req, actor, reply }) => {
    const service = param(req, 'service');
    requireServiceAccess(actor, service);
    const known = catalog();
    if (known.available && !known.has(service)) throw new NotFoundError('service_not_found', `No service ${service} in the catalog`);
    const body = parseWith(TelemetryBody, jsonBody(req), 'telemetry batch');
    return reply(202, await telemetry.submit(service, body.events));
  });

  route(r, TELEMETRY_ROUTES.analysis, async ({ req, query, reply }) => {
    const a = await analysis.analyse(param(req, 'key'));
    const withHistory = query.history === 'true' || query.history === '1';
    return reply(200, withHistory ? { ...a, history: await history(a.key, a.version) } : a);
  });

  return r;
}
