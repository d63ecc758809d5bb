import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Actor } from '../access/actor.js';
import { requireRole, type Role } from '../access/actor.js';
import type { TokenService } from '../access/token-service.js';
import { UnauthorizedError } from '../errors.js';

/**
 * The actor behind an `Authorization: Bearer <token>` header; 401 for anything else. Asynchronous
 * because the token service first awaits the storage's read barrier (ADR 0012).
 */
export async function actorFromAuthorization(tokens: TokenService, header: string | undefined): Promise<Actor> {
  return tokens.authenticate(bearerToken(header));
}

/**
 * The same actor, handed to `then` at once when the storage has no read barrier (SQLite), after
 * the barrier otherwise; a refusal, or an error `then` throws, goes to `failed`.
 */
export function withActor(tokens: TokenService, header: string | undefined, then: (actor: Actor) => void, failed: (err: unknown) => void): void {
  if (tokens.awaitsBarrier) {
    actorFromAuthorization(tokens, header).then(then).catch(failed);
    return;
  }
  try {
    then(tokens.authenticateNow(bearerToken(header)));
  } catch (err) {
    failed(err);
  }
}

/** The token of an `Authorization: Bearer <token>` header; 401 for anything else. */
function bearerToken(header: string | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError(header ? 'The Authorization header must be "Bearer <token>"' : 'A bearer token is required');
  return match[1];
}

/** Resolves the bearer token on every /v1 request; the actor travels in res.locals. */
export function authenticate(tokens: TokenService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals['actor'] = await actorFromAuthorization(tokens, req.headers.authorization);
    next();
  };
}

export function actorOf(res: Response): Actor {
  const actor = res.locals['actor'] as Actor | undefined;
  if (!actor) throw new UnauthorizedError();
  return actor;
}

export function allow(roles: readonly Role[], what: string): RequestHandler {
  return (_req, res, next) => {
    requireRole(actorOf(res), roles, what);
    next();
  };
}

export { READERS } from '../access/actor.js';
