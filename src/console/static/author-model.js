// @ts-check
/**
 * The authoring form's pure parts (no DOM, unit-tested in node): a blank intent, where on the form
 * a policy violation or a schema error belongs, and how a typed value is read.
 */

/** @typedef {import('../types.js').IntentSpec} IntentSpec */
/** @typedef {import('../types.js').Violation} Violation */
/** @typedef {import('../types.js').AudienceCondition} AudienceCondition */
/** @typedef {import('../types.js').Variant} Variant */

/** SPEC §2 audience operators. @type {readonly AudienceCondition['op'][]} */
export const OPS = ['eq', 'neq', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'starts_with', 'ends_with', 'semver_gte', 'semver_lt'];
/** The operators that take a list (`values`); the rest take one `value`. @type {readonly AudienceCondition['op'][]} */
export const LIST_OPS = ['in', 'not_in'];

/**
 * A new intent to start from: one service row and two arms, the team's own owner.
 * @param {string} team
 * @returns {IntentSpec}
 */
export function blankIntent(team) {
  return {
    key: '',
    owner: team,
    description: '',
    services: [{ service: '', flag: '' }],
    variants: [
      { key: 'control', weight: 50, value: false },
      { key: 'treatment', weight: 50, value: true },
    ],
    exposure: 1,
  };
}

/**
 * Example dates for the empty schedule fields, from the day the form is shown: tomorrow at 00:00 UTC
 * and 30 days after. A fixed example would show a date in the past some day, which the policy
 * refuses as an end (docs/dates.md).
 * @param {Date} now
 * @returns {{ start: string, end: string }}
 */
export function schedulePlaceholder(now) {
  const day = 86400000;
  const tomorrow = Math.floor(now.getTime() / day) * day + day;
  const iso = (/** @type {number} */ ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return { start: iso(tomorrow), end: iso(tomorrow + 30 * day) };
}

/**
 * The form field (its path, as the server writes a schema error's path: `services.0.flag`) that a
 * policy violation concerns, or null for the top of the form. A violation names its `code`, and
 * often the `service` or `data_class`: the code says which field, the service which row.
 * @param {Violation} v
 * @param {IntentSpec} draft the intent as it was evaluated
 * @returns {string | null}
 */
export function violationField(v, draft) {
  const serviceRow = () => {
    const i = Array.isArray(draft.services) ? draft.services.findIndex((s) => s && s.service === v.service) : -1;
    return i >= 0 ? `services.${i}` : 'services';
  };
  switch (v.code) {
    case 'naming':
      return 'key';
    case 'max_exposure':
      return 'exposure';
    case 'unknown_service':
    case 'flag_conflict':
      return serviceRow();
    case 'unknown_data_class':
    case 'data_access':
      return 'data_access';
    case 'layer_capacity':
      return 'layer';
    case 'schedule':
      return 'schedule';
    case 'unknown_metric':
    case 'guardrail_required':
      return 'rollout.guardrails';
    default:
      if (v.data_class) return 'data_access';
      if (v.service) return serviceRow();
      return null;
  }
}

/**
 * The nearest place on the form for a path: the path itself if the form has a slot for it, else
 * its closest parent that has one (`variants.1.weight` → `variants.1` → `variants`), else null
 * (the top of the form).
 * @param {string | null} path
 * @param {(path: string) => boolean} has
 * @returns {string | null}
 */
export function nearestSlot(path, has) {
  if (path === null) return null;
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const p = parts.slice(0, n).join('.');
    if (has(p)) return p;
  }
  return null;
}

/**
 * A value typed into a text field: JSON when it reads as JSON (`true`, `3`, `"x"`, `{"a":1}`),
 * else the text itself, so `blue` is the string "blue" and `true` the boolean.
 * @param {string} text
 * @returns {Variant['value']}
 */
export function readValue(text) {
  const t = text.trim();
  if (t === '') return '';
  try {
    return /** @type {Variant['value']} */ (JSON.parse(t));
  } catch {
    return text;
  }
}

/** How a value is shown in a text field (the inverse of readValue). @param {unknown} v */
export function showValue(v) {
  if (typeof v === 'string') {
    // A string that would read back as something else (`true`, `3`, `"x"`) is shown quoted.
    try {
      JSON.parse(v);
      return JSON.stringify(v);
    } catch {
      return v;
    }
  }
  return v === undefined ? '' : JSON.stringify(v);
}

/** A comma-separated list of values (an `in` condition's `values`). @param {string} text */
export function readList(text) {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(readValue);
}

/** @param {unknown[] | undefined} values */
export function showList(values) {
  return (values ?? []).map(showValue).join(', ');
}

/**
 * The intent as it is sent: the draft without the optional fields the form left empty (an empty
 * description, layer or schedule), so that leaving a field blank means "not set" and not "".
 * @param {IntentSpec} draft
 * @returns {IntentSpec}
 */
export function toBody(draft) {
  /** @type {Record<string, unknown>} */
  const out = { ...draft };
  for (const k of ['description', 'layer', 'unit']) if (out[k] === '') delete out[k];
  const sch = draft.schedule;
  if (sch) {
    /** @type {Record<string, string>} */
    const s = {};
    if (sch.start) s['start'] = sch.start;
    if (sch.end) s['end'] = sch.end;
    if (Object.keys(s).length === 0) delete out['schedule'];
    else out['schedule'] = s;
  }
  return /** @type {IntentSpec} */ (/** @type {unknown} */ (out));
}
