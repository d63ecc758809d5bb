// @ts-check
import { api, enc, getIntent, liveVersion } from '../api.js';
import { openDialog } from '../dialog.js';
import { announce, h, main } from '../dom.js';
import { badge, humanize, labelCells, scrollRegion, time } from '../format.js';
import { go } from '../nav.js';
import { newExperimentLink } from './author.js';
import { session } from '../session.js';
import { listQuery, matches, sortRows, stateCounts } from './list-model.js';
import { ACTIONS } from './intent.js';

/** @typedef {import('../../types.js').IntentList} IntentList */
/** @typedef {import('../../types.js').IntentDetail} IntentDetail */
/** @typedef {IntentList['items'][number]} Item */
/** @typedef {Item & { served: number | null }} Row */

/** The states the filter offers (archived intents are listed only when asked for by name). */
const STATES = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed'];
const STATUSES = ['approved', 'pending_approval', 'denied'];

/** How many pages (of 500) the list reads at most; past that it says it shows the first ones. */
const MAX_PAGES = 20;

/** The columns, and how each sorts (`id` names it in the URL: `sort=exposure`, `sort=-exposure`). @type {{ id: string, label: string, key: (r: Row) => string | number }[]} */
const COLUMNS = [
  { id: 'key', label: 'Key', key: (r) => r.key },
  { id: 'owner', label: 'Owner', key: (r) => r.owner },
  { id: 'status', label: 'Status', key: (r) => r.status },
  { id: 'state', label: 'State', key: (r) => r.state },
  { id: 'version', label: 'Version', key: (r) => r.version },
  { id: 'exposure', label: 'Exposure', key: (r) => r.served ?? r.exposure },
  { id: 'services', label: 'Services', key: (r) => [...new Set(r.services.map((s) => s.service))].join(', ') },
  { id: 'updated', label: 'Updated', key: (r) => r.updated_at },
];
const HEADERS = [...COLUMNS.map((c) => c.label), 'Actions'];

/** The actions a row offers, with the experiment page's words (its dialog, its help). */
const ROW_ACTIONS = /** @type {const} */ (['pause', 'resume']).map((action) => ({ action, ...ACTIONS[action] }));

/**
 * #/experiments: every intent (pages of 500 read up to MAX_PAGES), searched and filtered in the
 * page: free text over key, description, flag and service; status, state, service, flag and owner
 * team (any part, any case); for an approver, those waiting on their approval. The filters and the
 * sort live in the URL fragment, so a view can be shared and Back returns to the previous one.
 * Above the table: how many experiments are in each state (under the other filters) and "n of m
 * shown". A running or paused row offers Pause or Resume when the server's allowed_actions for
 * that intent lists it.
 * @type {import('../nav.js').View}
 */
export async function experimentsView(route, stale) {
  const me = session.me;
  const mayApprove = me?.role === 'approver' || me?.role === 'admin';
  const q = listQuery(route.query, { states: STATES, statuses: STATUSES, columns: COLUMNS.map((c) => c.id) });
  const waiting = mayApprove && q.waiting;

  /** The intents' details (allowed_actions), read once per key per view. @type {Map<string, Promise<IntentDetail | null>>} */
  const details = new Map();
  /** @param {string} key */
  const detail = (key) => {
    let d = details.get(key);
    if (!d) details.set(key, (d = getIntent(key).catch(() => null)));
    return d;
  };

  // Everything (up to the cap), since the counts per state and "n of m" are over all of it.
  /** @type {Item[]} */
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    /** @type {IntentList} */
    const page = await api('GET', `/v1/intents?limit=500${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    if (stale()) return ['Experiments', []];
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  const capped = cursor !== null;

  // Every filter but the state's (the counts are per state), then the state's.
  let others = items.filter((it) => matches(it, { ...q, state: '' }));
  if (waiting) {
    const pending = others.filter((it) => it.status === 'pending_approval' && it.state !== 'completed');
    const ds = await Promise.all(pending.map((it) => detail(it.key)));
    others = pending.filter((_, i) => ds[i]?.allowed_actions?.includes('approve'));
  }
  const counts = stateCounts(others);
  /** @type {Row[]} */
  const rows = await withServed(others.filter((it) => !q.state || it.state === q.state), detail);
  if (stale()) return ['Experiments', []];

  let sort = q.sort;
  let showing = Math.min(q.limit, rows.length);
  const tbody = h('tbody', {});
  const shownLine = h('p', { id: 'shown-count', class: 'meta' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'load-more' }, 'Load more');
  const draw = () => {
    const sorted = sort ? sortRows(rows, /** @type {(typeof COLUMNS)[number]} */ (COLUMNS.find((c) => c.id === sort?.col)).key, sort.dir) : rows;
    const visible = sorted.slice(0, showing);
    tbody.replaceChildren(...visible.map((it) => rowOf(it, detail)));
    const filtered = rows.length !== items.length;
    shownLine.textContent =
      `${visible.length} of ${items.length}${capped ? '+' : ''} shown` + (filtered && visible.length !== rows.length ? `; ${rows.length} match the filters` : '') + (capped ? ` (the first ${items.length} read)` : '');
    more.hidden = showing >= rows.length;
  };
  draw();
  more.addEventListener('click', () => {
    const before = showing;
    showing = Math.min(rows.length, showing + q.limit);
    draw();
    announce(`${showing - before} more experiments shown`);
  });

  const stateSelect = select('filter-state', 'state', STATES, q.state);
  const statusSelect = select('filter-status', 'status', STATUSES, q.status);
  const searchInput = h('input', { id: 'filter-q', name: 'q', type: 'search', value: q.q, autocomplete: 'off', 'aria-describedby': 'filter-q-help' });
  const serviceInput = textFilter('filter-service', 'service', q.service, 'services-known', [...new Set(items.flatMap((it) => it.services.map((s) => s.service)))]);
  const flagInput = textFilter('filter-flag', 'flag', q.flag, 'flags-known', [...new Set(items.flatMap((it) => it.services.map((s) => s.flag)))]);
  const ownerInput = textFilter('filter-owner', 'owner', q.owner, 'owners-known', [...new Set(items.map((it) => it.owner))]);
  const waitingBox = mayApprove ? h('input', { id: 'filter-waiting', name: 'waiting', type: 'checkbox', checked: waiting }) : null;
  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {Node[]} */ ...control) => h('div', { class: 'field inline' }, h('label', { for: id }, label), control);
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search and filter experiments' },
    h(
      'div',
      { class: 'field inline search' },
      h('label', { for: 'filter-q' }, 'Search'),
      searchInput,
      h('span', { class: 'help', id: 'filter-q-help' }, 'key, description, flag or service; any part, any case'),
    ),
    field('filter-status', 'Status', statusSelect),
    field('filter-state', 'State', stateSelect),
    field('filter-service', 'Service', serviceInput.input),
    field('filter-flag', 'Flag', flagInput.input),
    h(
      'div',
      { class: 'field inline' },
      h('label', { for: 'filter-owner' }, 'Owner team'),
      ownerInput.input,
      h('span', { class: 'help', id: 'filter-owner-help' }, 'any part, any case'),
    ),
    waitingBox ? h('div', { class: 'field inline' }, waitingBox, h('label', { for: 'filter-waiting' }, 'Waiting on my approval')) : null,
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
    q.active ? h('a', { href: '#/experiments', id: 'clear-filters' }, 'Clear filters') : null,
    serviceInput.list,
    flagInput.list,
    ownerInput.list,
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    const set = (/** @type {string} */ k, /** @type {string} */ v) => v.trim() && next.set(k, v.trim());
    set('q', searchInput.value);
    set('status', statusSelect.value);
    set('state', stateSelect.value);
    set('service', serviceInput.input.value);
    set('flag', flagInput.input.value);
    set('owner', ownerInput.input.value);
    if (waitingBox?.checked) next.set('waiting', 'me');
    if (sort) next.set('sort', `${sort.dir === 'descending' ? '-' : ''}${sort.col}`);
    go(`#/experiments${next.size ? `?${next}` : ''}`);
  });

  const ths = COLUMNS.map((c) => {
    const dir = sort?.col === c.id ? sort.dir : null;
    const button = h('button', { type: 'button', class: 'sort', 'data-col': c.label }, c.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, arrowOf(dir)));
    const th = h('th', { scope: 'col', 'aria-sort': dir ?? 'none' }, button);
    button.addEventListener('click', () => {
      const next = sort?.col === c.id && sort.dir === 'ascending' ? 'descending' : 'ascending';
      sort = { col: c.id, dir: next };
      for (const other of ths) {
        const mine = other === th;
        other.setAttribute('aria-sort', mine ? next : 'none');
        const arrow = other.querySelector('.arrow');
        if (arrow) arrow.textContent = arrowOf(mine ? next : null);
      }
      // The sort is part of the shared address; replacing it does not add a Back step or reload.
      const params = new URLSearchParams(route.query);
      params.set('sort', `${next === 'descending' ? '-' : ''}${c.id}`);
      history.replaceState(null, '', `#/experiments?${params}`);
      draw();
      announce(`Sorted by ${c.label.toLowerCase()}, ${next}`);
    });
    return th;
  });

  const title = waiting ? 'Waiting on my approval' : 'Experiments';
  const list =
    rows.length === 0
      ? h(
          'p',
          { class: 'empty', id: 'no-match' },
          waiting ? 'Nothing waits on your approval.' : q.active ? 'No experiment matches these filters.' : 'No experiments yet. Submit one with POST /v1/intents.',
        )
      : scrollRegion(
          title,
          h(
            'table',
            { id: 'experiments-table', class: 'cards' },
            h(
              'caption',
              {},
              waiting
                ? 'Experiments with a version that still needs an approval you can give'
                : 'Experiments by key, with the status of their current version, the experiment state, and the exposure served',
            ),
            h('thead', {}, h('tr', {}, ths, h('th', { scope: 'col' }, 'Actions'))),
            tbody,
          ),
        );
  return [title, [h('h1', {}, title), newExperimentLink(), filters, countsOf(counts, route.query, q.state), shownLine, list, more]];
}

/** @param {'ascending' | 'descending' | null} dir */
const arrowOf = (dir) => (dir === 'ascending' ? '▲' : dir === 'descending' ? '▼' : '↕');

/** @param {string} id @param {string} name @param {string[]} values @param {string} chosen */
function select(id, name, values, chosen) {
  return h('select', { id, name }, h('option', { value: '' }, 'any'), values.map((s) => h('option', { value: s, selected: s === chosen }, humanize(s))));
}

/**
 * A text filter with the values the list holds offered as suggestions (a datalist).
 * @param {string} id @param {string} name @param {string} value @param {string} listId @param {string[]} known
 */
function textFilter(id, name, value, listId, known) {
  const input = h('input', { id, name, type: 'text', value, autocomplete: 'off', list: listId, 'aria-describedby': id === 'filter-owner' ? 'filter-owner-help' : null });
  const list = h('datalist', { id: listId }, known.sort().map((v) => h('option', { value: v })));
  return { input, list };
}

/**
 * How many experiments are in each state under the other filters, each a link to that state's
 * view (the other filters kept), the chosen one marked.
 * @param {Map<string, number>} counts @param {URLSearchParams} query @param {string} chosen
 */
function countsOf(counts, query, chosen) {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  /** @param {string} state */
  const link = (state) => {
    const p = new URLSearchParams(query);
    if (state) p.set('state', state);
    else p.delete('state');
    return `#/experiments${p.size ? `?${p}` : ''}`;
  };
  const item = (/** @type {string} */ state, /** @type {string} */ label, /** @type {number} */ n) =>
    h(
      'li',
      { 'data-state': state || 'all' },
      h('a', { href: link(state), 'aria-current': chosen === state ? 'true' : null }, h('span', { class: 'count-label' }, label), ' ', h('strong', { class: 'count' }, String(n))),
    );
  return h(
    'nav',
    { class: 'state-counts', 'aria-label': 'Experiment counts' },
    h('ul', { id: 'state-counts' }, item('', 'all', total), [...counts.entries()].map(([state, n]) => item(state, humanize(state), n))),
  );
}

/**
 * @param {Row} it
 * @param {(key: string) => Promise<IntentDetail | null>} detail
 */
function rowOf(it, detail) {
  const live = it.active_version !== null && it.active_version !== it.version ? ` (v${it.active_version} live)` : '';
  // The exposure served is the live version's; a newer version's differs until it is live.
  const exposure = it.served !== null && it.served !== it.exposure ? [`${it.served} %`, h('span', { class: 'meta' }, ` (v${it.version}: ${it.exposure} %)`)] : `${it.exposure} %`;
  const actions = h('td', { class: 'row-actions' });
  const tr = h(
    'tr',
    { 'data-key': it.key },
    h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(it.key)}` }, it.key)),
    h('td', {}, it.owner),
    h('td', {}, badge('status', it.status)),
    h('td', {}, badge('state', it.state)),
    h('td', { class: 'num' }, `v${it.version}${live}`),
    h('td', { class: 'num exposure' }, exposure),
    h('td', {}, [...new Set(it.services.map((s) => s.service))].join(', ')),
    h('td', {}, time(it.updated_at)),
    actions,
  );
  labelCells(tr, HEADERS);
  // Pause and resume from the row, exactly when the server lists them for this caller (the
  // intent's allowed_actions): read for the running and paused rows on screen only.
  if (it.state === 'running' || it.state === 'paused') {
    actions.setAttribute('aria-busy', 'true');
    void detail(it.key).then((d) => {
      actions.removeAttribute('aria-busy');
      // A row on screen while the next page loads (router.js set main busy) gets no new live
      // buttons; a row not on screen yet is being drawn, and gets them.
      if (tr.isConnected && main().getAttribute('aria-busy') === 'true') return;
      const allowed = ROW_ACTIONS.filter((a) => d?.allowed_actions?.includes(a.action));
      actions.replaceChildren(...allowed.map((a) => rowButton(it.key, a)));
    });
  }
  return tr;
}

/** @param {string} key @param {(typeof ROW_ACTIONS)[number]} a */
function rowButton(key, a) {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'data-action': a.action,
      'aria-label': `${a.label} ${key}`,
      onclick: (/** @type {MouseEvent} */ ev) =>
        openDialog(/** @type {HTMLElement} */ (ev.currentTarget), {
          title: `${a.label} ${key}`,
          help: a.help,
          field: { label: 'Reason (required, kept in the audit trail)', required: true },
          confirm: a.label,
          /** @returns {Promise<IntentDetail>} */
          run: (reason) => api('POST', `/v1/intents/${enc(key)}/actions`, { body: { action: a.action, reason } }),
          done: (r) => `${a.done}. ${key} is now ${r.state}.`,
          focus: `#experiments-table tr[data-key="${CSS.escape(key)}"] th a`,
        }),
    },
    a.label,
  );
}

/**
 * Each item with the exposure its live version serves: the list answers with the current
 * version's, so an item whose live version is another (a v2 waiting, denied or rolled back from)
 * has its live version read (liveVersion). Unreadable: the current version's, as the API gave it.
 * @param {Item[]} items
 * @param {(key: string) => Promise<IntentDetail | null>} detail
 * @returns {Promise<Row[]>}
 */
function withServed(items, detail) {
  return Promise.all(
    items.map(async (it) => {
      if (it.active_version === null) return { ...it, served: null };
      if (it.active_version === it.version) return { ...it, served: it.exposure };
      try {
        const d = await detail(it.key);
        const live = d ? await liveVersion(d) : null;
        return { ...it, served: live ? live.intent.exposure : null };
      } catch {
        return { ...it, served: null };
      }
    }),
  );
}

