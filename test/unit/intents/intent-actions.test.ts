import { describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/access/actor.js';
import { allowedActions, type IntentFacts } from '../../../src/intents/intent-actions.js';

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
