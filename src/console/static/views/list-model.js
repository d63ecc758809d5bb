// @ts-check
/**
 * The experiments list's rules, pure (no DOM), so node tests them without a browser
 * (test/unit/console/list-model.test.ts): what the URL fragment asks for, which rows match, how
 * they sort, and how many are in each state.
 */

/** @typedef {import('../../types.js').IntentList['items'][number]} Item */
/** @typedef {'ascending' | 'descending'} SortDir */

/**
 * What the list's URL fragment asks for: `#/experiments?q=…&status=…&state=…&service=…&flag=…&
 * owner=…&waiting=me&limit=…&sort=-exposure`. A status, state or sort column it does not know is
 * ignored (the list is shown unfiltered by it, rather than empty).
 * @param {URLSearchParams} params
 * @param {{ states: string[], statuses: string[], columns: string[] }} known
 */
export function listQuery(params, known) {
  const text = (/** @type {string} */ k) => (params.get(k) ?? '').trim();
  const status = known.statuses.includes(text('status')) ? text('status') : '';
  const state = known.states.includes(text('state')) ? text('state') : '';
  const limitText = text('limit');
  const limit = /^[1-9]\d{0,2}$/.test(limitText) ? Math.min(500, Number(limitText)) : 100;
  const sortText = text('sort');
  const col = sortText.replace(/^-/, '');
  /** @type {{ col: string, dir: SortDir } | null} */
  const sort = known.columns.includes(col) ? { col, dir: sortText.startsWith('-') ? 'descending' : 'ascending' } : null;
  const q = { q: text('q'), status, state, service: text('service'), flag: text('flag'), owner: text('owner'), waiting: text('waiting') === 'me', limit, sort };
  return { ...q, active: !!(q.q || q.status || q.state || q.service || q.flag || q.owner || q.waiting) };
}

/** @param {string} hay @param {string} needle */
const has = (hay, needle) => hay.toLowerCase().includes(needle.toLowerCase());

/**
 * Whether an item passes every filter: the search (any part, any case, of its key, description,
 * a flag or a service), its status and state (exactly), a service, a flag and its owner team
 * (any part, any case).
 * @param {Item} it
 * @param {{ q: string, status: string, state: string, service: string, flag: string, owner: string }} f
 */
export function matches(it, f) {
  if (f.status && it.status !== f.status) return false;
  if (f.state && it.state !== f.state) return false;
  if (f.owner && !has(it.owner, f.owner)) return false;
  if (f.service && !it.services.some((s) => has(s.service, f.service))) return false;
  if (f.flag && !it.services.some((s) => has(s.flag, f.flag))) return false;
  if (f.q) {
    const fields = [it.key, it.description ?? '', ...it.services.flatMap((s) => [s.service, s.flag])];
    if (!fields.some((x) => has(x, f.q))) return false;
  }
  return true;
}

/**
 * The rows sorted by one column: numbers as numbers, text in the page's collation; ties by key,
 * always ascending, so the order is stable whichever way the column goes.
 * @template {{ key: string }} R
 * @param {R[]} rows
 * @param {(r: R) => string | number} key
 * @param {SortDir} dir
 * @returns {R[]}
 */
export function sortRows(rows, key, dir) {
  const sign = dir === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sign * c || a.key.localeCompare(b.key);
  });
}

/** The order states are counted in: an experiment's life, first to last. */
const STATE_ORDER = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed', 'archived'];

/**
 * How many items are in each state, in the order of an experiment's life; states with none are
 * left out.
 * @param {{ state: string }[]} items
 * @returns {Map<string, number>}
 */
export function stateCounts(items) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const s of STATE_ORDER) {
    const n = items.filter((it) => it.state === s).length;
    if (n > 0) counts.set(s, n);
  }
  return counts;
}
