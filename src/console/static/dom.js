// @ts-check
/** Building the page. Data is only ever put into it as text (textContent), never parsed as HTML. */

/** @typedef {import('../types.js').Child} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((ev: any) => void)>} Props */

/**
 * h('a', {href: '#/x', class: 'y'}, 'text', child): builds an element; strings become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} props
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * svg('path', {d: …}, children…): an SVG element; strings become text nodes (never markup).
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} attrs
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/**
 * @template {Element} E
 * @param {E} el
 * @param {Child[]} children
 * @returns {E}
 */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/**
 * An element the page always has (index.html).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}

export const main = () => byId('main');

/** Says `text` to screen readers. @param {string} text */
export function announce(text) {
  const a = byId('announcer');
  a.textContent = '';
  // A fresh text node after a tick, so the same message twice is still read out.
  setTimeout(() => (a.textContent = text), 50);
}
