import type { Role } from './token-store.js';
import { ForbiddenError } from '../errors.js';

export type { Role };

/** Who is calling: resolved from the bearer token once per request. */
export interface Actor {
  tokenId: string;
  name: string;
  role: Role;
  team: string | null;
  approvalRoles: string[];
  service: string | null;
}

/** The engine's own actor, for transitions nobody asked for at that moment (schedules). */
export const SYSTEM_ACTOR: Actor = {
  tokenId: 'system',
  name: 'system:scheduler',
  role: 'admin',
  team: null,
  approvalRoles: [],
  service: null,
};

/** The human roles: everyone except a service token may read experiments, decisions and audit (admin passes every rule). */
export const READERS: readonly Role[] = ['owner', 'approver', 'governance', 'operator'];

const article = (role: string) => (/^[aeiou]/.test(role) ? `An ${role}` : `A ${role}`);

export function requireRole(actor: Actor, roles: readonly Role[], what: string): void {
  if (actor.role === 'admin' || roles.includes(actor.role)) return;
  throw new ForbiddenError(`${article(actor.role)} token may not ${what}`);
}

/** A service token reads only its own service; every human role may read any service. */
export function requireServiceAccess(actor: Actor, service: string): void {
  if (actor.role === 'service' && actor.service !== service) {
    throw new ForbiddenError(`This token reads the flags of service ${actor.service ?? '(none)'}, not of ${service}`, 'forbidden_service');
  }
}

/** Owners act only on their own team's intents; operators and admins on all. */
export function requireTeamAccess(actor: Actor, owner: string, what: string, allowOperator: boolean): void {
  if (actor.role === 'admin') return;
  if (allowOperator && actor.role === 'operator') return;
  if (actor.role === 'owner') {
    if (actor.team === owner) return;
    throw new ForbiddenError(`This token acts for team ${actor.team ?? '(none)'}, not for team ${owner}; it may not ${what}`, 'forbidden_team');
  }
  throw new ForbiddenError(`${article(actor.role)} token may not ${what}`);
}

/** The guardrail loop's actor (SPEC §10.2): its pauses are told apart from a person's by this name. */
export const GUARDRAIL_ACTOR: Actor = {
  tokenId: 'system',
  name: 'guardrail',
  role: 'admin',
  team: null,
  approvalRoles: [],
  service: null,
};
