import { Router } from 'express';
import { z } from 'zod';
import type { Metrics } from '../metrics.js';
import { declare, route } from './route.js';

export const Health = z.object({ status: z.literal('ok') });
export const Readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ database: z.boolean(), policy: z.boolean() }),
  policy_revision: z.string().nullable(),
});

const readiness = { name: 'Readiness', schema: Readiness } as const;

export const HEALTH_ROUTES = {
  health: declare({
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'health',
    summary: 'Liveness',
    access: { kind: 'public' },
    responses: { 200: { description: 'The process answers.', body: { name: 'Health', schema: Health } } },
    errors: [],
  }),
  ready: declare({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'health',
    summary: 'Readiness: the database answers and a policy is loaded',
    access: { kind: 'public' },
    responses: { 200: { description: 'Ready.', body: readiness }, 503: { description: 'Not ready; `checks` says why.', body: readiness } },
    errors: [],
  }),
  metrics: declare({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'health',
    summary: 'Prometheus metrics',
    access: { kind: 'public' },
    responses: {
      200: {
        description: 'Prometheus text exposition format.',
        contentType: 'text/plain',
        text: z.string().meta({ description: 'https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format' }),
      },
    },
    errors: [],
  }),
};

/** What readiness asks: whether the database answers, and the active policy's revision. */
export interface ReadinessProbe {
  ping(): Promise<void>;
  revision(): string | null;
}

/** `GET /healthz`, `GET /readyz` and `GET /metrics` (SPEC §7 "Health"): public, no token. */
export function healthRouter(probe: ReadinessProbe, metrics: Metrics): Router {
  const r = Router();
  route(r, HEALTH_ROUTES.health, ({ reply }) => reply(200, { status: 'ok' }));
  route(r, HEALTH_ROUTES.ready, async ({ reply }) => {
    const checks = {
      database: await probe.ping().then(
        () => true,
        () => false,
      ),
      policy: probe.revision() !== null,
    };
    const ready = checks.database && checks.policy;
    const body = { checks, policy_revision: probe.revision() };
    return ready ? reply(200, { status: 'ready', ...body }) : reply(503, { status: 'not_ready', ...body });
  });
  route(r, HEALTH_ROUTES.metrics, async ({ res, handedOver }) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    return handedOver();
  });
  return r;
}
