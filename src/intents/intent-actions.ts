import type { Actor } from '../access/actor.js';
import { requireRole, requireTeamAccess } from '../access/actor.js';
import { personKey } from '../access/person-key.js';
import { ConflictError, ForbiddenError } from '../errors.js';
import type { ExperimentState, VersionStatus } from './intent-store.js';
import type { LIFECYCLE_ACTIONS } from './lifecycle.js';
import type { AnalysisStatus } from './rollout.js';

/**
 * Who may do what to an intent, and when: the one rule. The action routes call the `check…`
 * functions below before they change anything, and `GET /v1/intents/{key}` lists, under
 * `allowed_actions`, the actions these same functions let through for the caller at that moment,
 * so a client (the web console) shows exactly the buttons the server would accept instead of
 * re-deriving the rules. An action listed may still meet a 409 a moment later (someone else acted
 * first, a flag was claimed meanwhile); an action not listed is refused with 403 or 409.
 */
export const INTENT_ACTIONS = ['approve', 'pause', 'resume', 'rollback', 'complete', 'advance', 'ship'] as const;
export type IntentAction = (typeof INTENT_ACTIONS)[number];
/** The actions of `POST /v1/intents/{key}/actions` that move the state machine (src/intents/lifecycle.ts). */
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

/** What the lifecycle actions depend on: the experiment and, for `advance`, its rollout's progress. */
export interface LifecycleFacts {
  key: string;
  owner: string;
  state: ExperimentState;
  activeVersion: number | null;
  /** The rollout of the active version (a ship has none), or null. */
  rollout: {
    /** The stage served now, from 0. */
    stage: number;
    /** Each stage's exposure, in order. */
    exposures: readonly number[];
    /** When the current stage's hold is over; null before any progress is stored. */
    holdUntil: string | null;
    /** Asked only when every cheaper condition holds: the analysis reads telemetry. */
    analysis: () => AnalysisStatus;
  } | null;
  now: Date;
}

/** What an approval depends on: the current version, who submitted it, who approved it, what it still owes. */
export interface ApprovalFacts {
  key: string;
  state: ExperimentState;
  current: {
    version: number;
    status: VersionStatus;
    submittedBy: string;
    /** The names on the approvals of this version. */
    approvers: readonly string[];
    /** The approvals it owes by role, as IntentService.outstanding counts them. */
    outstanding: readonly { role: string; missing: number }[];
  };
}

export type IntentFacts = LifecycleFacts & ApprovalFacts;

/**
 * The role gate a route applies before it even looks the intent up (so a token that may never
 * approve gets 403, not 404, for a key it cannot see the point of).
 */
export function requireActionRole(actor: Actor, action: 'approve' | 'ship'): void {
  if (action === 'approve') requireRole(actor, ['approver'], 'approve intents');
  else requireRole(actor, ['owner', 'operator'], 'ship experiments');
}

/** POST …/approvals: 403 or 409 unless the actor's approval would count now. */
export function checkApproval(actor: Actor, f: ApprovalFacts): void {
  requireActionRole(actor, 'approve');
  const v = f.current;
  if (v.status !== 'pending_approval' || f.state === 'completed' || f.state === 'archived') {
    const what = f.state === 'completed' || f.state === 'archived' ? f.state : v.status;
    throw new ConflictError('not_pending_approval', `Version ${v.version} of ${f.key} is ${what}; there is nothing to approve`);
  }
  const me = personKey(actor.name);
  if (personKey(v.submittedBy) === me) {
    throw new ForbiddenError(`${actor.name} submitted version ${v.version} (as ${v.submittedBy}); an approval by the submitter never counts`, 'self_approval');
  }
  const earlier = v.approvers.find((name) => personKey(name) === me);
  if (earlier !== undefined) {
    throw new ConflictError('already_approved', `${actor.name} has already approved version ${v.version} of ${f.key} (as ${earlier})`);
  }
  if (approvalFills(actor, v.outstanding).length === 0) {
    const wanted = v.outstanding.filter((o) => o.missing > 0).map((o) => o.role);
    throw new ForbiddenError(
      `Version ${v.version} of ${f.key} still needs approval by role ${wanted.join(', ')}; this token holds ${actor.approvalRoles.join(', ') || 'no approval role'}`,
      'approval_role_mismatch',
    );
  }
}

/** The owed roles an approval by this actor fills (an admin fills any). */
export function approvalFills(actor: Actor, outstanding: readonly { role: string; missing: number }[]): string[] {
  return outstanding.filter((o) => o.missing > 0 && (actor.role === 'admin' || actor.approvalRoles.includes(o.role))).map((o) => o.role);
}

/** POST …/actions {"action": "ship"}: 403 or 409 unless the experiment may ship now (the variant is checked after). */
export function checkShip(actor: Actor, f: LifecycleFacts): void {
  requireActionRole(actor, 'ship');
  requireTeamAccess(actor, f.owner, `ship experiments of team ${f.owner}`, true);
  if ((f.state !== 'running' && f.state !== 'paused') || f.activeVersion === null) {
    throw new ConflictError('invalid_transition', `Cannot ship experiment ${f.key}: it is ${f.state}; only a running or paused experiment ships`, {
      state: f.state,
      action: 'ship',
    });
  }
}

/** POST …/actions for the state machine: 403 (not the owner's team, not operator or admin) or 409 (not from this state). */
export function checkLifecycleAction(actor: Actor, f: LifecycleFacts, action: LifecycleAction): void {
  requireTeamAccess(actor, f.owner, `${action} experiments of team ${f.owner}`, true);
  const illegal = (): never => {
    throw new ConflictError('invalid_transition', `Cannot ${action} experiment ${f.key}: it is ${f.state}`, { state: f.state, action });
  };
  switch (action) {
    case 'pause':
      if (f.state !== 'running') illegal();
      return;
    case 'resume':
      if (f.state !== 'paused') illegal();
      return;
    case 'rollback':
      if (f.activeVersion === null || f.state === 'completed') illegal();
      return;
    case 'complete':
      if (f.state === 'completed' || f.state === 'archived') illegal();
      return;
    case 'advance':
      checkAdvance(f);
      return;
  }
}

function checkAdvance(f: LifecycleFacts): void {
  const illegal = (why: string): never => {
    throw new ConflictError('invalid_transition', `Cannot advance experiment ${f.key}: ${why}`, { state: f.state, action: 'advance' });
  };
  if (f.state !== 'running') illegal(`it is ${f.state}`);
  const r = f.rollout;
  if (!r) return illegal(`version ${f.activeVersion} has no rollout`);
  if (r.stage >= r.exposures.length - 1) illegal(`it is at its last stage (${r.stage}, exposure ${r.exposures[r.stage]}%)`);
  if (r.holdUntil !== null && new Date(r.holdUntil) > f.now) {
    throw new ConflictError('hold_not_elapsed', `Stage ${r.stage} of ${f.key} holds until ${r.holdUntil}`, { stage: r.stage, hold_until: r.holdUntil });
  }
  const analysis = r.analysis();
  if (analysis === 'regressed' || analysis === 'srm') {
    throw new ConflictError(
      'guardrail_regressed',
      `Cannot advance ${f.key}: its analysis is ${analysis === 'srm' ? 'flagged for a sample-ratio mismatch' : 'regressed'} (GET /v1/intents/${f.key}/analysis)`,
      { stage: r.stage, analysis },
    );
  }
}

/** Whether `action` would pass its check now. */
export function mayTake(actor: Actor, f: IntentFacts, action: IntentAction): boolean {
  try {
    if (action === 'approve') checkApproval(actor, f);
    else if (action === 'ship') checkShip(actor, f);
    else checkLifecycleAction(actor, f, action);
    return true;
  } catch (err) {
    if (err instanceof ForbiddenError || err instanceof ConflictError) return false;
    throw err;
  }
}

/** `allowed_actions` of GET /v1/intents/{key}: the actions the caller may take on the intent now, in INTENT_ACTIONS order. */
export function allowedActions(actor: Actor, f: IntentFacts): IntentAction[] {
  return INTENT_ACTIONS.filter((a) => mayTake(actor, f, a));
}

/** What a new version (PUT /v1/intents/{key}) depends on: whose intent it is and where it stands. */
export interface EditFacts {
  key: string;
  owner: string;
  state: ExperimentState;
}

/**
 * PUT /v1/intents/{key}: 403 unless an owner of the intent's team (or admin) asks, 409 once the
 * experiment is completed or archived. `editable` of GET /v1/intents/{key} is this check's answer
 * for the caller, so a client offers "Edit" exactly when a new version would be accepted (the body
 * itself may still be refused with 400, or with 403 when it moves the intent to another team).
 */
export function checkEdit(actor: Actor, f: EditFacts): void {
  requireRole(actor, ['owner'], 'change intents');
  requireTeamAccess(actor, f.owner, `change intents of team ${f.owner}`, false);
  if (f.state === 'completed') {
    throw new ConflictError('experiment_completed', `Experiment ${f.key} is completed; submit a new key instead`);
  }
  if (f.state === 'archived') {
    throw new ConflictError('invalid_transition', `The intent ${f.key} is archived; submit a new key instead`, { state: f.state });
  }
}

/** `editable` of GET /v1/intents/{key}: whether checkEdit lets the caller submit a new version now. */
export function mayEdit(actor: Actor, f: EditFacts): boolean {
  try {
    checkEdit(actor, f);
    return true;
  } catch (err) {
    if (err instanceof ForbiddenError || err instanceof ConflictError) return false;
    throw err;
  }
}
