import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { DecisionStore } from '../storage/decision-store.js';
import type { IntentStore } from '../storage/intent-store.js';
import { evaluateWith, type LoadedBundle, type PolicyDecision } from './policy-engine.js';
import { buildPolicyInput } from './policy-input.js';

export interface ImpactEntry {
  key: string;
  version: number;
  state: string;
  old: { status: string; policy_revision: string; violations: PolicyDecision['violations']; obligations: PolicyDecision['obligations'] | null };
  new: { status: string; violations: PolicyDecision['violations']; obligations: PolicyDecision['obligations'] };
  changed: boolean;
}

export interface ImpactReport {
  candidate_revision: string;
  active_revision: string | null;
  evaluated: number;
  would_deny: number;
  changed: number;
  experiments: ImpactEntry[];
}

function statusOf(d: PolicyDecision): string {
  if (!d.allow) return 'denied';
  return d.obligations.approvals.some((a) => a.count > 0) ? 'pending_approval' : 'approved';
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** True when every approval `next` asks was asked (at least as many times) by `prev`. */
function asksNoMore(next: PolicyDecision['obligations'], prev: PolicyDecision['obligations'] | null): boolean {
  return next.approvals.every((a) => a.count <= 0 || (prev?.approvals.find((p) => p.role === a.role)?.count ?? 0) >= a.count);
}

/**
 * The status the version would hold under the new verdict. Approvals already given keep counting:
 * an approved version stays approved while the new verdict asks no approval the old one did not.
 */
function newStatusOf(d: PolicyDecision, versionStatus: string, old: PolicyDecision | undefined): string {
  if (!d.allow) return 'denied';
  if (versionStatus === 'approved' && old?.allow && asksNoMore(d.obligations, old.obligations)) return 'approved';
  return statusOf(d);
}

/**
 * Re-evaluates every live experiment version under a candidate bundle, with today's clock and
 * today's live context, and compares with the verdict it holds. Nothing is stored.
 */
export function policyImpact(
  deps: { intents: IntentStore; decisions: DecisionStore; clock: Clock; logger: Logger },
  candidate: LoadedBundle,
  activeRevision: string | null,
): ImpactReport {
  const now = deps.clock.now();
  const experiments: ImpactEntry[] = [];
  // Each version is judged as at its submission: against the other experiments' live versions,
  // never its own (the reader leaves out the version's own key); layers come from their kept spaces.
  const live = deps.intents;
  for (const v of deps.intents.liveVersions()) {
    const stored = v.decisionId ? deps.decisions.get(v.decisionId) : undefined;
    const oldResult = stored?.result as PolicyDecision | undefined;
    const submitter = stored?.input as { actor?: { name: string; role: string; team?: string } } | undefined;
    // A ship version is judged as a ship (input.ship), as when it was submitted.
    const input = buildPolicyInput(v.intent, submitter?.actor ?? { name: v.submittedBy, role: 'owner' }, now, live, v.ship);
    const { decision } = evaluateWith(candidate, input, deps.logger);
    const newStatus = newStatusOf(decision, v.status, oldResult);
    // Verdict against verdict: the version's status also records approvals given since, so it is
    // compared with the status the new verdict leaves it, not with the verdict's bare status.
    const changed =
      newStatus !== v.status ||
      decision.allow !== (oldResult?.allow ?? !decision.allow) ||
      !sameJson(decision.violations, oldResult?.violations ?? []) ||
      !sameJson(decision.obligations, oldResult?.obligations ?? null);
    experiments.push({
      key: v.key,
      version: v.version,
      state: v.liveStatus,
      old: {
        status: v.status,
        policy_revision: stored?.policyRevision ?? 'unknown',
        violations: oldResult?.violations ?? [],
        obligations: oldResult?.obligations ?? null,
      },
      new: { status: newStatus, violations: decision.violations, obligations: decision.obligations },
      changed,
    });
  }
  return {
    candidate_revision: candidate.revision,
    active_revision: activeRevision,
    evaluated: experiments.length,
    would_deny: experiments.filter((e) => e.new.status === 'denied').length,
    changed: experiments.filter((e) => e.changed).length,
    experiments,
  };
}
