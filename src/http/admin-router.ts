import { Router } from 'express';
import type { TokenService } from '../access/token-service.js';
import { NotFoundError } from '../errors.js';
import type { PolicyDecision } from '../policy/policy-engine.js';
import type { DecisionReader } from '../policy/decision-store.js';
import { actorOf, allow, READERS } from './auth.js';
import { jsonBody, param } from './body.js';
import { SHOWN_ONCE } from './idempotency.js';

export function tokensRouter(tokens: TokenService): Router {
  const r = Router();
  r.post('/v1/tokens', allow(['admin'], 'create tokens'), async (req, res) => {
    const created = await tokens.create(jsonBody(req), actorOf(res));
    // Shown once: a retry with the same Idempotency-Key gets the same id, never the secret again.
    res.locals[SHOWN_ONCE] = ['token'];
    res.status(201).json(created);
  });
  r.get('/v1/tokens', allow(['admin'], 'list tokens'), async (_req, res) => {
    res.json({ tokens: await tokens.list() });
  });
  r.delete('/v1/tokens/:id', allow(['admin'], 'revoke tokens'), async (req, res) => {
    await tokens.revoke(param(req, 'id'), actorOf(res));
    res.status(204).end();
  });
  return r;
}

export function decisionsRouter(decisions: DecisionReader): Router {
  const r = Router();
  r.get('/v1/decisions/:id', allow(READERS, 'read decisions'), async (req, res) => {
    const d = await decisions.get(param(req, 'id'));
    if (!d) throw new NotFoundError('decision_not_found', `No decision with id ${param(req, 'id')}`);
    const result = d.result as Partial<PolicyDecision>;
    res.json({
      id: d.id,
      policy_revision: d.policyRevision,
      allow: result.allow ?? false,
      violations: result.violations ?? [],
      obligations: result.obligations ?? null,
      limits: result.limits ?? {},
      intent: d.key === null ? null : { key: d.key, version: d.version },
      status: d.status,
      actor: d.actor,
      at: d.createdAt,
      input: d.input,
      result: d.result,
    });
  });
  return r;
}
