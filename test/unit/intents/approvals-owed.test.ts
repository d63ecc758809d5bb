import { describe, expect, it } from 'vitest';
import { approvalsOwed } from '../../../src/intents/approvals-owed.js';

/**
 * approvalsOwed: the one count of the approvals a version owes, used by approving (IntentService)
 * and by the policy preview (policy-impact.ts). Pure, so each rule is checked on its own here; the
 * HTTP and domain tests (approval-counting, approvals, policy-impact) see it through the guards
 * around it.
 */
const sre = (actor: string) => ({ actor, roles: ['sre'] });

describe('approvalsOwed', () => {
  it('owes each obligation in the order asked, with who approved and how many are missing', () => {
    expect(
      approvalsOwed(
        [
          { role: 'sre', count: 2 },
          { role: 'privacy', count: 1 },
        ],
        [sre('sam'), { actor: 'pia', roles: ['privacy'] }],
        'alice',
      ),
    ).toEqual([
      { role: 'sre', count: 2, approved_by: ['sam'], missing: 1 },
      { role: 'privacy', count: 1, approved_by: ['pia'], missing: 0 },
    ]);
  });

  it('owes nothing for an obligation of count 0 (it is left out), and nothing at all without obligations', () => {
    expect(approvalsOwed([{ role: 'sre', count: 0 }, { role: 'privacy', count: 1 }], [], 'alice')).toEqual([
      { role: 'privacy', count: 1, approved_by: [], missing: 1 },
    ]);
    expect(approvalsOwed([], [sre('sam')], 'alice')).toEqual([]);
  });

  it('counts an approval only for the roles it was given with; one person with two roles counts for both', () => {
    expect(
      approvalsOwed(
        [
          { role: 'sre', count: 1 },
          { role: 'privacy', count: 1 },
        ],
        [{ actor: 'pat', roles: ['sre', 'privacy'] }, { actor: 'ops', roles: ['oncall'] }],
        'alice',
      ),
    ).toEqual([
      { role: 'sre', count: 1, approved_by: ['pat'], missing: 0 },
      { role: 'privacy', count: 1, approved_by: ['pat'], missing: 0 },
    ]);
  });

  it('counts people, not rows: one name in several forms counts once, under the spelling of its first row', () => {
    const [o] = approvalsOwed([{ role: 'sre', count: 2 }], [sre(' Sam '), sre('sam'), sre('SAM'), sre('Sasha')], 'alice');
    expect(o).toEqual({ role: 'sre', count: 2, approved_by: [' Sam ', 'Sasha'], missing: 0 });
    // NFD and NFC of one name are one person
    const [n] = approvalsOwed([{ role: 'sre', count: 2 }], [sre('Jose\u0301'), sre('Jos\u00e9')], 'alice');
    expect(n).toEqual({ role: 'sre', count: 2, approved_by: ['Jose\u0301'], missing: 1 });
  });

  it("never counts the submitter's own approval, whatever form either name is in", () => {
    expect(approvalsOwed([{ role: 'sre', count: 1 }], [sre('ALICE'), sre('alice ')], ' Alice')).toEqual([{ role: 'sre', count: 1, approved_by: [], missing: 1 }]);
    // the submitter's row is dropped, the others' still count
    expect(approvalsOwed([{ role: 'sre', count: 2 }], [sre('Alice'), sre('sam')], 'alice')).toEqual([{ role: 'sre', count: 2, approved_by: ['sam'], missing: 1 }]);
  });

  it('never owes a negative number: more approvals than asked leave 0 missing', () => {
    expect(approvalsOwed([{ role: 'sre', count: 1 }], [sre('sam'), sre('sasha'), sre('pat')], 'alice')).toEqual([
      { role: 'sre', count: 1, approved_by: ['sam', 'sasha', 'pat'], missing: 0 },
    ]);
  });
});
