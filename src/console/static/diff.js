// @ts-check
/**
 * What an approver compares: the live version of an intent and the one to approve, field by field.
 * Pure (no DOM, no fetch): test/unit/console/diff.test.ts runs it in node.
 */

/** @typedef {import('../types.js').IntentSpec} IntentSpec */
/** @typedef {import('../types.js').DiffRow} DiffRow */

/** @param {unknown} v */
const text = (v) => JSON.stringify(v);

/** @param {import('../types.js').AudienceCondition} c */
function conditionText(c) {
  const v = c.values ? `[${c.values.map(text).join(', ')}]` : text(c.value);
  return `${c.attribute} ${c.op} ${v}`;
}

/** The value a variant has in one service (its override there, else its value). @param {import('../types.js').Variant} v @param {string} service */
export function valueIn(v, service) {
  return v.overrides && Object.prototype.hasOwnProperty.call(v.overrides, service) ? v.overrides[service] : v.value;
}

/** Each service once, in the order the intents name them (the live one's first). @param {(IntentSpec | null)[]} intents */
function servicesOf(intents) {
  /** @type {string[]} */
  const out = [];
  for (const i of intents) for (const s of i?.services ?? []) if (!out.includes(s.service)) out.push(s.service);
  return out;
}

/** @param {IntentSpec} i @param {string} service */
function valuesText(i, service) {
  if (!i.services.some((s) => s.service === service)) return 'not in this version';
  return i.variants.map((v) => `${v.key} = ${text(valueIn(v, service))}`).join(', ');
}

/** @param {IntentSpec} i */
function rolloutText(i) {
  const r = i.rollout;
  if (!r) return 'none: the whole exposure at once';
  const stages = r.stages.map((s) => `${s.exposure} %${s.hold && s.hold !== 'PT0S' ? ` (hold ${s.hold})` : ''}`).join(' → ');
  const guards = r.guardrails?.length
    ? r.guardrails.map((g) => `${g.metric} ≤ +${Number(((g.max_regression ?? 0) * 100).toFixed(2))} %`).join(', ')
    : 'no guardrail';
  return `${stages}; ${guards}; auto advance ${r.auto_advance ? 'on' : 'off'}`;
}

/**
 * The fields an approver weighs, each as the live version has it (`before`; "—" with no live
 * version) and as the proposed one has it (`after`), and whether they differ. Values come one row
 * per service (a variant's override counts in its service only).
 * @param {IntentSpec | null} live
 * @param {IntentSpec} proposed
 * @returns {DiffRow[]}
 */
export function intentDiff(live, proposed) {
  /** @type {[string, string, (i: IntentSpec) => string][]} */
  const fields = [
    ['description', 'Description', (i) => i.description ?? '—'],
    ['exposure', 'Exposure', (i) => `${i.exposure} %`],
    ['audience', 'Audience', (i) => (i.audience?.length ? i.audience.map(conditionText).join(' and ') : 'everyone')],
    ['variants', 'Variants', (i) => i.variants.map((v) => `${v.key} (weight ${v.weight})`).join(', ')],
    ['services', 'Services', (i) => i.services.map((s) => `${s.service}: ${s.flag}`).join(', ')],
    ['rollout', 'Rollout', rolloutText],
    ['unit', 'Unit', (i) => i.unit ?? 'user_id'],
    ['layer', 'Layer', (i) => i.layer ?? 'none'],
    ['data_access', 'Data access', (i) => (i.data_access?.length ? i.data_access.join(', ') : 'none')],
    ['schedule', 'Schedule', (i) => (i.schedule ? `${i.schedule.start ?? 'now'} to ${i.schedule.end ?? 'open end'}` : 'none')],
  ];
  /** @type {DiffRow[]} */
  const rows = fields.map(([field, label, show]) => row(field, label, live ? show(live) : '—', show(proposed), live !== null));
  // Values right after variants: one row per service either version touches.
  const at = rows.findIndex((r) => r.field === 'services');
  const values = servicesOf([live, proposed]).map((service) =>
    row(`values.${service}`, `Values in ${service}`, live ? valuesText(live, service) : '—', valuesText(proposed, service), live !== null),
  );
  rows.splice(at, 0, ...values);
  return rows;
}

/** @param {string} field @param {string} label @param {string} before @param {string} after @param {boolean} hasLive @returns {DiffRow} */
function row(field, label, before, after, hasLive) {
  return { field, label, before, after, changed: hasLive && before !== after };
}
