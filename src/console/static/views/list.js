// @ts-check
import { api, enc, getIntent, liveVersion } from '../api.js';
import { announce, h } from '../dom.js';
import { badge, errorBox, labelCells, scrollRegion, time } from '../format.js';
import { go } from '../nav.js';
import { newExperimentLink } from './author.js';
import { session } from '../session.js';

/** @typedef {import('../../types.js').IntentList} IntentList */
/** @typedef {IntentList['items'][number]} Item */
/** @typedef {Item & { served: number | null }} Row */

/** The states the filter offers (archived intents are listed only when asked for by name). */
const STATES = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed'];

/** How many pages (of 500) a client-side filter reads at most before it shows what it found. */
const MAX_PAGES = 20;

/** The columns, and how each sorts. @type {{ label: string, key: (r: Row) => string | number }[]} */
const COLUMNS = [
  { label: 'Key', key: (r) => r.key },
  { label: 'Owner', key: (r) => r.owner },
  { label: 'Status', key: (r) => r.status },
  { label: 'State', key: (r) => r.state },
  { label: 'Version', key: (r) => r.version },
  { label: 'Exposure', key: (r) => r.served ?? r.exposure },
  { label: 'Services', key: (r) => [...new Set(r.services.map((s) => s.service))].join(', ') },
  { label: 'Updated', key: (r) => r.updated_at },
];

/**
 * #/experiments: the intents, a page at a time, filtered by state, by owner team (any part of the
 * name, in any case) and, for an approver, to those waiting on their approval; sortable by any
 * column.
 * @type {import('../nav.js').View}
 */
export async function experimentsView(route, stale) {
  const asked = route.query.get('state') ?? '';
  const state = STATES.includes(asked) ? asked : '';
  const owner = route.query.get('owner') ?? '';
  const me = session.me;
  const mayApprove = me?.role === 'approver' || me?.role === 'admin';
  const waiting = mayApprove && route.query.get('waiting') === 'me';
  // `limit` (page size) may come from the URL too: #/experiments?limit=20.
  const limitText = route.query.get('limit') ?? '';
  const limit = /^[1-9]\d{0,2}$/.test(limitText) ? Math.min(500, Number(limitText)) : 100;
  const filtered = !!owner || waiting;
  const params = new URLSearchParams({ limit: String(filtered ? 500 : limit) });
  if (state) params.set('state', state);
  const needle = owner.toLowerCase();

  /**
   * The next page of rows the filters keep. The API matches an owner exactly, so the owner filter
   * (a part of the name, any case) and "waiting on me" (the server's allowed_actions) are applied
   * here, reading pages of 500 until a page's worth matched or the list ends.
   * @param {string | null} after
   * @returns {Promise<{ items: Item[], next: string | null }>}
   */
  async function nextPage(after) {
    /** @type {Item[]} */
    const items = [];
    let cursor = after;
    for (let pages = 0; ; pages++) {
      /** @type {IntentList} */
      const page = await api('GET', `/v1/intents?${params}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      let kept = page.items.filter((it) => !needle || it.owner.toLowerCase().includes(needle));
      if (waiting) kept = await waitingOnMe(kept);
      items.push(...kept);
      cursor = page.next_cursor;
      if (!filtered || !cursor || items.length >= limit || pages + 1 >= MAX_PAGES) return { items, next: cursor };
    }
  }

  const first = await nextPage(null);
  if (stale()) return ['Experiments', []];
  /** @type {Row[]} */
  const rows = await withServed(first.items);
  if (stale()) return ['Experiments', []];

  /** @type {{ col: number, dir: 'ascending' | 'descending' } | null} */
  let sort = null;
  const tbody = h('tbody', {});
  const headers = COLUMNS.map((c) => c.label);
  const draw = () => {
    const list = [...rows];
    if (sort) {
      const { col, dir } = sort;
      const key = /** @type {(typeof COLUMNS)[number]} */ (COLUMNS[col]).key;
      const sign = dir === 'ascending' ? 1 : -1;
      list.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return sign * c || a.key.localeCompare(b.key);
      });
    }
    tbody.replaceChildren(...list.map((it) => rowOf(it, headers)));
  };
  draw();

  const more = h('button', { type: 'button', class: 'secondary', hidden: !first.next }, 'Load more');
  let cursor = first.next;
  more.addEventListener('click', async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      const page = await nextPage(cursor);
      rows.push(...(await withServed(page.items)));
      draw();
      cursor = page.next;
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
  const ownerInput = h('input', { id: 'filter-owner', name: 'owner', type: 'text', value: owner, autocomplete: 'off', 'aria-describedby': 'filter-owner-help' });
  const waitingBox = mayApprove ? h('input', { id: 'filter-waiting', name: 'waiting', type: 'checkbox', checked: waiting }) : null;
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter experiments' },
    h('div', { class: 'field inline' }, h('label', { for: 'filter-state' }, 'State'), stateSelect),
    h(
      'div',
      { class: 'field inline' },
      h('label', { for: 'filter-owner' }, 'Owner team'),
      ownerInput,
      h('span', { class: 'help', id: 'filter-owner-help' }, 'any part, any case'),
    ),
    waitingBox ? h('div', { class: 'field inline' }, waitingBox, h('label', { for: 'filter-waiting' }, 'Waiting on my approval')) : null,
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (stateSelect.value) q.set('state', stateSelect.value);
    if (ownerInput.value.trim()) q.set('owner', ownerInput.value.trim());
    if (waitingBox?.checked) q.set('waiting', 'me');
    go(`#/experiments${q.size ? `?${q}` : ''}`);
  });

  const ths = COLUMNS.map((c, i) => {
    const button = h('button', { type: 'button', class: 'sort', 'data-col': c.label }, c.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, '↕'));
    const th = h('th', { scope: 'col', 'aria-sort': 'none' }, button);
    button.addEventListener('click', () => {
      const dir = sort?.col === i && sort.dir === 'ascending' ? 'descending' : 'ascending';
      sort = { col: i, dir };
      for (const [j, other] of ths.entries()) {
        other.setAttribute('aria-sort', j === i ? dir : 'none');
        const arrow = other.querySelector('.arrow');
        if (arrow) arrow.textContent = j === i ? (dir === 'ascending' ? '▲' : '▼') : '↕';
      }
      draw();
      announce(`Sorted by ${c.label.toLowerCase()}, ${dir}`);
    });
    return th;
  });

  const title = waiting ? 'Waiting on my approval' : 'Experiments';
  const list =
    rows.length === 0
      ? h(
          'p',
          { class: 'empty' },
          waiting ? 'Nothing waits on your approval.' : state || owner ? 'No experiment matches these filters.' : 'No experiments yet. Submit one with POST /v1/intents.',
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
            h('thead', {}, h('tr', {}, ths)),
            tbody,
          ),
        );
  return [title, [h('h1', {}, title), newExperimentLink(), filters, list, more]];
}

/** @param {Row} it @param {string[]} headers */
function rowOf(it, headers) {
  const live = it.active_version !== null && it.active_version !== it.version ? ` (v${it.active_version} live)` : '';
  // The exposure served is the live version's; a newer version's differs until it is live.
  const exposure = it.served !== null && it.served !== it.exposure ? [`${it.served} %`, h('span', { class: 'meta' }, ` (v${it.version}: ${it.exposure} %)`)] : `${it.exposure} %`;
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
  );
  labelCells(tr, headers);
  return tr;
}

/**
 * Each item with the exposure its live version serves: the list answers with the current
 * version's, so an item whose live version is another (a v2 waiting, denied or rolled back from)
 * has its live version read (liveVersion). Unreadable: the current version's, as the API gave it.
 * @param {Item[]} items
 * @returns {Promise<Row[]>}
 */
function withServed(items) {
  return Promise.all(
    items.map(async (it) => {
      if (it.active_version === null) return { ...it, served: null };
      if (it.active_version === it.version) return { ...it, served: it.exposure };
      try {
        const live = await liveVersion(await getIntent(it.key));
        return { ...it, served: live ? live.intent.exposure : null };
      } catch {
        return { ...it, served: null };
      }
    }),
  );
}

/**
 * The items with a version waiting for an approval the caller can give: the server's
 * allowed_actions of each pending one lists `approve`.
 * @param {Item[]} items
 */
async function waitingOnMe(items) {
  const pending = items.filter((it) => it.status === 'pending_approval' && it.state !== 'completed');
  const details = await Promise.all(pending.map((it) => getIntent(it.key).catch(() => null)));
  return pending.filter((_, i) => details[i]?.allowed_actions.includes('approve'));
}
