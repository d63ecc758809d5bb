// @ts-check
/**
 * #/audit: the audit trail across experiments (GET /v1/audit), filtered by experiment, actor and
 * event type, a page at a time, with the hash chain's verdict (GET /v1/audit/verify) at the top.
 * `#/audit?at=N` opens the trail at event N and marks it (the revision history links there).
 */
import { api, enc } from '../api.js';
import { h } from '../dom.js';
import { humanize, shortHash, table, time } from '../format.js';
import { decisionLink } from '../links.js';
import { go } from '../nav.js';

/** @typedef {import('../../types.js').AuditEvent} AuditEvent */
/** @typedef {import('../../types.js').AuditPage} AuditPage */
/** @typedef {import('../../types.js').ChainVerification} ChainVerification */
/** @typedef {import('../../types.js').Child} Child */

/** The event types the server writes (src/audit/audit-log.ts AuditEventType), for the filter. */
export const EVENT_TYPES = [
  'submitted',
  'decided',
  'approved',
  'started',
  'paused',
  'resumed',
  'rolled_back',
  'completed',
  'expired',
  'archived',
  'advanced',
  'shipped',
  'guardrail_tripped',
  'flags_changed',
  'policy_activated',
  'token_created',
  'token_revoked',
];

const PAGE_SIZES = ['25', '50', '100', '500'];
const SEQ = /^[1-9]\d{0,15}$/;

/** @type {import('../nav.js').View} */
export async function auditView(route, stale) {
  const q = route.query;
  const experiment = (q.get('experiment') ?? '').trim();
  const actor = (q.get('actor') ?? '').trim();
  const type = q.get('type') ?? '';
  const limit = PAGE_SIZES.includes(q.get('limit') ?? '') ? /** @type {string} */ (q.get('limit')) : '50';
  const at = SEQ.test(q.get('at') ?? '') ? Number(q.get('at')) : null;
  const cursorText = q.get('cursor') ?? '';
  // Opening at event N: the page that starts right after N - 1.
  const cursor = at !== null ? String(at - 1) : /^\d{1,16}$/.test(cursorText) ? cursorText : null;

  const params = new URLSearchParams({ limit });
  if (experiment) params.set('experiment', experiment);
  if (actor) params.set('actor', actor);
  if (type) params.set('type', type);
  if (cursor && cursor !== '0') params.set('cursor', cursor);
  /** @type {[AuditPage, ChainVerification]} */
  const [page, chain] = await Promise.all([api('GET', `/v1/audit?${params}`), api('GET', '/v1/audit/verify')]);
  if (stale()) return ['Audit', []];

  /** @param {Record<string, string>} changes */
  const link = (changes) => {
    const next = new URLSearchParams();
    if (experiment) next.set('experiment', experiment);
    if (actor) next.set('actor', actor);
    if (type) next.set('type', type);
    if (limit !== '50') next.set('limit', limit);
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    return `#/audit${next.size ? `?${next}` : ''}`;
  };

  const rows = page.events.map((e) => eventRow(e, e.seq === at));
  const filtered = !!(experiment || actor || type);
  return [
    'Audit',
    [
      h('h1', {}, 'Audit trail'),
      chainVerdict(chain),
      filterForm({ experiment, actor, type, limit }),
      table(
        filtered ? 'Events matching the filters, oldest first' : 'Every event, oldest first',
        ['#', 'Time', 'Event', 'Experiment', 'Actor', 'Details', 'Hash'],
        rows,
        {
          cards: true,
          id: 'audit-table',
          label: 'Audit events',
          empty: filtered ? 'No event matches these filters.' : cursor ? 'No events after this one.' : 'No events yet.',
        },
      ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Audit pages' },
        cursor ? h('a', { href: link({}), id: 'audit-first' }, 'First page') : null,
        page.next_cursor ? h('a', { href: link({ cursor: page.next_cursor }), id: 'audit-next', rel: 'next' }, 'Next page') : null,
      ),
    ],
  ];
}

/** The chain check, first thing on the page. @param {ChainVerification} c */
function chainVerdict(c) {
  if (c.ok) {
    return h(
      'p',
      { class: 'verdict allow', id: 'chain-verdict', role: 'status' },
      `Chain intact: all ${c.events} event${c.events === 1 ? '' : 's'} verified, each hash over its content and the one before. Head `,
      shortHash(c.head),
      '.',
    );
  }
  const b = c.broken_at;
  return h(
    'p',
    { class: 'verdict deny', id: 'chain-verdict', role: 'alert' },
    b ? [`Chain broken at event #${b.seq} (`, h('code', {}, b.id), `): ${b.reason}. The ${c.events} events before it verify.`] : 'Chain broken.',
    b ? [' ', h('a', { href: `#/audit?at=${b.seq}` }, `Open event #${b.seq}`)] : null,
  );
}

/** @param {{ experiment: string, actor: string, type: string, limit: string }} f */
function filterForm(f) {
  const exp = h('input', { id: 'audit-experiment', name: 'experiment', type: 'text', value: f.experiment, autocomplete: 'off' });
  const who = h('input', { id: 'audit-actor', name: 'actor', type: 'text', value: f.actor, autocomplete: 'off' });
  const type = h(
    'select',
    { id: 'audit-type', name: 'type' },
    h('option', { value: '' }, 'any'),
    EVENT_TYPES.map((t) => h('option', { value: t, selected: t === f.type }, humanize(t))),
    f.type && !EVENT_TYPES.includes(f.type) ? h('option', { value: f.type, selected: true }, f.type) : null,
  );
  const size = h('select', { id: 'audit-limit', name: 'limit' }, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === f.limit }, n)));
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter the audit trail' },
    h('div', { class: 'field inline' }, h('label', { for: 'audit-experiment' }, 'Experiment key'), exp),
    h('div', { class: 'field inline' }, h('label', { for: 'audit-actor' }, 'Actor'), who),
    h('div', { class: 'field inline' }, h('label', { for: 'audit-type' }, 'Event type'), type),
    h('div', { class: 'field inline' }, h('label', { for: 'audit-limit' }, 'Per page'), size),
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (exp.value.trim()) q.set('experiment', exp.value.trim());
    if (who.value.trim()) q.set('actor', who.value.trim());
    if (type.value) q.set('type', type.value);
    if (size.value !== '50') q.set('limit', size.value);
    go(`#/audit${q.size ? `?${q}` : ''}`);
  });
  return form;
}

/** What an event's data says, in words, with its decision linked. @param {AuditEvent} e @returns {Child[]} */
export function eventDetails(e) {
  /** @type {Record<string, any>} */
  const d = e.data ?? {};
  /** @type {Child[]} */
  const parts = [];
  const add = (/** @type {Child} */ p) => parts.push(parts.length ? ' · ' : '', p);
  if (d['from_state'] && d['to_state']) add(`${d['from_state']} → ${d['to_state']}`);
  if (typeof d['status'] === 'string') add(`status ${humanize(d['status'])}`);
  if (Array.isArray(d['violations']) && d['violations'].length) add(`violations ${d['violations'].join(', ')}`);
  if (Array.isArray(d['roles']) && d['roles'].length) add(`as ${d['roles'].join(', ')}`);
  if (typeof d['reason'] === 'string' && d['reason']) add(`reason: “${d['reason']}”`);
  if (typeof d['comment'] === 'string' && d['comment']) add(`comment: “${d['comment']}”`);
  if (e.type === 'policy_activated') {
    add(['revision ', shortHash(d['revision']), d['previous'] ? [' (was ', shortHash(d['previous']), ')'] : '']);
  }
  if (typeof d['decision_id'] === 'string' && d['decision_id']) add(['decision ', decisionLink(d['decision_id'])]);
  return parts;
}

/** @param {AuditEvent} e @param {boolean} marked */
function eventRow(e, marked) {
  const details = eventDetails(e);
  return h(
    'tr',
    { id: `event-${e.seq}`, 'data-seq': e.seq, 'data-type': e.type, class: marked ? 'marked' : null, 'aria-current': marked ? 'true' : null },
    h('th', { scope: 'row', class: 'num' }, `#${e.seq}`),
    h('td', {}, time(e.at)),
    h('td', {}, h('strong', {}, humanize(e.type))),
    h('td', {}, e.experiment ? [h('a', { href: `#/experiments/${enc(e.experiment)}` }, e.experiment), e.version !== null ? ` v${e.version}` : ''] : '—'),
    h('td', {}, e.actor),
    h('td', { class: 'details' }, details.length ? details : '—'),
    h('td', {}, shortHash(e.hash)),
  );
}
