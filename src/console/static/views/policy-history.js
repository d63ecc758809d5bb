// @ts-check
/**
 * The policy revisions that were active, when and by whom: the audit trail's `policy_activated`
 * events (GET /v1/audit?type=policy_activated), newest first, each linked to its event.
 */
import { api } from '../api.js';
import { h } from '../dom.js';
import { shortHash, table, time } from '../format.js';
import { auditEventLink } from '../links.js';

/** @typedef {import('../../types.js').AuditEvent} AuditEvent */
/** @typedef {import('../../types.js').AuditPage} AuditPage */
/** @typedef {import('../../types.js').PolicyActivatedData} PolicyActivatedData */

/** At most this many pages of 500 activations are read for the history. */
const MAX_PAGES = 10;

/** Every `policy_activated` event, oldest first (a bounded number of pages). @returns {Promise<{ events: AuditEvent[], more: boolean }>} */
export async function loadActivations() {
  /** @type {AuditEvent[]} */
  const events = [];
  /** @type {string | null} */
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const q = new URLSearchParams({ type: 'policy_activated', limit: '500' });
    if (cursor) q.set('cursor', cursor);
    /** @type {AuditPage} */
    const page = await api('GET', `/v1/audit?${q}`);
    events.push(...page.events);
    cursor = page.next_cursor;
    if (!cursor) return { events, more: false };
  }
  return { events, more: true };
}

/** @param {import('../../types.js').PolicyInfo} info */
export async function revisionHistory(info) {
  const { events, more } = await loadActivations();
  const rows = [...events].reverse().map((e, i) => {
    // An event's data is declared a record; a policy_activated event's is the domain's PolicyActivatedData.
    const d = /** @type {Partial<PolicyActivatedData>} */ (e.data);
    const active = i === 0 && d.revision === info.revision;
    const impact = d.impact;
    return h(
      'tr',
      { 'data-revision': d.revision ?? '', class: active ? 'active-revision' : null },
      h('th', { scope: 'row' }, shortHash(d.revision), d.manifest_revision ? h('span', { class: 'meta' }, ` (${d.manifest_revision})`) : null, active ? h('span', { class: 'badge state-running' }, 'active') : null),
      h('td', {}, time(e.at)),
      h('td', {}, e.actor),
      h('td', {}, d.previous ? shortHash(d.previous) : 'none'),
      h('td', {}, impact ? `${impact.evaluated} evaluated, ${impact.changed} changed, ${impact.would_deny} would be denied` : '—'),
      h('td', {}, auditEventLink(e.seq, `event #${e.seq}`)),
    );
  });
  return h(
    'section',
    { 'aria-labelledby': 'history-heading', id: 'revision-history' },
    h('h2', { id: 'history-heading' }, 'Revision history'),
    table('Policy revisions, newest first: who activated each and when', ['Revision', 'Activated', 'By', 'Replaced', 'Impact when published', 'Audit event'], rows, {
      cards: true,
      id: 'history-table',
      empty: 'No policy has been activated.',
    }),
    more ? h('p', { class: 'help' }, `Only the ${events.length} oldest activations are listed; the audit trail (event type policy_activated) has the rest.`) : null,
  );
}
