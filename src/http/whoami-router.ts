import { Router } from 'express';
import { actorOf } from './auth.js';

/**
 * GET /v1/whoami: who the bearer token is, for clients (the web console) that must show it and
 * decide which actions to offer. Any valid token may ask; the token itself is never echoed.
 */
export function whoamiRouter(): Router {
  const r = Router();
  r.get('/v1/whoami', (_req, res) => {
    const a = actorOf(res);
    res.json({ name: a.name, role: a.role, team: a.team, approval_roles: a.approvalRoles, service: a.service });
  });
  return r;
}
