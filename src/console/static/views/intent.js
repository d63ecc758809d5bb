// @ts-check
/** #/experiments/{key}: one experiment, its decision, its flags, versions and audit, and what the caller may do to it. */
import { api, ApiError, enc, flagsOf, getIntent, liveVersion, loadAudit } from '../api.js';
import { decisionLink } from '../links.js';
import { intentDiff } from '../diff.js';
import { openDialog } from '../dialog.js';
import { h } from '../dom.js';
import { badge, condition, dl, errorBox, humanize, json, labelCells, personKey, shortHash, table, time } from '../format.js';
import { session } from '../session.js';
import { editLink } from './author.js';
import { rolloutSection } from './rollout.js';
import { variantSplit } from './split.js';

/** @typedef {import('../../types.js').IntentDetail} IntentDetail */
/** @typedef {import('../../types.js').AuditPage} AuditPage */
/** @typedef {import('../../types.js').AuditEvent} AuditEvent */
/** @typedef {import('../../types.js').Child} Child */
/** @typedef {import('../api.js').FlagsEntry} FlagsEntry */
/** @typedef {import('../../types.js').IntentSpec} IntentSpec */
/** @typedef {import('../../types.js').Decision} Decision */
/** @typedef {{ version: number, intent: IntentSpec, decision: Decision | null }} Shown */

/**
 * Which version the page is about. GET /v1/intents/{key} answers with the current (latest)
 * version; the live one may be another: a v2 waiting for approval or denied (v1 keeps running), or
 * v2 rolled back from (v1 runs again). The page shows the live version's description, exposure,
 * decision and values, and the newer version as what it is: proposed (side by side with the live
 * one) or rolled back from.
 * @param {IntentDetail} exp
 * @param {Shown | null} live
 */
function versionsOf(exp, live) {
  const current = exp.versions.find((v) => v.version === exp.version);
  const other = live !== null && live.version !== exp.version;
  const rolledBack = other && !!current?.rolled_back_at;
  /** @type {Shown} */
  const shown = live ?? { version: exp.version, intent: exp.intent, decision: exp.decision };
  return { current, shown, live, rolledBack, proposed: other && !rolledBack };
}
/** @typedef {ReturnType<typeof versionsOf>} Versions */

/** The lifecycle actions shown as buttons, in this order, when the server allows them. */
export const ACTIONS = /** @type {const} */ ({
  pause: {
    label: 'Pause',
    help: 'Pausing disables its flags in every service: everyone gets the default variant. Resume turns them back on.',
    done: 'Paused',
  },
  resume: { label: 'Resume', help: 'Resuming turns its flags back on, as they were before the pause.', done: 'Resumed' },
  rollback: {
    label: 'Roll back',
    help: 'Rolling back returns to the previous approved version; with none, its flags are removed and it goes back to draft.',
    done: 'Rolled back',
  },
  complete: {
    label: 'Complete',
    help: 'Completing ends the experiment and removes its flags from every service. This is final.',
    done: 'Completed',
  },
});
/** `complete` on a draft: nothing is live, so it withdraws the intent (the server records it as completed). */
const WITHDRAW = {
  label: 'Withdraw',
  help: 'Withdrawing ends this draft: none of its versions is live, so no flag changes. The server records it as completed, and it takes no further action.',
  done: 'Withdrawn',
};
/** @typedef {keyof typeof ACTIONS} ButtonAction */
const BUTTON_ACTIONS = /** @type {ButtonAction[]} */ (Object.keys(ACTIONS));

/** @type {import('../nav.js').View} */
export async function experimentView(route, stale) {
  const key = route.key ?? '';
  const [exp, audit] = await Promise.all([getIntent(key), loadAudit(key)]);
  if (stale()) return [key, []];
  const live = await liveVersion(exp);
  if (stale()) return [key, []];
  // A rollout's analysis with its points over time (GET …/analysis?history=true); a failure is shown, not fatal.
  const analysis = exp.rollout
    ? await api('GET', `/v1/intents/${enc(key)}/analysis?history=true`).catch((/** @type {unknown} */ error) => ({ error }))
    : null;
  if (stale()) return [key, []];
  const vs = versionsOf(exp, live);
  const services = new Set([...exp.intent.services, ...vs.shown.intent.services].map((s) => s.service));
  const flagDocs = await flagsOf([...services]);
  const rollout = exp.rollout;
  const description = vs.shown.intent.description;
  /** @type {Child[]} */
  const nodes = [
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', key),
    h('h1', {}, exp.key),
    description ? h('p', { class: 'lede' }, description) : null,
    h('p', { class: 'badges' }, 'Status ', badge('status', exp.status), ' · State ', badge('state', exp.state)),
    versionNote(exp, vs),
    editLink(exp),
    summarySection(exp, vs),
    vs.proposed && vs.live ? compareSection(exp, vs.live) : null,
    rollout ? rolloutSection({ ...exp, rollout }, analysis) : null,
    actionsSection(exp),
    vs.proposed || !vs.live ? decisionSection(exp, exp.decision, exp.version, true) : decisionSection(exp, vs.shown.decision, vs.shown.version, vs.shown.version === exp.version),
    flagsSection(exp, vs, flagDocs),
    versionsSection(exp),
    auditSection(key, audit),
  ];
  return [exp.key, nodes];
}

/** What the newer version is, when it is not the live one. @param {IntentDetail} exp @param {Versions} vs */
function versionNote(exp, vs) {
  if (!vs.live || vs.live.version === exp.version) return null;
  const l = `v${vs.live.version}`;
  const c = `v${exp.version}`;
  if (vs.rolledBack) {
    return h('p', { class: 'version-note', id: 'version-note' }, `${c}: rolled back from, `, time(vs.current?.rolled_back_at), `. ${l} is live again; this page shows ${l}.`);
  }
  const what = exp.status === 'pending_approval' ? `waiting for approval; ${l} stays live until it is approved` : exp.status === 'denied' ? `denied; ${l} stays live` : `${humanize(exp.status)}; ${l} is live`;
  return h('p', { class: 'version-note', id: 'version-note' }, `${c}: ${what}. Both are compared below.`);
}

/** @param {IntentDetail} exp @param {Versions} vs */
function summarySection(exp, vs) {
  const i = vs.shown.intent;
  const isLive = vs.live !== null && vs.shown.version === vs.live.version;
  return h(
    'section',
    { 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, `Intent: v${vs.shown.version}${isLive ? ', live' : ''}`),
    dl([
      ['Owner team', exp.owner],
      ['Current version', `v${exp.version}`],
      ['Live version', exp.active_version === null ? 'none' : `v${exp.active_version}`],
      ['Exposure', h('span', { id: 'summary-exposure' }, `${i.exposure} %`)],
      ['Unit', i.unit ?? 'user_id'],
      ['Layer', i.layer ?? 'none'],
      ['Data access', i.data_access?.length ? i.data_access.join(', ') : 'none'],
      ['Audience', i.audience?.length ? i.audience.map(condition).join(' and ') : 'everyone'],
      ['Variants', i.variants.map((v) => `${v.key} (weight ${v.weight})`).join(', ')],
      ['Split', variantSplit(i.variants, 'summary-split')],
      ['Schedule', i.schedule ? [time(i.schedule.start), ' to ', time(i.schedule.end)] : 'none: live as soon as approved'],
    ]),
  );
}

/**
 * The approver's view: the live version and the newer one side by side, field by field, the rows
 * that differ marked in words (not only in colour).
 * @param {IntentDetail} exp @param {Shown} live
 */
function compareSection(exp, live) {
  const rows = intentDiff(live.intent, exp.intent);
  const headers = ['Field', `Live v${live.version}`, `v${exp.version} (${humanize(exp.status)})`, 'Differs'];
  const trs = rows.map((r) =>
    h(
      'tr',
      { class: r.changed ? 'changed' : null, 'data-field': r.field },
      h('th', { scope: 'row' }, r.label),
      h('td', { class: 'before' }, r.before),
      h('td', { class: 'after' }, r.after),
      h('td', { class: 'changed-mark' }, r.changed ? 'changed' : 'same'),
    ),
  );
  const changed = rows.filter((r) => r.changed).map((r) => r.label.toLowerCase());
  return h(
    'section',
    { 'aria-labelledby': 'compare-heading', id: 'compare-section' },
    h('h2', { id: 'compare-heading' }, `Live v${live.version} and v${exp.version} side by side`),
    h('p', { class: 'help', id: 'compare-summary' }, changed.length ? `v${exp.version} changes: ${changed.join(', ')}.` : `v${exp.version} changes none of these fields.`),
    table(`v${live.version} as it is served, and v${exp.version} as it would be`, headers, trs, { cards: true, id: 'compare' }),
  );
}

/**
 * Why an approver sees no Approve button on a version that waits for approval, when it is about
 * them (wording only: whether the button shows is the server's allowed_actions).
 * @param {IntentDetail} exp
 */
function approvalNote(exp) {
  const me = session.me;
  if (!me || exp.status !== 'pending_approval' || (exp.allowed_actions ?? []).includes('approve')) return null;
  const mine = (/** @type {string} */ name) => personKey(name) === personKey(me.name);
  const current = exp.versions.find((v) => v.version === exp.version);
  const owesMyRole = me.role === 'admin' || exp.outstanding_approvals.some((o) => o.missing > 0 && me.approval_roles.includes(o.role));
  if (owesMyRole && current && mine(current.submitted_by)) return `You submitted version ${exp.version}: your approval would not count.`;
  if (exp.approvals.some((a) => mine(a.actor))) return `You have approved version ${exp.version}; it waits for the other approvals.`;
  return null;
}

/** The buttons of the actions the server lists in allowed_actions for this caller. @param {IntentDetail} exp */
function actionsSection(exp) {
  const me = session.me;
  // Declared optional (the domain leaves it out without a caller); over HTTP a token is always the caller.
  const allowed = exp.allowed_actions ?? [];
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  if (allowed.includes('approve')) {
    const owed = exp.outstanding_approvals.filter((o) => o.missing > 0).map((o) => o.role);
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          id: 'approve-button',
          /** @param {MouseEvent} ev */
          onclick: (ev) =>
            openDialog(/** @type {HTMLElement} */ (ev.currentTarget), {
              title: `Approve ${exp.key} v${exp.version}`,
              help: `Your approval fills the roles you hold among those still needed (${owed.join(', ')}).`,
              field: { label: 'Comment (optional)', required: false },
              confirm: 'Approve',
              // The version shown is the version approved: if another was submitted since this page
              // was read, the server refuses (version_changed) rather than approve what was not read.
              /** @returns {Promise<import('../../types.js').ApprovalResult>} */
              run: (comment) =>
                api('POST', `/v1/intents/${enc(exp.key)}/approvals`, { body: comment ? { comment, version: exp.version } : { version: exp.version } }).catch((err) => {
                  if (err instanceof ApiError && err.code === 'version_changed') {
                    const p = err.problem;
                    const current = p && 'current_version' in p ? p['current_version'] : undefined;
                    const now = typeof current === 'number' ? `v${current}` : 'another version';
                    throw new Error(
                      `${exp.key} changed while you were reading it: you were approving v${exp.version}, and ${now} is current now. Nothing was approved. Reload the page to read ${now} before approving it. (version_changed)`,
                    );
                  }
                  throw err;
                }),
              done: (r) => `Approved. ${exp.key} is now ${humanize(r.status)} and ${r.state}.`,
            }),
        },
        'Approve',
      ),
    );
  }
  for (const a of BUTTON_ACTIONS.filter((b) => allowed.includes(b))) {
    // Completing a draft (nothing of it ever went live, or it was rolled back to draft) removes no
    // flag: it withdraws the intent, so it is offered as that, not as the red, final Complete.
    const withdraw = a === 'complete' && exp.state === 'draft';
    const spec = withdraw ? WITHDRAW : ACTIONS[a];
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          id: `action-${a}`,
          class: withdraw ? 'secondary' : a === 'complete' || a === 'rollback' ? 'danger' : a === 'pause' ? 'warning' : null,
          /** @param {MouseEvent} ev */
          onclick: (ev) =>
            openDialog(/** @type {HTMLElement} */ (ev.currentTarget), {
              title: `${spec.label} ${exp.key}`,
              help: spec.help,
              field: { label: 'Reason (required, kept in the audit trail)', required: true },
              confirm: spec.label,
              /** @returns {Promise<IntentDetail>} */
              run: (reason) => api('POST', `/v1/intents/${enc(exp.key)}/actions`, { body: { action: a, reason } }),
              done: (r) => `${spec.done}. ${exp.key} is now ${r.state}.`,
            }),
        },
        spec.label,
      ),
    );
  }
  const note = approvalNote(exp);
  return h(
    'section',
    { 'aria-labelledby': 'actions-heading' },
    h('h2', { id: 'actions-heading', tabindex: '-1' }, 'Actions'),
    buttons.length
      ? h('div', { class: 'buttons', role: 'group', 'aria-label': `Actions on ${exp.key}` }, buttons)
      : h('p', { class: 'empty' }, `No action is open to ${me?.name} (${me?.role}) on this experiment while it is ${exp.state} and ${humanize(exp.status)}.`),
    note ? h('p', { class: 'help' }, note) : null,
  );
}

/**
 * The decision of version `version`; with `approvals`, the approvals of the current version too.
 * @param {IntentDetail} exp @param {Decision | null} d @param {number} version @param {boolean} approvals
 */
function decisionSection(exp, d, version, approvals) {
  if (!d) {
    return h('section', { 'aria-labelledby': 'decision-heading' }, h('h2', { id: 'decision-heading' }, 'Decision'), h('p', {}, 'No decision stored.'));
  }
  const verdict = !d.allow
    ? 'Denied: the policy found violations. A denied version never reaches a flag state.'
    : !approvals
      ? 'Allowed and approved: it is live.'
      : exp.status === 'pending_approval'
      ? 'Allowed, waiting for approval.'
      : 'Allowed.';
  const violations = d.violations.length
    ? h(
        'ul',
        { class: 'violations', id: 'violations' },
        d.violations.map((v) =>
          h(
            'li',
            {},
            h('code', { class: 'code' }, v.code),
            ' ',
            v.message,
            h(
              'span',
              { class: 'meta' },
              ` (policy ${v.policy}${v.service ? `, service ${v.service}` : ''}${v.data_class ? `, data class ${v.data_class}` : ''})`,
            ),
          ),
        ),
      )
    : h('p', {}, 'No violations.');

  const owed = (d.obligations?.approvals ?? []).filter((a) => a.count > 0);
  const outstanding = new Map(exp.outstanding_approvals.map((o) => [o.role, o]));
  const approvalRows = owed.map((o) => {
    const by = exp.approvals.filter((a) => a.roles.includes(o.role));
    const missing = exp.status === 'approved' ? 0 : (outstanding.get(o.role)?.missing ?? Math.max(0, o.count - by.length));
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, o.role),
      h('td', { class: 'num' }, String(o.count)),
      h('td', {}, by.length ? by.map((a, i) => [i ? ', ' : '', a.actor, ' (', time(a.at), ')', a.comment ? `: “${a.comment}”` : '']) : 'nobody yet'),
      h('td', { class: 'num' }, missing ? `${missing} still needed` : 'done'),
    );
  });
  const audit = d.obligations?.audit;
  return h(
    'section',
    { 'aria-labelledby': 'decision-heading' },
    h('h2', { id: 'decision-heading' }, `Decision for v${version}${version === exp.active_version ? ' (live)' : ''}`),
    h('p', { class: `verdict ${d.allow ? 'allow' : 'deny'}`, id: 'verdict' }, verdict),
    dl([
      ['Decision', decisionLink(d.id)],
      ['Policy revision', shortHash(d.policy_revision)],
      ['Exposure limit', d.limits?.max_exposure !== undefined ? `${d.limits.max_exposure} %` : '—'],
      ['Audit level', audit ? `${audit.level}, kept ${audit.retention_days} days` : '—'],
    ]),
    h('h3', {}, 'Violations'),
    violations,
    h('h3', {}, 'Approvals'),
    approvals
      ? table('Approvals the decision asks for', ['Role', 'Needed', 'Approved by', 'Outstanding'], approvalRows, { empty: 'No approval needed.' })
      : h('p', {}, owed.length ? `Given before v${version} went live: ${owed.map((o) => `${o.count} by ${o.role}`).join(', ')}.` : 'No approval needed.'),
  );
}

/**
 * The flags as the services serve them now: state, the version each is served from, and the
 * values and arms of that version (from the flags document itself). A version not served (waiting
 * for approval, denied, or a draft) has its values in a table of their own.
 * @param {IntentDetail} exp @param {Versions} vs @param {FlagsEntry[]} flagDocs
 */
function flagsSection(exp, vs, flagDocs) {
  const rows = vs.shown.intent.services.map(({ service, flag }) => {
    const entry = flagDocs.find((f) => f.service === service);
    /** @type {Child} */
    let state = 'not live';
    let version = '—';
    /** @type {Child} */
    let values = 'not served';
    if (entry?.error) state = `unavailable: ${entry.error instanceof Error ? entry.error.message : String(entry.error)}`;
    else if (entry?.doc) {
      version = `v${entry.doc.version}`;
      const f = entry.doc.flags[flag];
      if (f && f.experiment?.key === exp.key) {
        state = [badge('flag', f.state), ` from v${f.experiment.version}`];
        const weights = new Map(f.allocation?.variants?.buckets ?? []);
        values = Object.entries(f.variants)
          .map(([k, v]) => `${k} = ${json(v)}${weights.size && !weights.get(k) && k !== f.default_variant ? ' (no weight)' : ''}`)
          .join(', ');
      } else if (f) state = `driven by ${f.experiment?.key ?? 'another experiment'}`;
    }
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('a', { href: `#/services?service=${enc(service)}` }, service)),
      h('td', {}, h('code', {}, flag)),
      h('td', {}, state),
      h('td', { class: 'num' }, version),
      h('td', { class: 'served-values' }, values),
    );
  });
  const unserved = exp.version !== exp.active_version && !vs.rolledBack;
  /** @type {Child} */
  let pending = null;
  if (unserved) {
    const headers = ['Service', 'Flag', 'Values'];
    const prow = exp.intent.services.map(({ service, flag }) => {
      const tr = h(
        'tr',
        {},
        h('th', { scope: 'row' }, service),
        h('td', {}, h('code', {}, flag)),
        h('td', {}, exp.intent.variants.map((v) => `${v.key} = ${json(v.overrides && service in v.overrides ? v.overrides[service] : v.value)}`).join(', ')),
      );
      labelCells(tr, headers);
      return tr;
    });
    pending = h(
      'div',
      { id: 'pending-values' },
      h('h3', {}, `Values in v${exp.version} (${humanize(exp.status)}): not served`),
      table(`v${exp.version}'s values, not served${exp.active_version !== null ? `: v${exp.active_version}'s are` : ''}`, headers, prow),
    );
  }
  return h(
    'section',
    { 'aria-labelledby': 'flags-heading' },
    h('h2', { id: 'flags-heading' }, 'Flags it drives'),
    table(null, ['Service', 'Flag', 'State now', 'Service flags version', 'Values served'], rows, { label: `Flags of ${exp.key} as the services serve them` }),
    pending,
  );
}

/** @param {IntentDetail} exp */
function versionsSection(exp) {
  const rows = [...exp.versions].reverse().map((v) => {
    /** @type {Child[]} */
    const notes = [];
    if (v.version === exp.active_version) notes.push('live');
    if (v.version === exp.version && v.version !== exp.active_version) notes.push('current');
    if (v.rolled_back_at) notes.push(['rolled back from, ', time(v.rolled_back_at)]);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, `v${v.version}`),
      h('td', {}, badge('status', v.status)),
      h('td', {}, v.submitted_by),
      h('td', {}, time(v.submitted_at)),
      h('td', {}, decisionLink(v.decision_id)),
      h('td', {}, v.slice ? `${v.slice.start}–${v.slice.end}` : '—'),
      h('td', {}, notes.length ? notes.flatMap((n, i) => (i ? ['; ', n] : [n])) : ''),
    );
  });
  return h(
    'section',
    { 'aria-labelledby': 'versions-heading' },
    h('h2', { id: 'versions-heading' }, 'Versions'),
    table(null, ['Version', 'Status', 'Submitted by', 'Submitted at', 'Decision', 'Layer slice', 'Notes'], rows, { label: `Versions of ${exp.key}` }),
  );
}

/** @param {AuditEvent} e */
function auditDetails(e) {
  /** @type {Record<string, any>} */
  const d = e.data ?? {};
  const parts = [];
  if (d['from_state'] && d['to_state']) parts.push(`${d['from_state']} → ${d['to_state']}`);
  if (d['status']) parts.push(`status ${humanize(d['status'])}`);
  if (Array.isArray(d['violations']) && d['violations'].length) parts.push(`violations ${d['violations'].join(', ')}`);
  if (Array.isArray(d['roles']) && d['roles'].length) parts.push(`as ${d['roles'].join(', ')}`);
  if (d['reason']) parts.push(`reason: “${d['reason']}”`);
  if (d['comment']) parts.push(`comment: “${d['comment']}”`);
  if (d['flags_versions'] && Object.keys(d['flags_versions']).length) {
    parts.push(`flags ${Object.entries(d['flags_versions']).map(([s, v]) => `${s} v${v}`).join(', ')}`);
  }
  return parts.join(' · ');
}

/** @param {string} key @param {AuditPage} first */
function auditSection(key, first) {
  const list = h('ol', { class: 'timeline', id: 'audit-timeline' });
  /** @param {AuditEvent[]} items */
  const add = (items) => {
    for (const e of items) {
      const details = auditDetails(e);
      list.append(
        h(
          'li',
          { 'data-type': e.type },
          time(e.at),
          ' ',
          h('strong', {}, humanize(e.type)),
          ` by ${e.actor}`,
          e.version !== null ? ` (v${e.version})` : '',
          details ? h('span', { class: 'meta' }, ` — ${details}`) : null,
          typeof e.data?.['decision_id'] === 'string' && e.data['decision_id'] ? [' ', decisionLink(e.data['decision_id'])] : null,
        ),
      );
    }
  };
  add(first.events);
  let cursor = first.next_cursor;
  const more = h('button', { type: 'button', class: 'secondary', hidden: !cursor }, 'Load more events');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await loadAudit(key, cursor);
      add(page.events);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      more.after(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });
  return h(
    'section',
    { 'aria-labelledby': 'audit-heading' },
    h('h2', { id: 'audit-heading' }, 'Audit timeline'),
    first.events.length ? list : h('p', { class: 'empty' }, 'No events.'),
    more,
  );
}
