// @ts-check
import { api, enc } from '../api.js';
import { announce, h } from '../dom.js';
import { badge, errorBox, time } from '../format.js';
import { go } from '../nav.js';

/** @typedef {import('../../types.js').IntentList} IntentList */

/** The states the filter offers (archived intents are listed only when asked for by name). */
const STATES = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed'];

/** #/experiments: the intents, a page at a time, filtered by state and owner team. @type {import('../nav.js').View} */
export async function experimentsView(route, stale) {
  const asked = route.query.get('state') ?? '';
  const state = STATES.includes(asked) ? asked : '';
  const owner = route.query.get('owner') ?? '';
  // `limit` (page size) may come from the URL too: #/experiments?limit=20.
  const limitText = route.query.get('limit') ?? '';
  const limit = /^[1-9]\d{0,2}$/.test(limitText) ? Math.min(500, Number(limitText)) : 100;
  const params = new URLSearchParams({ limit: String(limit) });
  if (state) params.set('state', state);
  if (owner) params.set('owner', owner);
  /** @type {IntentList} */
  const first = await api('GET', `/v1/intents?${params}`);
  if (stale()) return ['Experiments', []];

  const tbody = h('tbody', {});
  /** @param {IntentList['items']} items */
  const addRows = (items) => {
    for (const it of items) {
      const live = it.active_version !== null && it.active_version !== it.version ? ` (v${it.active_version} live)` : '';
      tbody.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(it.key)}` }, it.key)),
          h('td', {}, it.owner),
          h('td', {}, badge('status', it.status)),
          h('td', {}, badge('state', it.state)),
          h('td', { class: 'num' }, `v${it.version}${live}`),
          h('td', { class: 'num' }, `${it.exposure} %`),
          h('td', {}, [...new Set(it.services.map((s) => s.service))].join(', ')),
          h('td', {}, time(it.updated_at)),
        ),
      );
    }
  };
  addRows(first.items);

  const more = h('button', { type: 'button', class: 'secondary', hidden: !first.next_cursor }, 'Load more');
  let cursor = first.next_cursor;
  more.addEventListener('click', async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      /** @type {IntentList} */
      const page = await api('GET', `/v1/intents?${params}&cursor=${enc(cursor)}`);
      addRows(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      announce(`${page.items.length} more experiments loaded`);
    } catch (err) {
      more.after(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });

  const stateSelect = h(
    'select',
    { id: 'filter-state', name: 'state' },
    h('option', { value: '' }, 'any'),
    STATES.map((s) => h('option', { value: s, selected: s === state }, s)),
  );
  const ownerInput = h('input', { id: 'filter-owner', name: 'owner', type: 'text', value: owner, autocomplete: 'off' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter experiments' },
    h('div', { class: 'field inline' }, h('label', { for: 'filter-state' }, 'State'), stateSelect),
    h('div', { class: 'field inline' }, h('label', { for: 'filter-owner' }, 'Owner team'), ownerInput),
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (stateSelect.value) q.set('state', stateSelect.value);
    if (ownerInput.value.trim()) q.set('owner', ownerInput.value.trim());
    go(`#/experiments${q.size ? `?${q}` : ''}`);
  });

  const list =
    first.items.length === 0
      ? h('p', { class: 'empty' }, state || owner ? 'No experiment matches these filters.' : 'No experiments yet. Submit one with POST /v1/intents.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'experiments-table' },
            h('caption', {}, 'Experiments by key, with the status of their current version and the experiment state'),
            h(
              'thead',
              {},
              h('tr', {}, ['Key', 'Owner', 'Status', 'State', 'Version', 'Exposure', 'Services', 'Updated'].map((t) => h('th', { scope: 'col' }, t))),
            ),
            tbody,
          ),
        );
  return ['Experiments', [h('h1', {}, 'Experiments'), filters, list, more]];
}
