/**
 * Decisions in plain words: what `intent submit` / `evaluate` / `get` print. Each violation is one
 * line with its code, the policy that raised it, the policy's own message and what it is about;
 * each obligation says what has to happen next.
 */
import type { Decision, EvaluateAnswer, SubmitAnswer, Violation } from './api-types.js';
import { plural, shortRevision } from './format.js';

export type { Decision, Violation };

/** What submit, update, ship (with `state`) and evaluate (without) answer. */
export type DecisionResult = EvaluateAnswer & { state?: SubmitAnswer['state'] };

export function violationLine(v: Violation): string {
  const about = [v.service ? `service ${v.service}` : '', v.data_class ? `data class ${v.data_class}` : ''].filter(Boolean).join(', ');
  return `✗ ${v.code} (${v.policy}): ${v.message}${about ? ` [${about}]` : ''}`;
}

/** "needs 1 approval by role sre" for each role still owed. */
export function approvalLines(approvals: { role: string; count: number }[]): string[] {
  return approvals.filter((a) => a.count > 0).map((a) => `needs ${plural(a.count, 'approval')} by role ${a.role}`);
}

export function auditLine(audit: { level: string; retention_days: number }): string {
  return `audit: ${audit.level}, kept ${plural(audit.retention_days, 'day')}`;
}

function limitLine(limits: Record<string, unknown>): string | undefined {
  const parts = Object.entries(limits).map(([k, v]) => (k === 'max_exposure' && typeof v === 'number' ? `max exposure ${v}%` : `${k} ${JSON.stringify(v)}`));
  return parts.length > 0 ? `limits: ${parts.join(', ')}` : undefined;
}

/** The one-line verdict: "✓ key v1: approved, running". */
export function verdictLine(r: DecisionResult, dryRun: boolean): string {
  const id = `${r.intent.key} v${r.intent.version}`;
  const where = r.state ? `; state ${r.state}` : '';
  const tail = dryRun ? ' (dry run: nothing was stored)' : '';
  switch (r.status) {
    case 'approved':
      return `✓ ${id}: ${dryRun ? 'would be approved' : 'approved'}${where}${tail}`;
    case 'pending_approval': {
      const owed = approvalLines(r.decision.obligations.approvals).join(', ');
      return `… ${id}: ${dryRun ? 'would be allowed, pending approval' : 'pending approval'} (${owed})${where}${tail}`;
    }
    case 'denied':
      return `✗ ${id}: ${dryRun ? 'would be denied' : 'denied'}, ${plural(r.decision.violations.length, 'violation')}${where}${tail}`;
  }
}

/** Who filled each owed role, for a decision shown after approvals came in (`intent get`). */
export type ApprovalsGiven = Map<string, string[]>;

/**
 * The decision's details, indented under the verdict. `given` marks the approvals already given;
 * `dryRun` leaves out the decision id, which a dry run does not store.
 */
export function decisionLines(d: Decision, opts: { dryRun?: boolean; given?: ApprovalsGiven } = {}): string[] {
  const lines: string[] = [];
  for (const v of d.violations) lines.push(`  ${violationLine(v)}`);
  const owed = d.obligations.approvals.filter((a) => a.count > 0);
  lines.push(`  obligations${d.allow ? '' : ' (if it were allowed)'}:`);
  if (owed.length === 0) lines.push('    no approval needed');
  for (const a of owed) {
    const by = opts.given?.get(a.role) ?? [];
    lines.push(`    ${approvalLines([a])[0]}${by.length > 0 ? `: given by ${by.join(', ')}` : ''}`);
  }
  lines.push(`    ${auditLine(d.obligations.audit)}`);
  const limits = limitLine(d.limits);
  if (limits) lines.push(`  ${limits}`);
  lines.push(opts.dryRun ? `  policy ${shortRevision(d.policy_revision)}` : `  decision ${d.id} under policy ${shortRevision(d.policy_revision)}`);
  return lines;
}

export function explainResult(r: DecisionResult, dryRun: boolean): string {
  return [verdictLine(r, dryRun), ...decisionLines(r.decision, { dryRun })].join('\n');
}
