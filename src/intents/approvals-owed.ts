import { personKey } from '../access/person-key.js';

export interface OutstandingApproval {
  role: string;
  count: number;
  approved_by: string[];
  missing: number;
}

/**
 * The approvals a version owes, by role, given the obligations of a decision and the approvals
 * recorded for the version. It counts people, not tokens or rows: names are compared by
 * `personKey` here, at read time, so rows an older release stored in another form (`sam` and
 * ` Sam `, or the submitter under another spelling) still count once, or not at all. The one
 * count: approving (IntentService) and the policy preview (policy-impact.ts) both use it.
 */
export function approvalsOwed(
  obligations: readonly { role: string; count: number }[],
  approvals: readonly { actor: string; roles: readonly string[] }[],
  submittedBy: string,
): OutstandingApproval[] {
  const submitter = personKey(submittedBy);
  const counted = approvals.filter((a) => personKey(a.actor) !== submitter);
  return obligations
    .filter((o) => o.count > 0)
    .map((o) => {
      const people = new Map<string, string>();
      for (const a of counted) if (a.roles.includes(o.role) && !people.has(personKey(a.actor))) people.set(personKey(a.actor), a.actor);
      const by = [...people.values()];
      return { role: o.role, count: o.count, approved_by: by, missing: Math.max(0, o.count - by.length) };
    });
}
