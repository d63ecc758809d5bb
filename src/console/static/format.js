// @ts-check
/** How values are shown: badges, times, hashes, tables, conditions. */
import { h } from './dom.js';
import { exactTime, relativeTime } from './when.js';

/** @typedef {import('./dom.js').Child} Child */

/** @param {unknown} s */
export function humanize(s) {
  return String(s).replace(/_/g, ' ');
}

/** @param {string} kind @param {string} value */
export function badge(kind, value) {
  return h('span', { class: `badge ${kind}-${value}` }, humanize(value));
}

/**
 * A time as the console shows it everywhere: how long ago (or until) in words, the exact instant in
 * UTC on hover (`title`) and in `datetime` (when.js).
 * @param {string | null | undefined} iso @param {number} [now] @returns {Node | string}
 */
export function time(iso, now = Date.now()) {
  if (!iso) return '—';
  const exact = exactTime(iso);
  const rel = relativeTime(iso, now);
  if (!exact || !rel) return String(iso);
  return h('time', { datetime: new Date(iso).toISOString(), title: exact }, rel);
}

/**
 * An instant that matters to the second, shown exactly: the clock a decision's input carried (what
 * the policy compared schedules against, what Replay evaluates again) and a rollout's next advance
 * (a schedule: "from 2026-11-25 13:00:00 UTC", where "from 4 days ago" or "from in 1 hour" would not
 * read). The text is the exact instant in UTC, the `title` how long ago (or until) in words, the
 * reverse of `time()`.
 * @param {string | null | undefined} iso @param {number} [now] @returns {Node | string}
 */
export function instant(iso, now = Date.now()) {
  if (!iso) return '—';
  const exact = exactTime(iso);
  const rel = relativeTime(iso, now);
  if (!exact || !rel) return String(iso);
  return h('time', { datetime: new Date(iso).toISOString(), title: rel }, exact);
}

/** @param {string | null | undefined} s @returns {Node | string} */
export function shortHash(s) {
  if (!s) return '—';
  const m = /^([a-z0-9]+:)?([0-9a-f]{12})[0-9a-f]+$/i.exec(s);
  return m ? h('code', { title: s }, `${m[1] ?? ''}${m[2]}…`) : h('code', {}, s);
}

/** @param {unknown} v */
export function json(v) {
  return JSON.stringify(v);
}

/** @param {unknown} err */
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

/** @param {([string, Child] | null | false)[]} pairs */
export function dl(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter((p) => !!p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]),
  );
}

/**
 * A table in a scrolling wrapper that the keyboard can reach (`tabindex="0"`, a named region), so
 * a table wider than the screen can be scrolled without a mouse. With `cards`, each cell carries
 * its column's name (`data-label`) and under ~640 px each row is drawn as a card (style.css), so
 * no column is off-screen on a phone.
 * @param {string | null} caption
 * @param {string[]} headers
 * @param {Node[]} rows
 * @param {{ empty?: string, label?: string, cards?: boolean, id?: string }} [options]
 */
export function table(caption, headers, rows, { empty = 'None.', label, cards = false, id } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  if (cards) for (const row of rows) labelCells(row, headers);
  return scrollRegion(
    label ?? caption ?? headers.join(', '),
    h(
      'table',
      { class: cards ? 'cards' : null, id: id ?? null },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows),
    ),
  );
}

/** A wrapper that scrolls sideways, reachable and named for the keyboard and screen readers. @param {string} label @param {Node} content */
export function scrollRegion(label, content) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, content);
}

/** Gives each cell of a row its column's name, for the card layout. @param {Node} row @param {string[]} headers */
export function labelCells(row, headers) {
  if (!(row instanceof HTMLTableRowElement)) return;
  [...row.cells].forEach((cell, i) => {
    const name = headers[i];
    if (name) cell.dataset['label'] = name;
  });
}

/** @param {import('../types.js').AudienceCondition} c */
export function condition(c) {
  const v = c.values ? `[${c.values.map((x) => json(x)).join(', ')}]` : json(c.value);
  return `${c.attribute} ${c.op} ${v}`;
}

/** A relative change as a signed percentage: +12.3 %. @param {number | null | undefined} x */
export function pct(x) {
  if (x === null || x === undefined) return '—';
  const v = x * 100;
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(1)} %`;
}

/** @param {import('../types.js').FlagState['allocation'] | undefined} a */
export function exposureText(a) {
  if (!a?.exposure) return '—';
  const { start, end, total, seed } = a.exposure;
  const p = ((end - start) * 100) / total;
  return `${Number(p.toFixed(2))} % (buckets ${start}–${end} of ${total}, seed ${seed})`;
}

/**
 * The key under which a token name counts as one person, as the server keys it
 * (src/access/person-key.ts). Used for wording only (“you submitted this”); which buttons show
 * comes from the server's allowed_actions.
 * @param {string} name
 */
export function personKey(name) {
  return name.normalize('NFC').trim().toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
}
