import type { Command } from 'commander';
import type { AuditPage, ChainVerification } from '../api-types.js';
import type { Runner } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { orDash, shortRevision, table } from '../format.js';
import { positiveInt } from './options.js';

const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');

/** One line of what an event did, from the fields each type carries; the rest is in --json. */
export function eventSummary(e: AuditPage['events'][number]): string {
  const d = e.data;
  switch (e.type) {
    case 'submitted':
      return `services ${list(d['services'])}`;
    case 'decided':
      return `${String(d['status'])}${list(d['violations']) ? `: ${list(d['violations'])}` : ''}`;
    case 'approved':
      return `as ${list(d['roles'])}${d['complete'] ? ', all approvals in' : ''}${d['comment'] ? `: ${JSON.stringify(d['comment'])}` : ''}`;
    case 'started':
    case 'paused':
    case 'resumed':
    case 'rolled_back':
    case 'completed':
    case 'expired':
      return `${String(d['from_state'] ?? '?')} → ${String(d['to_state'] ?? '?')}${d['reason'] ? `: ${JSON.stringify(d['reason'])}` : ''}`;
    case 'policy_activated':
      return `${shortRevision(d['revision'] as string)}${d['impact'] ? ` (${JSON.stringify(d['impact'])})` : ''}`;
    case 'token_created':
    case 'token_revoked':
      return `${String(d['name'] ?? '')} (${String(d['role'] ?? '')})${d['token_id'] ? ` ${String(d['token_id'])}` : ''}`;
    default:
      return '';
  }
}

function pageText(p: AuditPage): string {
  if (p.events.length === 0) return 'no audit events match';
  const rows = p.events.map((e) => [
    String(e.seq),
    e.at,
    e.type,
    e.experiment ? `${e.experiment}${e.version !== null ? ` v${e.version}` : ''}` : orDash(e.service),
    e.actor,
    eventSummary(e),
  ]);
  const out = table(['SEQ', 'AT', 'TYPE', 'SUBJECT', 'ACTOR', 'WHAT'], rows);
  return p.next_cursor ? `${out}\nmore: add --cursor ${p.next_cursor}` : out;
}

/** The verdict of GET /v1/audit/verify in words: intact or where it breaks, and the recorded head's fate. */
export function verificationText(v: ChainVerification): string {
  const lines = [
    v.broken_at
      ? `chain broken at seq ${v.broken_at.seq} (${v.broken_at.id}): ${v.broken_at.reason}; ${v.events} events verify before it`
      : `chain intact: ${v.events} events, head ${v.head}`,
  ];
  if (v.witness) {
    lines.push(
      v.witness.found
        ? `head ${v.witness.head} is on the chain (seq ${v.witness.seq})`
        : `head ${v.witness.head} is NOT on the chain: events up to it were deleted or rewritten`,
    );
  }
  return lines.join('\n');
}

export function registerAuditCommands(program: Command, run: Runner): void {
  const audit = program.command('audit');
  audit
    .command('verify')
    .description('recompute the audit hash chain (GET /v1/audit/verify); exit 6 if it is broken')
    .option('--head <hash>', 'a head recorded earlier (kept elsewhere): fail unless the chain still passes through it')
    .action(
      run<{ head?: string }>(async (ctx, _args, o) => {
        const v = await ctx.client().get<ChainVerification>('/v1/audit/verify', { head: o.head });
        ctx.output(v, verificationText);
        return v.ok ? ExitCode.ok : ExitCode.chainBroken;
      }),
    );
  audit
    .description('the audit trail, oldest first (GET /v1/audit)')
    .option('--experiment <key>', 'only this experiment')
    .option('--type <type>', 'only this event type (submitted, decided, approved, started, paused, …)')
    .option('--actor <name>', 'only this actor')
    .option('--service <service>', 'only events touching this service')
    .option('--from <time>', 'from this ISO 8601 time')
    .option('--to <time>', 'up to this ISO 8601 time')
    .option('--limit <n>', 'at most n (1-1000)', positiveInt)
    .option('--cursor <seq>', 'continue after this sequence number')
    .action(
      run<Record<string, string | number | undefined>>(async (ctx, _args, o) => {
        const p = await ctx.client().get<AuditPage>('/v1/audit', {
          experiment: o['experiment'],
          type: o['type'],
          actor: o['actor'],
          service: o['service'],
          from: o['from'],
          to: o['to'],
          limit: o['limit'],
          cursor: o['cursor'],
        });
        ctx.output(p, (p) => pageText(p));
      }),
    );
}
