// @ts-check
/**
 * #/decisions/{id}: one stored decision (GET /v1/decisions/{id}): its result, the input the policy
 * judged (the intent, the caller, the clock, the other live experiments it saw), and a Replay
 * button (POST /v1/decisions/{id}:replay) that says whether the policy gives the same answer again.
 */
import { api, enc, getDecision } from '../api.js';
import { h } from '../dom.js';
import { badge, condition, dl, errorBox, instant, json, shortHash, table, time } from '../format.js';

/** @typedef {import('../../types.js').DecisionRecord} DecisionRecord */
/** @typedef {import('../../types.js').DecisionInput} DecisionInput */
/** @typedef {import('../../types.js').ReplayResult} ReplayResult */
/** @typedef {import('../../types.js').PolicyInfo} PolicyInfo */
/** @typedef {import('../../types.js').Child} Child */

/**
 * The clock in the stored input, exactly: it is an input the policy judged (schedules are compared
 * with it, and Replay evaluates it again), so "4 days ago" would hide what the policy saw.
 * @param {number | undefined} ms
 */
const msInstant = (ms) => (typeof ms === 'number' && Number.isFinite(ms) ? instant(new Date(ms).toISOString()) : '—');

/** @type {import('../nav.js').View} */
export async function decisionView(route, stale) {
  const id = route.key ?? '';
  /** @type {[DecisionRecord, PolicyInfo]} */
  const [d, policy] = await Promise.all([getDecision(id), api('GET', '/v1/policy')]);
  if (stale()) return ['Decision', []];
  const input = /** @type {DecisionInput} */ (d.input);
  const title = `Decision ${d.id}`;
  return [
    title,
    [
      h(
        'p',
        { class: 'breadcrumb' },
        d.intent ? [h('a', { href: `#/experiments/${enc(d.intent.key)}` }, d.intent.key), ` · v${d.intent.version}`] : 'A dry run (stored by no version)',
      ),
      h('h1', { class: 'wrap' }, 'Decision ', h('code', {}, d.id)),
      h(
        'p',
        { class: `verdict ${d.allow ? 'allow' : 'deny'}`, id: 'decision-verdict' },
        d.allow ? (d.status === 'pending_approval' ? 'Allowed, asking for approval.' : 'Allowed.') : 'Denied: the policy found violations.',
      ),
      resultSection(d, policy),
      inputSection(input),
      replaySection(d, policy),
    ],
  ];
}

/** @param {DecisionRecord} d @param {PolicyInfo} policy */
function resultSection(d, policy) {
  const owed = (d.obligations?.approvals ?? []).filter((a) => a.count > 0);
  const audit = d.obligations?.audit;
  return h(
    'section',
    { 'aria-labelledby': 'result-heading' },
    h('h2', { id: 'result-heading' }, 'Result'),
    dl([
      ['Status', badge('status', d.status)],
      ['Experiment', d.intent ? h('a', { href: `#/experiments/${enc(d.intent.key)}` }, `${d.intent.key} v${d.intent.version}`) : '—'],
      ['Decided', [time(d.at), ` for ${d.actor}`]],
      ['Policy revision', [shortHash(d.policy_revision), d.policy_revision === policy.revision ? ' (active)' : ' (not the active revision)']],
      ['Approvals asked', owed.length ? owed.map((a, i) => [i ? ', ' : '', `${a.count} × ${a.role}`]) : 'none'],
      ['Audit level', audit ? `${audit.level}, kept ${audit.retention_days} days` : '—'],
      ['Exposure limit', d.limits?.max_exposure !== undefined ? `${d.limits.max_exposure} %` : '—'],
    ]),
    h('h3', {}, 'Violations'),
    d.violations.length
      ? h(
          'ul',
          { class: 'violations', id: 'decision-violations' },
          d.violations.map((v) =>
            h('li', {}, h('code', { class: 'code' }, v.code), ' ', v.message, h('span', { class: 'meta' }, ` (policy ${v.policy}${v.service ? `, service ${v.service}` : ''}${v.data_class ? `, data class ${v.data_class}` : ''})`)),
          ),
        )
      : h('p', {}, 'No violations.'),
  );
}

/** @param {DecisionInput} input */
function inputSection(input) {
  const it = input.intent;
  const live = input.live;
  const claims = (live?.flags ?? []).map((c) =>
    h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(c.key)}` }, c.key)), h('td', {}, `v${c.version}`), h('td', {}, c.status), h('td', {}, `${c.service} / ${c.flag}`)),
  );
  const room = live?.layer_room;
  return h(
    'section',
    { 'aria-labelledby': 'input-heading', id: 'decision-input' },
    h('h2', { id: 'input-heading' }, 'Input the policy judged'),
    h('h3', {}, 'The intent'),
    it
      ? dl([
          ['Key', h('code', {}, it.key)],
          ['Owner team', it.owner],
          ['Description', it.description ?? '—'],
          ['Services', it.services.map((s, i) => [i ? ', ' : '', `${s.service} / ${s.flag}`])],
          ['Variants', it.variants.map((v, i) => [i ? ', ' : '', `${v.key} (${v.weight}) = ${json(v.value)}`])],
          ['Exposure', `${it.exposure} %`],
          ['Audience', it.audience?.length ? it.audience.map((c, i) => [i ? '; ' : '', condition(c)]) : 'everyone'],
          ['Layer', it.layer ?? '—'],
          ['Data access', it.data_access?.length ? it.data_access.join(', ') : 'none'],
          ['Schedule', it.schedule ? [it.schedule.start ? instant(it.schedule.start) : 'now', ' → ', it.schedule.end ? instant(it.schedule.end) : 'no end'] : 'none'],
          ['Rollout', it.rollout ? it.rollout.stages.map((s, i) => [i ? ' → ' : '', `${s.exposure} %`]) : 'none'],
          input.ship ? ['Ship', `variant ${input.ship} to every unit`] : null,
        ])
      : h('p', {}, 'No intent in the stored input.'),
    h('h3', {}, 'The context it saw'),
    dl([
      ['Submitted by', input.actor ? `${input.actor.name} (${input.actor.role}${input.actor.team ? `, team ${input.actor.team}` : ''})` : '—'],
      ['Clock', msInstant(input.now_ms)],
      [
        'Layer room',
        room
          ? `layer ${room.layer}: ${room.reserved} of ${room.total} buckets held by others, ${room.unplaced} asked and not placed, largest free range ${room.largest_free}`
          : 'no layer',
      ],
    ]),
    table('Other live experiments on the same service and flag', ['Experiment', 'Version', 'Status', 'Service / flag'], claims, {
      cards: true,
      id: 'decision-claims',
      empty: 'No other live experiment held its flags.',
    }),
    h('details', { class: 'raw' }, h('summary', {}, 'The input as JSON'), h('pre', { class: 'json', tabindex: '0', 'aria-label': 'The input as JSON' }, JSON.stringify(input, null, 2))),
  );
}

/** @param {DecisionRecord} d @param {PolicyInfo} policy */
function replaySection(d, policy) {
  const out = h('div', { id: 'replay-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'replay-button', class: 'secondary' }, 'Replay');
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.replaceChildren();
    try {
      /** @type {ReplayResult} */
      const r = await api('POST', `/v1/decisions/${enc(d.id)}:replay`);
      const active = r.policy_revision === policy.revision;
      out.append(
        h(
          'p',
          { class: `verdict ${r.matches ? 'allow' : 'deny'}`, id: 'replay-verdict' },
          r.matches ? 'Matches: ' : 'Does not match: ',
          r.matches ? 'the policy gives the same decision again' : 'the policy now gives another decision',
          ' under revision ',
          shortHash(r.policy_revision),
          active ? ' (the active revision).' : ' (the revision that made it; not the active one).',
        ),
      );
      if (!r.matches) {
        out.append(
          table('The stored decision beside the replayed one', ['Stored', 'Replayed'], [h('tr', {}, h('td', {}, h('pre', { class: 'json' }, JSON.stringify(r.original, null, 2))), h('td', {}, h('pre', { class: 'json' }, JSON.stringify(r.replayed, null, 2))))], { id: 'replay-compare' }),
        );
      }
    } catch (err) {
      out.append(errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    'section',
    { 'aria-labelledby': 'replay-heading' },
    h('h2', { id: 'replay-heading' }, 'Replay'),
    h('p', { class: 'help' }, 'Evaluates the stored input again under the revision that made the decision, loaded from the database, and compares the answers.'),
    h('div', { class: 'buttons' }, button),
    out,
  );
}
