// @ts-check
/** Links to the governance pages (issue #18): a decision, an audit event. */
import { enc } from './api.js';
import { h } from './dom.js';

/**
 * A link to the decision page (#/decisions/{id}): its input, its result, and a replay.
 * @param {string | null | undefined} id
 * @returns {Node | string}
 */
export function decisionLink(id) {
  if (!id) return '—';
  return h('a', { href: `#/decisions/${enc(id)}`, class: 'decision-link' }, h('code', {}, id));
}

/**
 * The audit trail opened at one event (its page starts there, the event marked).
 * @param {number} seq
 * @param {string} text
 */
export function auditEventLink(seq, text) {
  return h('a', { href: `#/audit?at=${seq}`, class: 'audit-link' }, text);
}

/** A data path as it reads: `switchyard › catalog › tier_caps › standard`. @param {string[]} path */
export function pathText(path) {
  return path.join(' › ');
}

/** A JSON value in one line, for a data diff cell. @param {unknown} v */
export function valueText(v) {
  return JSON.stringify(v) ?? String(v);
}
