import { Option, type Command } from 'commander';
import { ApiError, pathOf } from '../api-client.js';
import type { Runner } from '../context.js';
import type { ActionAnswer, Analysis, Approval, ApprovalResult, AudienceCondition, EvaluateAnswer, IntentDetail, IntentList, OutstandingApproval, RolloutView, ShipAnswer, SubmitAnswer } from '../api-types.js';
import { approvalLines, decisionLines, explainResult, type DecisionResult } from '../decision-text.js';
import { CliError, ExitCode, usageError } from '../exit-codes.js';
import { orDash, showValue, table } from '../format.js';
import { readObject } from '../input.js';
import { positiveInt } from './options.js';
import { EXPERIMENT_STATES } from '../../intents/intent-store.js';

/** Archived intents are listed only when asked for by name (the server's rule), so the CLI offers the rest. */
const STATES = EXPERIMENT_STATES.filter((s) => s !== 'archived');

/** Submit, update and evaluate answer with a decision; a denied one is exit 3. */
function decisionExit(r: DecisionResult): ExitCode {
  return r.status === 'denied' ? ExitCode.denied : ExitCode.ok;
}

function intentKey(body: Record<string, unknown>, file: string): string {
  if (typeof body['key'] !== 'string' || body['key'] === '') throw usageError(`${file} has no "key": the key names the intent to update`);
  return body['key'];
}

export function audienceText(c: AudienceCondition): string {
  return c.values !== undefined ? `${c.attribute} ${c.op} [${c.values.map(showValue).join(', ')}]` : `${c.attribute} ${c.op} ${showValue(c.value)}`;
}

function approvalText(a: Approval): string {
  return `${a.actor} (${a.roles.join(', ') || 'no role'}) at ${a.at}${a.comment ? `: ${JSON.stringify(a.comment)}` : ''}`;
}

function outstandingLines(o: OutstandingApproval[]): string[] {
  return approvalLines(o.map((x) => ({ role: x.role, count: x.missing })));
}

function detailText(d: IntentDetail): string {
  const i = d.intent;
  const lines = [
    `${d.key} (team ${d.owner}): version ${d.version} ${d.status}, state ${d.state}, active version ${d.active_version ?? 'none'}`,
  ];
  const field = (name: string, value: string | undefined) => {
    if (value) lines.push(`  ${`${name}:`.padEnd(13)}${value}`);
  };
  field('description', i.description);
  field('services', i.services.map((s) => `${s.service}/${s.flag}`).join(', '));
  field('variants', i.variants.map((v) => `${v.key}=${showValue(v.value)} (weight ${v.weight})`).join(', '));
  field('exposure', `${i.exposure}%${i.layer ? ` in layer ${i.layer}` : ''}, unit ${i.unit}`);
  field('audience', i.audience.map(audienceText).join(' and '));
  field('data access', i.data_access.join(', '));
  if (i.schedule) field('schedule', `${i.schedule.start ?? 'on approval'} → ${i.schedule.end ?? 'open-ended'}`);
  if (d.ship) field('ships', `variant ${d.ship} to every unit`);
  if (d.rollout) field('rollout', rolloutText(d.rollout));
  if (i.rollout) {
    field('stages', i.rollout.stages.map((st) => `${st.exposure}%${st.hold && st.hold !== 'PT0S' ? ` hold ${st.hold}` : ''}`).join(' → ') + (i.rollout.auto_advance ? ' (auto advance)' : ''));
    const guards = i.rollout.guardrails ?? [];
    if (guards.length > 0) field('guardrails', guards.map((g) => `${g.metric} (tolerates ${pct(g.max_regression ?? 0)})`).join(', '));
  }
  if (d.decision) {
    const given = new Map<string, string[]>();
    for (const a of d.approvals) for (const role of a.roles) given.set(role, [...(given.get(role) ?? []), a.actor]);
    lines.push('decision:', ...decisionLines(d.decision, { given }));
  }
  if (d.approvals.length > 0) lines.push('approvals:', ...d.approvals.map((a) => `  ${approvalText(a)}`));
  const owed = outstandingLines(d.outstanding_approvals);
  if (owed.length > 0) lines.push('outstanding:', ...owed.map((l) => `  ${l}`));
  lines.push(
    'versions:',
    table(
      ['  VERSION', 'STATUS', 'SUBMITTED BY', 'SUBMITTED AT', 'DECISION', 'NOTE'],
      d.versions.map((v) => [`  ${v.version}`, v.status, v.submitted_by, v.submitted_at, orDash(v.decision_id), v.rolled_back_at ? `rolled back ${v.rolled_back_at}` : '']),
    ),
  );
  return lines.join('\n');
}

/** A relative change as a signed percentage: +12.3%. */
export function pct(x: number): string {
  const v = x * 100;
  return `${v > 0 ? '+' : v < 0 ? '-' : ''}${Math.abs(v).toFixed(1)}%`;
}

/** "stage 2/3 at 2.5%, hold until …, status holding": stages counted from 1 for people (`--json` has SPEC's 0-based `stage`). */
export function rolloutText(r: RolloutView): string {
  return `stage ${r.stage + 1}/${r.stages} at ${r.exposure}%, hold until ${r.hold_until ?? '-'}, status ${r.status}`;
}

/** A mean to four significant digits, integers as they are. */
function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** `intent analysis`: units per arm, the sample-ratio check, then one row per guardrail and arm. */
export function analysisText(a: Analysis): string {
  const lines = [`${a.key} v${a.version}: analysis ${a.status}`];
  lines.push(table(['  ARM', 'UNITS'], Object.entries(a.units).map(([arm, n]) => [`  ${arm}`, String(n)])));
  lines.push(
    `sample ratio: p = ${a.srm.p_value < 0.001 ? a.srm.p_value.toExponential(2) : a.srm.p_value.toFixed(3)}, ${a.srm.flagged ? 'MISMATCH (p < 0.001): the arms are not getting their weights' : 'ok'}`,
  );
  lines.push(`assignment mismatches: ${a.assignment_mismatches}`);
  if (a.guardrails.length === 0) lines.push('guardrails: none');
  else
    lines.push(
      table(
        ['METRIC', 'ARM', 'CONTROL (UNITS, MEAN)', 'ARM (UNITS, MEAN)', 'CHANGE', 'INTERVAL', 'TOLERATED', 'STATUS'],
        a.guardrails.map((g) => [
          g.metric,
          g.arm,
          `${g.control.units}, ${num(g.control.mean)}`,
          `${g.arm_stats.units}, ${num(g.arm_stats.mean)}`,
          g.relative_change === null ? '-' : pct(g.relative_change),
          g.interval === null ? '-' : `[${pct(g.interval[0])}, ${pct(g.interval[1])}]`,
          g.max_regression === undefined ? '-' : `${g.better === 'higher' ? '-' : '+'}${(g.max_regression * 100).toFixed(1)}%`,
          g.status,
        ]),
      ),
    );
  if (a.method) lines.push(`method: ${a.method.interval}, alpha ${num(a.method.alpha)} per interval, at least ${a.method.min_units} units per arm`);
  return lines.join('\n');
}

function listText(l: IntentList): string {
  if (l.items.length === 0) return 'no intents match';
  const rows = l.items.map((e) => [
    e.key,
    e.owner,
    String(e.version),
    e.status,
    e.state,
    `${e.exposure}%`,
    orDash(e.layer),
    e.services.map((s) => `${s.service}/${s.flag}`).join(','),
  ]);
  const out = table(['KEY', 'OWNER', 'VERSION', 'STATUS', 'STATE', 'EXPOSURE', 'LAYER', 'SERVICES'], rows);
  return l.next_cursor ? `${out}\nmore: add --cursor ${l.next_cursor}` : out;
}

function approvalResultText(r: ApprovalResult): string {
  const id = `${r.intent.key} v${r.intent.version}`;
  if (r.status === 'approved') return `✓ ${id}: approved; state ${r.state}\n  approvals: ${r.approvals.map(approvalText).join('; ')}`;
  return [`… ${id}: approval recorded; still pending`, ...outstandingLines(r.outstanding).map((l) => `  ${l}`)].join('\n');
}

/** The version `approve` read and approved, printed with the result. */
function approvedText(d: IntentDetail): string {
  const i = d.intent;
  const current = d.versions.find((v) => v.version === d.version);
  return [
    `approving ${d.key} v${d.version} as read (team ${d.owner}${current ? `, submitted by ${current.submitted_by} at ${current.submitted_at}` : ''}):`,
    `  services:    ${i.services.map((s) => `${s.service}/${s.flag}`).join(', ')}`,
    `  exposure:    ${i.exposure}%${i.layer ? ` in layer ${i.layer}` : ''}`,
    ...(i.data_access.length > 0 ? [`  data access: ${i.data_access.join(', ')}`] : []),
  ].join('\n');
}

/** 409 version_changed, said plainly: what was approved (nothing), what is current, what to do. */
function versionChanged(key: string, err: ApiError, pinned: number): CliError {
  const p: Record<string, unknown> = err.problem ?? {};
  const current = typeof p['current_version'] === 'number' ? p['current_version'] : undefined;
  const lines = [
    `${key} changed: you were approving version ${pinned}, but ${current !== undefined ? `version ${current}` : 'another version'} is current now. Nothing was approved (version_changed).`,
    `  read ${current !== undefined ? `version ${current}` : 'it'}: switchyard intent get ${key}`,
    `  then, if it is acceptable: switchyard approve ${key}${current !== undefined ? ` --pin-version ${current}` : ''}`,
  ];
  return new CliError(ExitCode.apiError, lines.join('\n'));
}

export function registerIntentCommands(program: Command, run: Runner): void {
  const intent = program.command('intent').description('submit, change, evaluate and read experiment intents');
  const fileOption = () => new Option('-f, --file <file>', 'the intent, YAML or JSON (- reads stdin)').makeOptionMandatory();

  intent
    .command('submit')
    .description('submit a new intent as version 1 (POST /v1/intents); exit 3 when denied')
    .addOption(fileOption())
    .action(
      run<{ file: string }>(async (ctx, _args, o) => {
        const r = await ctx.client().request<SubmitAnswer>('POST', '/v1/intents', { json: readObject(o.file, 'intent') });
        ctx.output(r, (r) => explainResult(r, false));
        return decisionExit(r);
      }),
    );

  intent
    .command('update')
    .description("submit the next version of an existing intent (PUT /v1/intents/{key}, key from the file); exit 3 when denied")
    .addOption(fileOption())
    .action(
      run<{ file: string }>(async (ctx, _args, o) => {
        const body = readObject(o.file, 'intent');
        const r = await ctx.client().request<SubmitAnswer>('PUT', pathOf('/v1/intents/{key}', { key: intentKey(body, o.file) }), { json: body });
        ctx.output(r, (r) => explainResult(r, false));
        return decisionExit(r);
      }),
    );

  intent
    .command('evaluate')
    .description('dry run: the decision the intent would get now, explained; nothing is stored; exit 3 when denied')
    .addOption(fileOption())
    .action(
      run<{ file: string }>(async (ctx, _args, o) => {
        const r = await ctx.client().request<EvaluateAnswer>('POST', '/v1/intents:evaluate', { json: readObject(o.file, 'intent') });
        ctx.output(r, (r) => explainResult(r, true));
        return decisionExit(r);
      }),
    );

  intent
    .command('get')
    .description('an intent: current version, decision, approvals, versions')
    .argument('<key>', 'the intent key')
    .action(
      run(async (ctx, [key]) => {
        const d = await ctx.client().get<IntentDetail>(pathOf('/v1/intents/{key}', { key: String(key) }));
        ctx.output(d, (d) => detailText(d));
      }),
    );

  intent
    .command('list')
    .description('intents, by key')
    .option('--owner <team>', 'only this team')
    .addOption(new Option('--state <state>', 'only experiments in this state').choices(STATES))
    .option('--limit <n>', 'at most n (1-500)', positiveInt)
    .option('--cursor <key>', 'continue after this key (printed under a full page)')
    .action(
      run<{ owner?: string; state?: string; limit?: number; cursor?: string }>(async (ctx, _args, o) => {
        const l = await ctx.client().get<IntentList>('/v1/intents', { owner: o.owner, state: o.state, limit: o.limit, cursor: o.cursor });
        ctx.output(l, (l) => listText(l));
      }),
    );

  program
    .command('approve')
    .description(
      "approve an intent's current version with this token's approval roles. The approval is pinned: it approves the version " +
        'printed (or the one --pin-version names), and is refused (exit 2, nothing approved) if another version is current by then',
    )
    .argument('<key>', 'the intent key')
    .option('--comment <text>', 'why, for the audit trail')
    .option('--pin-version <n>', 'approve version n, as read elsewhere (the console, intent get); default: the current version, shown first', positiveInt)
    .action(
      run<{ comment?: string; pinVersion?: number }>(async (ctx, [key], o) => {
        const k = String(key);
        const comment = o.comment !== undefined ? { comment: o.comment } : {};
        let request: { json: Record<string, unknown>; headers?: Record<string, string> };
        let read: IntentDetail | undefined;
        if (o.pinVersion !== undefined) {
          request = { json: { ...comment, version: o.pinVersion } };
        } else {
          // What is printed is what is approved: the version number and its ETag both go with the
          // approval, so a version submitted after this read is never the one approved.
          const got = await ctx.client().fetchJson<IntentDetail>('GET', pathOf('/v1/intents/{key}', { key: k }));
          read = got.body;
          const etag = got.headers.get('etag');
          request = { json: { ...comment, version: read.version }, ...(etag ? { headers: { 'if-match': etag } } : {}) };
        }
        let r: ApprovalResult;
        try {
          r = await ctx.client().request<ApprovalResult>('POST', pathOf('/v1/intents/{key}/approvals', { key: k }), request);
        } catch (err) {
          if (err instanceof ApiError && err.problem?.code === 'version_changed' && !ctx.json) throw versionChanged(k, err, request.json['version'] as number);
          throw err;
        }
        ctx.output(r, () => (read ? `${approvedText(read)}\n${approvalResultText(r)}` : approvalResultText(r)));
      }),
    );

  intent
    .command('analysis')
    .description("the sample-ratio check and each guardrail's change against control, with its interval (GET /v1/intents/{key}/analysis)")
    .argument('<key>', 'the intent key')
    .action(
      run(async (ctx, [key]) => {
        const a = await ctx.client().get<Analysis>(pathOf('/v1/intents/{key}/analysis', { key: String(key) }));
        ctx.output(a, (a) => analysisText(a));
      }),
    );

  intent
    .command('advance')
    .description('move a running rollout to its next stage; refused (exit 2) before the hold is over or while a guardrail regressed')
    .argument('<key>', 'the intent key')
    .option('--reason <text>', 'why, for the audit trail')
    .action(
      run<{ reason?: string }>(async (ctx, [key], o) => {
        const d = await ctx.client().request<ActionAnswer>('POST', pathOf('/v1/intents/{key}/actions', { key: String(key) }), {
          json: { action: 'advance', ...(o.reason !== undefined ? { reason: o.reason } : {}) },
        });
        ctx.output(d, (d) => `${d.key}: advanced; ${d.rollout ? rolloutText(d.rollout) : `state ${d.state}`}`);
      }),
    );

  intent
    .command('ship')
    .description('end the experiment by serving one variant to every unit: a new version the policy judges (approvals as for the intent); exit 3 when denied')
    .argument('<key>', 'the intent key')
    .requiredOption('--variant <key>', 'the variant to ship')
    .requiredOption('--reason <text>', 'why, for the audit trail (required)')
    .action(
      run<{ variant: string; reason: string }>(async (ctx, [key], o) => {
        const r = await ctx.client().request<ShipAnswer>('POST', pathOf('/v1/intents/{key}/actions', { key: String(key) }), {
          json: { action: 'ship', variant: o.variant, reason: o.reason },
        });
        ctx.output(r, (r) => explainResult(r, false));
        return decisionExit(r);
      }),
    );

  const actions = {
    pause: 'disable the flags: everyone gets the default variant',
    resume: 'enable the flags of a paused experiment again',
    rollback: 'return to the previous approved version (or remove the flags)',
    complete: 'end the experiment and remove its flags (final)',
  } as const;
  for (const [action, what] of Object.entries(actions)) {
    program
      .command(action)
      .description(what)
      .argument('<key>', 'the intent key')
      .requiredOption('--reason <text>', 'why, for the audit trail (required)')
      .action(
        run<{ reason: string }>(async (ctx, [key], o) => {
          const d = await ctx.client().request<ActionAnswer>('POST', pathOf('/v1/intents/{key}/actions', { key: String(key) }), {
            json: { action, reason: o.reason },
          });
          ctx.output(d, (d) => `${d.key}: ${action} done; state ${d.state}, active version ${d.active_version ?? 'none'}`);
        }),
      );
  }
}

