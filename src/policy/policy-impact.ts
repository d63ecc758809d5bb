import type { Logger } from '../logger.js';
import { approvalsOwed } from '../intents/approvals-owed.js';
import type { IntentReader } from '../intents/intent-store.js';
import type { DecisionReader } from './decision-store.js';
import { evaluateWith, type LoadedBundle, type PolicyDecision } from './policy-engine.js';
import { buildPolicyInput, type PolicyInput } from './policy-input.js';

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

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The status the version would hold under the new verdict. Approvals already given keep counting,
 * by the rule approving uses (approvalsOwed): a version is approved when the people who approved
 * it cover every approval the new verdict asks, whatever the old verdict asked. So an sre-approved
 * version stays approved under a bundle that still asks sre, a version that waited for sre and
 * privacy with sre given is approved under a bundle that asks sre only, and an approval the new
 * verdict asks that nobody gave leaves it pending.
 */
function newStatusOf(d: PolicyDecision, v: Pick<ImpactCase, 'approvals' | 'submittedBy'>): string {
  if (!d.allow) return 'denied';
  return approvalsOwed(d.obligations.approvals, v.approvals, v.submittedBy).every((o) => o.missing === 0) ? 'approved' : 'pending_approval';
}

/**
 * One live version as the impact analysis needs it: its stored verdict, and the policy input it
 * would be judged on today. Read in the main thread (the worker opens no database) and handed to
 * the check worker in its message.
 */
export interface ImpactCase {
  key: string;
  version: number;
  status: string;
  liveStatus: string;
  policyRevision: string | null;
  oldResult: PolicyDecision | undefined;
  input: PolicyInput;
  /** Who submitted the version (an approval by them never counts) and the approvals recorded for it. */
  submittedBy: string;
  approvals: { actor: string; roles: string[] }[];
}

/**
 * Reads every live experiment version with its stored decision and builds its policy input with
 * today's clock and today's live context. Each version is judged as at its submission: against the
 * other experiments' live versions, never its own (the reader leaves out the version's own key).
 */
export async function impactCases(r: { intents: IntentReader; decisions: DecisionReader }, now: Date): Promise<ImpactCase[]> {
  const cases: ImpactCase[] = [];
  for (const v of await r.intents.liveVersions()) {
    const stored = v.decisionId ? await r.decisions.get(v.decisionId) : undefined;
    const submitter = stored?.input as { actor?: { name: string; role: string; team?: string } } | undefined;
    // A ship version is judged as a ship (input.ship), as when it was submitted.
    const input = await buildPolicyInput(v.intent, submitter?.actor ?? { name: v.submittedBy, role: 'owner' }, now, r.intents, v.ship);
    cases.push({
      key: v.key,
      version: v.version,
      status: v.status,
      liveStatus: v.liveStatus,
      policyRevision: stored?.policyRevision ?? null,
      oldResult: stored?.result as PolicyDecision | undefined,
      input,
      submittedBy: v.submittedBy,
      approvals: (await r.intents.listApprovals(v.key, v.version)).map((a) => ({ actor: a.actor, roles: a.roles })),
    });
  }
  return cases;
}

/**
 * Re-evaluates every live experiment version (its ImpactCase) under a candidate bundle and compares
 * with the verdict it holds. Nothing is stored; no I/O: this runs in the check worker.
 */
export function policyImpact(cases: ImpactCase[], candidate: LoadedBundle, activeRevision: string | null, logger: Logger): ImpactReport {
  const experiments: ImpactEntry[] = [];
  for (const v of cases) {
    const oldResult = v.oldResult;
    const { decision } = evaluateWith(candidate, v.input, logger);
    const newStatus = newStatusOf(decision, v);
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
        policy_revision: v.policyRevision ?? 'unknown',
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
