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
  for (const v of deps.intents.liveVersions()) {
    const stored = v.decisionId ? deps.decisions.get(v.decisionId) : undefined;
    const oldResult = stored?.result as PolicyDecision | undefined;
    const submitter = stored?.input as { actor?: { name: string; role: string; team?: string } } | undefined;
    const input = buildPolicyInput(v.intent, submitter?.actor ?? { name: v.submittedBy, role: 'owner' }, now, deps.intents);
    const { decision } = evaluateWith(candidate, input, deps.logger);
    const newStatus = statusOf(decision);
    const changed =
      newStatus !== v.status ||
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
