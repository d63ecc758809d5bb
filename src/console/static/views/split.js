// @ts-check
/** An experiment's variant split as a bar: each variant's share of its units, the control marked. */
import { h } from '../dom.js';
import { splitOf } from './layer-model.js';

/**
 * A bar of the variants' weights (the first variant is the control, SPEC §2), with its numbers in
 * words for screen readers (the list's name) and on screen (each segment's label).
 * @param {{ key: string, weight: number }[]} variants
 * @param {string} [id]
 */
export function variantSplit(variants, id) {
  const parts = splitOf(variants);
  // The first variant is the control; named "control" already, it needs no second mark in words.
  const name = (/** @type {(typeof parts)[number]} */ p) => (p.control && p.key !== 'control' ? `${p.key} (control)` : p.key);
  const words = parts.map((p) => `${name(p)} ${p.percent} %`).join(', ');
  const bar = h('ol', { class: 'split-bar', 'aria-label': `Variant split: ${words}`, id: id ?? null });
  for (const p of parts) {
    const li = h(
      'li',
      { class: `split-part${p.control ? ' control' : ''}`, 'data-variant': p.key, title: `${p.key}: weight ${p.weight}, ${p.percent} % of the units in the experiment` },
      h('span', { class: 'split-label' }, `${name(p)} ${p.percent} %`),
    );
    // Widths through the CSSOM: the page's CSP (style-src 'self') refuses style attributes.
    li.style.flexBasis = `${p.percent}%`;
    bar.append(li);
  }
  return bar;
}
