/**
 * Response schemas more than one router answers with (the decision, its violations, the intent
 * reference). Each router declares its own answers next to its handlers (route.ts); these are the
 * pieces they share, one object each, so the OpenAPI document names each once.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { EXPERIMENT_STATES, VERSION_STATUSES } from '../intents/intent-store.js';
import { PolicyDecisionSchema } from '../policy/policy-engine.js';

export const int = () => z.number().int();
export const time = () => z.iso.datetime({ offset: true });

export const VersionStatus = z.enum(VERSION_STATUSES);
export const ExperimentState = z.enum(EXPERIMENT_STATES);
export const Violation = PolicyDecisionSchema.shape.violations.element;
export const Obligations = PolicyDecisionSchema.shape.obligations;
export const IntentRef = z.object({ key: z.string(), version: int().min(1) });

export const Decision = PolicyDecisionSchema.extend({ id: z.string(), policy_revision: z.string() }).meta({
  description: 'A policy decision (SPEC §3): violations explain a denial, obligations say what an allowed intent still needs.',
});

/** Headers and parameters several routes document. */
const header = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ description, schema });
export const ETAG = { ETag: header('Strong entity tag of the body; send it back in If-None-Match.') };
export const ifNoneMatch = { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag from an earlier answer: 304 while it still matches.', schema: { type: 'string' } };
export const lastEventIdHeader = { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event id.', schema: { type: 'string' } };
export const notModified = { description: 'Not modified: the ETag in If-None-Match still matches.', headers: ETAG };

const CODES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
/**
 * Every error answer's body (problem.ts writes it). Exported for the clients' types (the CLI's
 * `ApiError.problem`, the console's `Problem`): type-only imports of this one schema.
 */
export const Problem = z
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
export type Problem = z.output<typeof Problem>;
