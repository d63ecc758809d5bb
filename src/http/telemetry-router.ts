import { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../access/actor.js';
import { NotFoundError } from '../errors.js';
import { identifier } from '../intents/validation.js';
import type { ServiceCatalog } from '../policy/policy-engine.js';
import type { RolloutAnalysis } from '../telemetry/rollout-analysis.js';
import { MAX_EVENTS, type TelemetryService } from '../telemetry/telemetry-service.js';
import { actorOf, allow, READERS } from './auth.js';
import { jsonBody, param, parseWith } from './body.js';
import { requireServiceAccess } from './flags-router.js';

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

export function telemetryRouter(
  telemetry: TelemetryService,
  analysis: RolloutAnalysis,
  catalog: () => ServiceCatalog,
  history: (key: string, version: number) => Promise<Record<string, unknown>[]>,
): Router {
  const r = Router();

  r.post(TELEMETRY_PATH, async (req, res) => {
    const actor = actorOf(res);
    const service = param(req, 'service');
    requireRole(actor, ['service'], 'send telemetry');
    requireServiceAccess(actor, service);
    const known = catalog();
    if (known.available && !known.has(service)) throw new NotFoundError('service_not_found', `No service ${service} in the catalog`);
    const body = parseWith(TelemetryBody, jsonBody(req), 'telemetry batch');
    res.status(202).json(await telemetry.submit(service, body.events));
  });

  r.get('/v1/intents/:key/analysis', allow(READERS, 'read analyses'), async (req, res) => {
    const q = parseWith(AnalysisQuery, req.query, 'query');
    const a = await analysis.analyse(param(req, 'key'));
    const withHistory = q.history === 'true' || q.history === '1';
    res.status(200).json(withHistory ? { ...a, history: await history(a.key, a.version) } : a);
  });

  return r;
}
