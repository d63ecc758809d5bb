// @ts-check
/** #/layers: each layer's 10000 buckets as a bar, each experiment's slice in it, and the free room. */
import { api, enc, getIntent, liveVersion } from '../api.js';
import { h } from '../dom.js';
import { badge, labelCells, scrollRegion } from '../format.js';
import { claimsOf, layerPicture, share } from './layer-model.js';
import { variantSplit } from './split.js';

/** @typedef {import('../../types.js').IntentList} IntentList */
/** @typedef {import('../../types.js').IntentDetail} IntentDetail */
/** @typedef {import('../../types.js').Child} Child */
/** @typedef {import('./layer-model.js').Claim} Claim */
/** @typedef {Claim & { variants: { key: string, weight: number }[] | null }} Shown */

/** How many pages (of 500) of the list are read at most. */
const MAX_PAGES = 20;

/**
 * The layers, from what the API already gives: the list names each intent's layer; the detail of
 * each one in a layer (GET /v1/intents/{key}) gives its versions' slices (`versions[].slice`).
 * One read per experiment in a layer, none for the others.
 * @type {import('../nav.js').View}
 */
export async function layersView(route, stale) {
  /** @type {IntentList['items']} */
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    /** @type {IntentList} */
    const page = await api('GET', `/v1/intents?limit=500${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    if (stale()) return ['Layers', []];
    items.push(...page.items.filter((it) => it.layer !== null && it.state !== 'completed' && it.state !== 'archived'));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  const details = await Promise.all(items.map((it) => getIntent(it.key)));
  if (stale()) return ['Layers', []];

  /** Each claim with its layer and variants; a live version other than the current one is read from its decision. @type {Map<string, Shown[]>} */
  const byLayer = new Map();
  await Promise.all(
    details.map(async (exp) => {
      const live = exp.active_version !== null && exp.active_version !== exp.version ? await liveVersion(exp).catch(() => null) : null;
      for (const c of claimsOf(exp)) {
        const intent = c.version === exp.version ? exp.intent : live?.version === c.version ? live.intent : null;
        const layer = intent ? intent.layer : exp.intent.layer;
        if (!layer) continue;
        const list = byLayer.get(layer) ?? [];
        list.push({ ...c, variants: intent?.variants ?? null });
        byLayer.set(layer, list);
      }
    }),
  );
  if (stale()) return ['Layers', []];

  const only = route.query.get('layer');
  const names = [...byLayer.keys()].filter((l) => !only || l === only).sort();
  /** @type {Child[]} */
  const nodes = [
    h('h1', {}, 'Layers'),
    h(
      'p',
      { class: 'lede' },
      'A layer gives each of its live experiments a disjoint slice of its 10000 buckets (SPEC §5). Each bar is one layer: the experiments’ slices, and the room still free for a new one.',
    ),
  ];
  if (names.length === 0) nodes.push(h('p', { class: 'empty', id: 'no-layers' }, only ? `No live experiment in layer ${only}.` : 'No live experiment is in a layer.'));
  for (const name of names) nodes.push(layerSection(layerPicture(name, byLayer.get(name) ?? [])));
  return ['Layers', nodes];
}

/** @typedef {{ layer: string, total: number, placed: Shown[], unplaced: Shown[], free: { start: number, end: number }[], freeBuckets: number }} Picture */

/** @param {Picture} p */
function layerSection(p) {
  const id = `layer-${p.layer.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const largest = p.free.reduce((m, r) => Math.max(m, r.end - r.start), 0);
  const live = p.placed.filter((c) => c.live);
  const waiting = p.placed.filter((c) => !c.live);
  const summary =
    `${new Set(p.placed.map((c) => c.key)).size} experiments hold ${share(p.total - p.freeBuckets)}; ${share(p.freeBuckets)} is free` +
    (p.free.length > 1 ? ` in ${p.free.length} ranges, the largest ${share(largest)}` : '') +
    '.';
  return h(
    'section',
    { 'aria-labelledby': `${id}-heading`, id, class: 'layer', 'data-layer': p.layer },
    h('h2', { id: `${id}-heading` }, 'Layer ', h('code', {}, p.layer)),
    h('p', { class: 'layer-summary' }, summary),
    bar(p, live, `Layer ${p.layer}, buckets 0 to ${p.total}`, 'live'),
    waiting.length ? [h('p', { class: 'meta' }, 'Versions waiting for approval hold their slice too:'), bar(p, waiting, `Layer ${p.layer}, slices of versions waiting for approval`, 'waiting')] : null,
    sliceTable(p),
    p.unplaced.length
      ? h('p', { class: 'meta', id: `${id}-unplaced` }, `Without a slice (they serve no one through this layer): ${p.unplaced.map((c) => `${c.key} v${c.version}`).join(', ')}.`)
      : null,
  );
}

/**
 * One track of the bar: the claims' slices, each a link to its experiment, and the free ranges
 * (on the live track) with their size. A list, so each part is read with its numbers.
 * @param {Picture} p @param {Shown[]} claims @param {string} label @param {string} track
 */
function bar(p, claims, label, track) {
  /** @type {{ start: number, end: number, node: HTMLLIElement }[]} */
  const parts = claims.map((c) => {
    const s = /** @type {{ start: number, end: number }} */ (c.slice);
    const text = `${c.key} v${c.version}`;
    const words = `${text}: buckets ${s.start} to ${s.end}, ${share(s.end - s.start)}${c.live ? '' : ', waiting for approval'}`;
    // The link's name is its visible text with the numbers between (visually hidden), so it reads
    // "ranking-a v1: buckets 0 to 3000, 30 %" and still contains what is seen (WCAG 2.5.3).
    return {
      ...s,
      node: h(
        'li',
        { class: `slice${c.live ? '' : ' waiting'}${c.state === 'paused' ? ' paused' : ''}`, 'data-key': c.key, 'data-version': c.version },
        h(
          'a',
          { href: `#/experiments/${enc(c.key)}`, title: words },
          h('span', { class: 'slice-label' }, text),
          h('span', { class: 'visually-hidden' }, `: buckets ${s.start} to ${s.end}, `),
          h('span', { class: 'slice-size' }, share(s.end - s.start)),
          c.live ? null : h('span', { class: 'visually-hidden' }, ', waiting for approval'),
        ),
      ),
    };
  });
  if (track === 'live') {
    for (const r of p.free) {
      const words = `free: buckets ${r.start} to ${r.end}, ${share(r.end - r.start)}`;
      parts.push({
        ...r,
        node: h(
          'li',
          { class: 'free', title: words, 'data-start': r.start, 'data-end': r.end },
          h('span', { class: 'slice-label' }, `free ${share(r.end - r.start)}`),
          h('span', { class: 'visually-hidden' }, `: buckets ${r.start} to ${r.end}`),
        ),
      });
    }
  }
  parts.sort((a, b) => a.start - b.start);
  const ol = h('ol', { class: `layer-bar ${track}`, 'aria-label': label });
  for (const part of parts) {
    // Position through the CSSOM: the page's CSP (style-src 'self') refuses style attributes.
    part.node.style.left = `${(part.start * 100) / p.total}%`;
    part.node.style.width = `${((part.end - part.start) * 100) / p.total}%`;
    ol.append(part.node);
  }
  return ol;
}

/** The bar's numbers as a table: each slice, its buckets, share and variant split; then the free ranges. @param {Picture} p */
function sliceTable(p) {
  const headers = ['Experiment', 'Version', 'State', 'Buckets', 'Share', 'Variant split'];
  /** @type {{ start: number, row: HTMLTableRowElement }[]} */
  const rows = p.placed.map((c) => {
    const s = /** @type {{ start: number, end: number }} */ (c.slice);
    return {
      start: s.start,
      row: h(
        'tr',
        { 'data-key': c.key, 'data-version': c.version },
        h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(c.key)}` }, c.key)),
        h('td', {}, `v${c.version}`, c.live ? ' (live)' : ' (waiting for approval)'),
        h('td', {}, c.live ? badge('state', c.state) : badge('status', c.status)),
        h('td', { class: 'num' }, `${s.start}–${s.end}`),
        h('td', { class: 'num share' }, share(s.end - s.start)),
        h('td', { class: 'split-cell' }, c.variants ? variantSplit(c.variants) : '—'),
      ),
    };
  });
  for (const r of p.free) {
    rows.push({
      start: r.start,
      row: h('tr', { class: 'free-row' }, h('th', { scope: 'row' }, 'free'), h('td', {}, '—'), h('td', {}, '—'), h('td', { class: 'num' }, `${r.start}–${r.end}`), h('td', { class: 'num share' }, share(r.end - r.start)), h('td', {}, '—')),
    });
  }
  rows.sort((a, b) => a.start - b.start);
  for (const { row } of rows) labelCells(row, headers);
  return scrollRegion(
    `Slices of layer ${p.layer}`,
    h(
      'table',
      { class: 'cards layer-table' },
      h('caption', {}, `Layer ${p.layer}: each slice and free range, in bucket order`),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        rows.map((r) => r.row),
      ),
    ),
  );
}
