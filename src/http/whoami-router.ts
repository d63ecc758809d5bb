import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../access/token-store.js';
import { declare, route } from './route.js';

export const Whoami = z.object({ name: z.string(), role: z.enum(ROLES), team: z.string().nullable(), approval_roles: z.array(z.string()), service: z.string().nullable() });

export const WHOAMI_ROUTES = {
  whoami: declare({
    method: 'get',
    path: '/v1/whoami',
    operationId: 'whoami',
    tag: 'tokens',
    summary: 'Who the bearer token is',
    access: { kind: 'token' },
    responses: { 200: { description: 'The caller.', body: { name: 'Whoami', schema: Whoami } } },
    errors: [],
  }),
};

/**
 * GET /v1/whoami: who the bearer token is, for clients (the web console) that must show it and
 * decide which actions to offer. Any valid token may ask; the token itself is never echoed.
 */
export function whoamiRouter(): Router {
  const r = Router();
  route(r, WHOAMI_ROUTES.whoami, ({ actor: a, reply }) => reply(200, { name: a.name, role: a.role, team: a.team, approval_roles: a.approvalRoles, service: a.service }));
  return r;
}
