import express, { Router } from 'express';
import { z } from 'zod';
import { PolicyError } from '../errors.js';
import type { PolicyService } from '../policy/policy-service.js';
import { actorOf, allow, READERS } from './auth.js';
import { param, parseWith } from './body.js';

export const PublishQuery = z.strictObject({ dry_run: z.enum(['true', 'false', '1', '0']).optional() });

export const BUNDLE_LIMIT = '32mb';

/** The bundle body parser, mounted before idempotency so retries compare the real bytes. */
export const bundleBody = express.raw({ type: () => true, limit: BUNDLE_LIMIT });

export function policyRouter(policy: PolicyService): Router {
  const r = Router();
  r.get('/v1/policy', allow([...READERS], 'read the policy'), async (_req, res) => {
    res.json(await policy.info());
  });

  r.put('/v1/policy', allow(['governance'], 'publish policies'), async (req, res) => {
      const q = parseWith(PublishQuery, req.query, 'query');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (body.length === 0) throw new PolicyError('policy_invalid', 'Send the bundle (`opa build -t wasm` output) as the request body');
      const dryRun = q.dry_run === 'true' || q.dry_run === '1';
      const result = await policy.publish(body, actorOf(res).name, dryRun);
    res.status(200).json(result);
  });

  r.post('/v1/decisions/:id\\:replay', allow([...READERS], 'replay decisions'), async (req, res) => {
    res.json(await policy.replay(param(req, 'id')));
  });
  return r;
}
