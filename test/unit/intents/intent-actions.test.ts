import { describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/access/actor.js';
import { SwitchyardError } from '../../../src/errors.js';
import { allowedActions, approvalFills, checkApproval, checkEdit, checkLifecycleAction, checkShip, mayEdit, type EditFacts, type IntentFacts } from '../../../src/intents/intent-actions.js';

/** The action rule on its own, without a server: the state table, and advance's conditions in order. */

const actor = (over: Partial<Actor>): Actor => ({ tokenId: 't', name: 'x', role: 'admin', team: null, approvalRoles: [], service: null, ...over });
const NOW = new Date('2026-11-25T12:00:00Z');

function facts(over: Partial<IntentFacts> = {}): IntentFacts {
  return {
    key: 'k',
    owner: 'growth',
    state: 'running',
    activeVersion: 1,
    rollout: null,
    now: NOW,
    current: { version: 1, status: 'approved', submittedBy: 'alice', approvers: [], outstanding: [] },
    ...over,
  };
}

describe('allowedActions', () => {
  it('follows the state machine for an operator', () => {
    const op = actor({ role: 'operator', name: 'olga' });
    const table: [IntentFacts['state'], number | null, string[]][] = [
      ['draft', null, ['complete']],
      ['scheduled', 1, ['rollback', 'complete']],
      ['running', 1, ['pause', 'rollback', 'complete', 'ship']],
      ['paused', 1, ['resume', 'rollback', 'complete', 'ship']],
      ['shipped', 2, ['rollback', 'complete']],
      ['completed', 1, []],
      ['archived', null, []],
    ];
    for (const [state, activeVersion, expected] of table) expect(allowedActions(op, facts({ state, activeVersion })), state).toEqual(expected);
  });

  it('lets an owner act on its own team only, and never approve', () => {
    expect(allowedActions(actor({ role: 'owner', team: 'growth' }), facts())).toEqual(['pause', 'rollback', 'complete', 'ship']);
    expect(allowedActions(actor({ role: 'owner', team: 'search' }), facts())).toEqual([]);
  });

  it('approve: pending only, not the submitter (by person key), not twice, only for an owed role', () => {
    const pending = (over: Partial<IntentFacts['current']> = {}) =>
      facts({ state: 'draft', activeVersion: null, current: { version: 1, status: 'pending_approval', submittedBy: 'alice', approvers: [], outstanding: [{ role: 'sre', missing: 1 }], ...over } });
    const sam = actor({ role: 'approver', name: 'sam', approvalRoles: ['sre'] });
    expect(allowedActions(sam, pending())).toEqual(['approve']);
    expect(allowedActions(actor({ role: 'approver', name: ' ALICE ', approvalRoles: ['sre'] }), pending())).toEqual([]);
    expect(allowedActions(sam, pending({ approvers: ['Sam'] }))).toEqual([]);
    expect(allowedActions(actor({ role: 'approver', name: 'pia', approvalRoles: ['privacy'] }), pending())).toEqual([]);
    expect(allowedActions(sam, pending({ outstanding: [{ role: 'sre', missing: 0 }] }))).toEqual([]);
    expect(allowedActions(sam, pending({ status: 'denied' }))).toEqual([]);
  });

  it('advance: running, not at the last stage, hold over, analysis not regressed; the analysis is read last', () => {
    let asked = 0;
    const rollout = (stage: number, holdUntil: string | null, status: 'healthy' | 'regressed' | 'srm' | 'collecting') => ({
      stage,
      exposures: [10, 20, 30],
      holdUntil,
      analysis: () => (asked++, status),
    });
    const op = actor({ role: 'operator' });
    const has = (f: IntentFacts) => allowedActions(op, f).includes('advance');
    expect(has(facts({ rollout: rollout(0, '2026-11-25T11:00:00Z', 'collecting') }))).toBe(true);
    expect(has(facts({ rollout: rollout(1, null, 'healthy') }))).toBe(true);
    asked = 0;
    expect(has(facts({ rollout: rollout(2, null, 'healthy') }))).toBe(false);
    expect(has(facts({ rollout: rollout(0, '2026-11-25T12:00:01Z', 'healthy') }))).toBe(false);
    expect(has(facts({ state: 'paused', rollout: rollout(0, null, 'healthy') }))).toBe(false);
    expect(asked).toBe(0);
    expect(has(facts({ rollout: rollout(0, null, 'regressed') }))).toBe(false);
    expect(has(facts({ rollout: rollout(0, null, 'srm') }))).toBe(false);
    expect(has(facts({ rollout: null }))).toBe(false);
  });
});

/** What a check throws, as the API answers it: status, code, message and details (a TypeError fails the test). */
function refusal(fn: () => void): { status: number; code: string; message: string; details?: Record<string, unknown> } | null {
  try {
    fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    const e = err as SwitchyardError;
    return { status: e.status, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  }
}

describe('the checks the action routes run: each refusal as the API answers it', () => {
  const pending = (over: Partial<IntentFacts['current']> = {}, state: IntentFacts['state'] = 'draft') =>
    facts({ state, activeVersion: null, current: { version: 3, status: 'pending_approval', submittedBy: 'alice', approvers: [], outstanding: [{ role: 'sre', missing: 1 }], ...over } });
  const sam = actor({ role: 'approver', name: 'Sam', approvalRoles: ['sre'] });

  it('checkApproval: not pending, completed or archived, the submitter, twice, the wrong role, not an approver', () => {
    expect(refusal(() => checkApproval(sam, pending()))).toBeNull();
    expect(refusal(() => checkApproval(sam, pending({ status: 'denied' })))).toEqual({ status: 409, code: 'not_pending_approval', message: 'Version 3 of k is denied; there is nothing to approve' });
    expect(refusal(() => checkApproval(sam, pending({}, 'completed')))).toEqual({ status: 409, code: 'not_pending_approval', message: 'Version 3 of k is completed; there is nothing to approve' });
    expect(refusal(() => checkApproval(sam, pending({}, 'archived')))).toEqual({ status: 409, code: 'not_pending_approval', message: 'Version 3 of k is archived; there is nothing to approve' });
    expect(refusal(() => checkApproval(actor({ role: 'approver', name: ' ALICE', approvalRoles: ['sre'] }), pending()))).toEqual({
      status: 403,
      code: 'self_approval',
      message: ' ALICE submitted version 3 (as alice); an approval by the submitter never counts',
    });
    expect(refusal(() => checkApproval(sam, pending({ approvers: ['pia', 'SAM '] })))).toEqual({ status: 409, code: 'already_approved', message: 'Sam has already approved version 3 of k (as SAM )' });
    const owed = [{ role: 'sre', missing: 1 }, { role: 'legal', missing: 0 }, { role: 'privacy', missing: 2 }];
    expect(refusal(() => checkApproval(actor({ role: 'approver', name: 'lee', approvalRoles: ['legal', 'ux'] }), pending({ outstanding: owed })))).toEqual({
      status: 403,
      code: 'approval_role_mismatch',
      message: 'Version 3 of k still needs approval by role sre, privacy; this token holds legal, ux',
    });
    expect(refusal(() => checkApproval(actor({ role: 'approver', name: 'lee', approvalRoles: [] }), pending()))).toEqual({
      status: 403,
      code: 'approval_role_mismatch',
      message: 'Version 3 of k still needs approval by role sre; this token holds no approval role',
    });
    expect(refusal(() => checkApproval(actor({ role: 'operator', name: 'olga' }), pending()))).toEqual({ status: 403, code: 'forbidden', message: 'An operator token may not approve intents' });
  });

  it('approvalFills: the owed roles only (missing > 0); the approver its own, an admin every one', () => {
    const owed = [{ role: 'sre', missing: 1 }, { role: 'legal', missing: 0 }, { role: 'privacy', missing: 2 }];
    expect(approvalFills(actor({ role: 'approver', approvalRoles: ['privacy', 'legal'] }), owed)).toEqual(['privacy']);
    expect(approvalFills(actor({ role: 'admin' }), owed)).toEqual(['sre', 'privacy']);
    expect(approvalFills(actor({ role: 'operator', approvalRoles: [] }), owed)).toEqual([]);
  });

  it('checkShip: owner or operator of the team, running or paused with an active version', () => {
    expect(refusal(() => checkShip(actor({ role: 'owner', team: 'growth' }), facts()))).toBeNull();
    expect(refusal(() => checkShip(actor({ role: 'operator' }), facts({ state: 'paused' })))).toBeNull();
    expect(refusal(() => checkShip(actor({ role: 'approver', approvalRoles: ['sre'] }), facts()))).toEqual({ status: 403, code: 'forbidden', message: 'An approver token may not ship experiments' });
    expect(refusal(() => checkShip(actor({ role: 'owner', team: 'search' }), facts()))).toEqual({
      status: 403,
      code: 'forbidden_team',
      message: 'This token acts for team search, not for team growth; it may not ship experiments of team growth',
    });
    const notLive = { status: 409, code: 'invalid_transition' };
    expect(refusal(() => checkShip(actor({ role: 'operator' }), facts({ state: 'scheduled' })))).toEqual({
      ...notLive,
      message: 'Cannot ship experiment k: it is scheduled; only a running or paused experiment ships',
      details: { state: 'scheduled', action: 'ship' },
    });
    expect(refusal(() => checkShip(actor({ role: 'operator' }), facts({ state: 'running', activeVersion: null })))).toMatchObject(notLive);
  });

  it('checkLifecycleAction: the team first, then the state, with the state and action in the details', () => {
    expect(refusal(() => checkLifecycleAction(actor({ role: 'owner', team: 'search' }), facts(), 'pause'))).toEqual({
      status: 403,
      code: 'forbidden_team',
      message: 'This token acts for team search, not for team growth; it may not pause experiments of team growth',
    });
    expect(refusal(() => checkLifecycleAction(actor({ role: 'operator' }), facts({ state: 'paused' }), 'pause'))).toEqual({
      status: 409,
      code: 'invalid_transition',
      message: 'Cannot pause experiment k: it is paused',
      details: { state: 'paused', action: 'pause' },
    });
    expect(refusal(() => checkLifecycleAction(actor({ role: 'operator' }), facts({ state: 'completed' }), 'rollback'))).toMatchObject({ code: 'invalid_transition', details: { state: 'completed', action: 'rollback' } });
  });

  it('advance: each refusal with its code, message and details; a hold ending exactly now is over', () => {
    const op = actor({ role: 'operator' });
    const rollout = (stage: number, holdUntil: string | null, status: 'healthy' | 'regressed' | 'srm' = 'healthy') => ({ stage, exposures: [10, 20, 30], holdUntil, analysis: () => status });
    const advance = (over: Partial<IntentFacts>) => refusal(() => checkLifecycleAction(op, facts(over), 'advance'));
    expect(advance({ rollout: rollout(0, NOW.toISOString()) })).toBeNull();
    expect(advance({ state: 'paused', rollout: rollout(0, null) })).toEqual({
      status: 409,
      code: 'invalid_transition',
      message: 'Cannot advance experiment k: it is paused',
      details: { state: 'paused', action: 'advance' },
    });
    expect(advance({ activeVersion: 4, rollout: null })).toEqual({
      status: 409,
      code: 'invalid_transition',
      message: 'Cannot advance experiment k: version 4 has no rollout',
      details: { state: 'running', action: 'advance' },
    });
    expect(advance({ rollout: rollout(2, null) })).toMatchObject({ code: 'invalid_transition', message: 'Cannot advance experiment k: it is at its last stage (2, exposure 30%)' });
    expect(advance({ rollout: rollout(1, '2026-11-25T12:00:00.001Z') })).toEqual({
      status: 409,
      code: 'hold_not_elapsed',
      message: 'Stage 1 of k holds until 2026-11-25T12:00:00.001Z',
      details: { stage: 1, hold_until: '2026-11-25T12:00:00.001Z' },
    });
    expect(advance({ rollout: rollout(1, null, 'regressed') })).toEqual({
      status: 409,
      code: 'guardrail_regressed',
      message: 'Cannot advance k: its analysis is regressed (GET /v1/intents/k/analysis)',
      details: { stage: 1, analysis: 'regressed' },
    });
    expect(advance({ rollout: rollout(0, null, 'srm') })).toEqual({
      status: 409,
      code: 'guardrail_regressed',
      message: 'Cannot advance k: its analysis is flagged for a sample-ratio mismatch (GET /v1/intents/k/analysis)',
      details: { stage: 0, analysis: 'srm' },
    });
  });

  it('allowed_actions passes on an error that is not a refusal (a failing analysis is not "not allowed")', () => {
    const broken = facts({
      rollout: {
        stage: 0,
        exposures: [10, 20],
        holdUntil: null,
        analysis: () => {
          throw new Error('telemetry store down');
        },
      },
    });
    expect(() => allowedActions(actor({ role: 'operator' }), broken)).toThrow('telemetry store down');
  });

  it('checkEdit (PUT /v1/intents/{key}): an owner of the team or an admin, until completed or archived; each refusal as the API answers it', () => {
    const edit = (over: Partial<EditFacts> = {}): EditFacts => ({ key: 'k', owner: 'growth', state: 'running', ...over });
    for (const state of ['draft', 'scheduled', 'running', 'paused'] as const) {
      expect(refusal(() => checkEdit(actor({ role: 'owner', team: 'growth' }), edit({ state }))), state).toBeNull();
      expect(refusal(() => checkEdit(actor({ role: 'admin' }), edit({ state }))), state).toBeNull();
    }
    expect(refusal(() => checkEdit(actor({ role: 'operator' }), edit()))).toEqual({ status: 403, code: 'forbidden', message: 'An operator token may not change intents' });
    expect(refusal(() => checkEdit(actor({ role: 'approver', approvalRoles: ['sre'] }), edit()))).toEqual({ status: 403, code: 'forbidden', message: 'An approver token may not change intents' });
    expect(refusal(() => checkEdit(actor({ role: 'owner', team: 'search' }), edit()))).toEqual({
      status: 403,
      code: 'forbidden_team',
      message: 'This token acts for team search, not for team growth; it may not change intents of team growth',
    });
    expect(refusal(() => checkEdit(actor({ role: 'owner', team: 'growth' }), edit({ state: 'completed' })))).toEqual({
      status: 409,
      code: 'experiment_completed',
      message: 'Experiment k is completed; submit a new key instead',
    });
    expect(refusal(() => checkEdit(actor({ role: 'admin' }), edit({ state: 'archived' })))).toEqual({
      status: 409,
      code: 'invalid_transition',
      message: 'The intent k is archived; submit a new key instead',
      details: { state: 'archived' },
    });
  });

  it('mayEdit (`editable`) is checkEdit\'s answer: true when it passes, false on a 403 or 409, and any other error passes through', () => {
    const edit = (over: Partial<EditFacts> = {}): EditFacts => ({ key: 'k', owner: 'growth', state: 'running', ...over });
    expect(mayEdit(actor({ role: 'owner', team: 'growth' }), edit())).toBe(true);
    expect(mayEdit(actor({ role: 'owner', team: 'search' }), edit())).toBe(false);
    expect(mayEdit(actor({ role: 'operator' }), edit())).toBe(false);
    expect(mayEdit(actor({ role: 'owner', team: 'growth' }), edit({ state: 'completed' }))).toBe(false);
    expect(mayEdit(actor({ role: 'admin' }), edit({ state: 'archived' }))).toBe(false);
    const broken = Object.defineProperty(edit(), 'state', {
      get: () => {
        throw new Error('store down');
      },
    });
    expect(() => mayEdit(actor({ role: 'owner', team: 'growth' }), broken)).toThrow('store down');
  });
});
