// @ts-check
/**
 * #/new and #/experiments/{key}/edit: the owner writes an intent (SPEC §2) in a form, or as raw
 * JSON, the two kept in sync. As they type, the console asks the policy for a dry run (POST
 * /v1/intents:evaluate, 300 ms after the last change, the previous request aborted) and shows the
 * decision in place: each violation and each schema error next to the field it concerns, the rest
 * at the top, and the approvals the intent will need. Submit is POST /v1/intents (new) or PUT
 * /v1/intents/{key} with If-Match (a new version of the version read). A denied submission stays on
 * this page, now editing the stored key, so the owner fixes it and submits again.
 */
import { api, ApiError, enc } from '../api.js';
import { blankIntent, LIST_OPS, nearestSlot, OPS, readList, readValue, schedulePlaceholder, showList, showValue, toBody, violationField } from '../author-model.js';
import { flash } from '../dialog.js';
import { announce, h } from '../dom.js';
import { badge, errorBox, humanize } from '../format.js';
import { rerender } from '../nav.js';
import { session } from '../session.js';

/** @typedef {import('../../types.js').IntentSpec} IntentSpec */
/** @typedef {import('../../types.js').IntentDetail} IntentDetail */
/** @typedef {import('../../types.js').Decision} Decision */
/** @typedef {import('../../types.js').AudienceCondition} AudienceCondition */
/** @typedef {import('../../types.js').Child} Child */
/** @typedef {import('../../types.js').SubmitAnswer} SubmitAnswer */
/** @typedef {import('../../types.js').EvaluateAnswer} EvaluateAnswer */

/** How long after the last keystroke the dry run is asked for. */
export const DRY_RUN_DELAY_MS = 300;
const METRICS = ['error_rate', 'latency_ms', 'conversion'];

/** @type {import('../nav.js').View} */
export async function authorView(route, stale) {
  const me = session.me;
  const key = route.page === 'new' ? null : (route.key ?? null);
  /** @type {{ tier: string | null, service: string }[]} */
  const catalog = (await api('GET', '/v1/services').catch(() => ({ services: [] }))).services ?? [];
  if (stale()) return ['', []];
  if (key === null) {
    if (me?.role !== 'owner' && me?.role !== 'admin') {
      return ['New experiment', [h('h1', { tabindex: '-1' }, 'New experiment'), h('p', {}, `A ${me?.role} token may not submit intents; owner and admin tokens may.`), back()]];
    }
    return page(null, blankIntent(me.team ?? ''), null, catalog);
  }
  const meta = /** @type {{ etag?: string | null }} */ ({});
  /** @type {IntentDetail} */
  const exp = await api('GET', `/v1/intents/${enc(key)}`, { meta });
  if (stale()) return ['', []];
  if (!exp.editable) {
    return [
      `Edit ${key}`,
      [
        h('h1', { tabindex: '-1' }, `Edit ${key}`),
        h('p', { id: 'not-editable' }, `${me?.name} (${me?.role}) may not submit a new version of ${key} while it is ${exp.state}.`),
        h('p', {}, h('a', { href: `#/experiments/${enc(key)}` }, `Back to ${key}`)),
      ],
    ];
  }
  return page(exp, structuredClone(exp.intent), meta.etag ?? null, catalog);
}

function back() {
  return h('p', {}, h('a', { href: '#/experiments' }, 'Back to experiments'));
}

/**
 * The page: heading, the live dry-run decision, the Form and JSON tabs, Submit.
 * @param {IntentDetail | null} exp the intent edited, or null for a new one
 * @param {IntentSpec} start
 * @param {string | null} etag
 * @param {{ service: string, tier: string | null }[]} catalog
 * @returns {[string, Child[]]}
 */
function page(exp, start, etag, catalog) {
  /** What is being edited: null for a new key, else the key, the version read and its ETag. */
  let editing = exp ? { key: exp.key, version: exp.version, etag } : null;
  /** @type {IntentSpec} */
  let draft = start;
  const title = editing ? `Edit ${editing.key}` : 'New experiment';

  const dryHeading = h('h2', { id: 'dry-run-heading' }, 'Policy decision (dry run)');
  const dryRun = h('div', { id: 'dry-run', class: 'dry-run', 'aria-live': 'polite', 'aria-atomic': 'true' }, h('p', { class: 'help' }, 'The policy’s decision appears here as you type.'));
  const topErrors = h('ul', { id: 'top-errors', class: 'field-errors top', hidden: true, 'aria-label': 'Problems not tied to one field' });
  const submitResult = h('div', { id: 'submit-result', role: 'status' });
  const fields = h('div', { id: 'author-fields' });
  const json = h('textarea', { id: 'author-json', rows: 24, spellcheck: 'false', 'aria-describedby': 'err-json author-json-help', class: 'code-input' });
  const jsonError = h('p', { id: 'err-json', class: 'field-error', hidden: true });
  const submit = h('button', { type: 'submit', id: 'author-submit' }, submitLabel());

  /** @type {Map<string, { slot: HTMLElement, inputs: HTMLElement[] }>} */
  let slots = new Map();

  function submitLabel() {
    return editing ? `Submit v${editing.version + 1}` : 'Submit';
  }

  // ---- the dry run -------------------------------------------------------------------------
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  /** @type {AbortController | null} */
  let inflight = null;
  let seq = 0;
  /** The field errors shown now, kept so a re-drawn form shows them again. @type {{ path: string | null, text: string }[]} */
  let shown = [];

  function changed() {
    json.value = JSON.stringify(toBody(draft), null, 2);
    jsonError.hidden = true;
    json.removeAttribute('aria-invalid');
    scheduleDryRun();
  }

  function scheduleDryRun() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void dryRunNow(), DRY_RUN_DELAY_MS);
  }

  async function dryRunNow() {
    timer = null;
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    const mine = ++seq;
    const body = toBody(draft);
    dryRun.setAttribute('aria-busy', 'true');
    try {
      /** @type {EvaluateAnswer} */
      const r = await api('POST', '/v1/intents:evaluate', { body, signal: controller.signal });
      if (mine !== seq) return;
      showDecision(r.decision, body, null);
    } catch (err) {
      if (controller.signal.aborted || mine !== seq) return;
      showProblem(err);
    } finally {
      if (mine === seq) dryRun.removeAttribute('aria-busy');
    }
  }

  /**
   * The decision, inline: a verdict at the top, each violation next to its field.
   * @param {Decision} d @param {IntentSpec} judged @param {SubmitAnswer | null} stored
   */
  function showDecision(d, judged, stored) {
    const owed = (d.obligations?.approvals ?? []).filter((a) => a.count > 0);
    const approvals = owed.length
      ? h('p', { id: 'dry-run-approvals' }, d.allow ? 'It will need approval by ' : 'Once allowed, it will need approval by ', owed.map((a, i) => [i ? ', ' : '', h('strong', {}, a.role), ` (${a.count})`]), '.')
      : d.allow
        ? h('p', { id: 'dry-run-approvals' }, 'It needs no approval.')
        : null;
    const verdict = d.allow
      ? h('p', { id: 'dry-run-verdict', class: 'verdict ok' }, badge('status', owed.length ? 'pending_approval' : 'approved'), stored ? ' ' : ' Allowed by the policy. ')
      : h('p', { id: 'dry-run-verdict', class: 'verdict bad' }, badge('status', 'denied'), ` Denied: ${d.violations.length} ${d.violations.length === 1 ? 'violation' : 'violations'}, shown next to the fields they concern.`);
    const audit = d.obligations?.audit ? h('p', { class: 'help' }, `Audit ${d.obligations.audit.level}, kept ${d.obligations.audit.retention_days} days.`) : null;
    dryHeading.textContent = stored ? `Decision for v${stored.intent.version}` : 'Policy decision (dry run)';
    dryRun.replaceChildren(...[verdict, approvals, audit].filter((n) => n !== null));
    setErrors(d.violations.map((v) => ({ path: violationField(v, judged), text: `${v.code}: ${v.message}` })));
  }

  /** A refused dry run or submission: schema errors next to their fields, anything else at the top. @param {unknown} err */
  function showProblem(err) {
    const problem = err instanceof ApiError ? err.problem : null;
    const errors = problem && 'errors' in problem && Array.isArray(problem.errors) ? problem.errors : [];
    if (err instanceof ApiError && err.status === 400 && errors.length) {
      dryHeading.textContent = 'Policy decision (dry run)';
      dryRun.replaceChildren(
        h('p', { id: 'dry-run-verdict', class: 'verdict bad' }, `Not a complete intent yet: ${errors.length} ${errors.length === 1 ? 'field needs' : 'fields need'} attention, shown next to ${errors.length === 1 ? 'it' : 'them'}.`),
      );
      setErrors(errors.map((e) => ({ path: e.path === '(body)' ? null : e.path, text: e.message })));
      return;
    }
    dryRun.replaceChildren(errorBox(err));
    setErrors([]);
  }

  /** @param {{ path: string | null, text: string }[]} list */
  function setErrors(list) {
    shown = list;
    for (const { slot, inputs } of slots.values()) {
      slot.replaceChildren();
      slot.hidden = true;
      for (const i of inputs) i.removeAttribute('aria-invalid');
    }
    topErrors.replaceChildren();
    topErrors.hidden = true;
    for (const e of list) {
      const at = nearestSlot(e.path, (p) => slots.has(p));
      const target = at ? slots.get(at) : undefined;
      const text = e.path && e.path !== at ? `${e.path}: ${e.text}` : e.text;
      if (target) {
        target.slot.append(h('span', { class: 'field-error-item' }, text));
        target.slot.hidden = false;
        for (const i of target.inputs) i.setAttribute('aria-invalid', 'true');
      } else {
        topErrors.append(h('li', {}, e.path ? `${e.path}: ${text}` : text));
        topErrors.hidden = false;
      }
    }
  }

  // ---- the form ----------------------------------------------------------------------------
  /** An error slot for `path`, and the inputs it describes. @param {string} path */
  function slotFor(path) {
    let s = slots.get(path);
    if (!s) {
      s = { slot: h('p', { id: `err-${idOf(path)}`, class: 'field-error', hidden: true }), inputs: [] };
      slots.set(path, s);
    }
    return s;
  }

  /**
   * One labelled input, described by its field's error slot (and its help).
   * @param {string} path where its errors go
   * @param {string} label
   * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} input
   * @param {string} [help]
   */
  function field(path, label, input, help) {
    const s = slotFor(path);
    const id = input.id || `f-${idOf(path)}`;
    input.id = id;
    s.inputs.push(input);
    const helpEl = help ? h('span', { class: 'help', id: `${id}-help` }, help) : null;
    input.setAttribute('aria-describedby', [s.slot.id, helpEl ? helpEl.id : ''].filter(Boolean).join(' '));
    // The slot sits under its field; a row's slot is moved to the row's top when the row is built.
    return h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl, s.slot.parentNode ? null : s.slot);
  }

  /**
   * @param {string} value
   * @param {(v: string) => void} set
   * @param {Record<string, string | number | boolean | null | undefined>} [props]
   */
  function text(value, set, props = {}) {
    const input = h('input', { type: 'text', autocomplete: 'off', ...props });
    input.value = value;
    input.addEventListener('input', () => {
      set(input.value);
      changed();
    });
    return input;
  }

  /** @param {number | string | undefined} value @param {(v: number | null) => void} set @param {Record<string, string | number>} [props] */
  function num(value, set, props = {}) {
    const input = h('input', { type: 'number', inputmode: 'decimal', ...props });
    input.value = value === undefined || value === null ? '' : String(value);
    input.addEventListener('input', () => {
      set(input.value === '' ? null : Number(input.value));
      changed();
    });
    return input;
  }

  /**
   * A list of rows (services, variants, conditions, stages, guardrails): each a fieldset with its
   * own error slot, a Remove button, and Add under the list.
   * @template T
   * @param {string} path e.g. `services`
   * @param {string} legend
   * @param {string} noun one row, e.g. `service`
   * @param {T[]} rows
   * @param {(row: T, i: number) => Node[]} build the row's fields
   * @param {() => T} make a new row
   * @param {number} min the fewest rows
   */
  function rowList(path, legend, noun, rows, build, make, min) {
    const group = slotFor(path);
    const add = h('button', { type: 'button', class: 'secondary', id: `add-${idOf(path)}` }, `Add ${noun}`);
    add.addEventListener('click', () => {
      rows.push(make());
      redraw(`[data-row="${path}.${rows.length - 1}"] input, [data-row="${path}.${rows.length - 1}"] select`);
      changed();
    });
    return h(
      'fieldset',
      { class: 'rows', id: `group-${idOf(path)}` },
      h('legend', {}, legend),
      group.slot,
      rows.map((row, i) => {
        const rowPath = `${path}.${i}`;
        const s = slotFor(rowPath);
        const inner = build(row, i);
        const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove ${noun} ${i + 1}`, disabled: rows.length <= min }, 'Remove');
        remove.addEventListener('click', () => {
          rows.splice(i, 1);
          redraw(`#add-${idOf(path)}`);
          changed();
        });
        return h('fieldset', { class: 'row', 'data-row': rowPath }, h('legend', {}, `${noun[0]?.toUpperCase()}${noun.slice(1)} ${i + 1}`), s.slot, h('div', { class: 'row-fields' }, inner, remove));
      }),
      add,
    );
  }

  /** Every field, drawn from the draft. */
  function buildFields() {
    slots = new Map();
    const d = draft;
    /** @type {Record<string, any>} */
    const any = d;
    if (!Array.isArray(d.services)) d.services = [];
    if (!Array.isArray(d.variants)) d.variants = [];
    const datalist = h('datalist', { id: 'catalog-services' }, catalog.map((c) => h('option', { value: c.service }, `${c.service} (${c.tier ?? 'no tier'})`)));
    const metricList = h('datalist', { id: 'catalog-metrics' }, METRICS.map((m) => h('option', { value: m })));
    const keyInput = text(String(d.key ?? ''), (v) => (d.key = v), { disabled: !!editing, spellcheck: 'false' });
    const basics = h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'The experiment'),
      field('key', 'Key', keyInput, editing ? 'The key of a stored intent does not change.' : 'Lower case letters, digits and dashes, 3 to 63 characters, starting with a letter.'),
      field('owner', 'Owner team', text(String(d.owner ?? ''), (v) => (d.owner = v))),
      field('description', 'Description', (() => {
        const t = h('textarea', { rows: 2 });
        t.value = String(d.description ?? '');
        t.addEventListener('input', () => {
          d.description = t.value;
          changed();
        });
        return t;
      })()),
      field('unit', 'Unit', text(String(d.unit ?? ''), (v) => (d.unit = v), { placeholder: 'user_id' }), 'The context attribute units are bucketed by (default user_id).'),
    );
    const services = rowList(
      'services',
      'Services and flags (at least one)',
      'service',
      d.services,
      (row, i) => [
        field(`services.${i}`, 'Service', text(row.service ?? '', (v) => (row.service = v), { list: 'catalog-services', id: `f-services-${i}-service` })),
        field(`services.${i}`, 'Flag', text(row.flag ?? '', (v) => (row.flag = v), { id: `f-services-${i}-flag`, spellcheck: 'false' })),
      ],
      () => ({ service: '', flag: '' }),
      1,
    );
    const variants = rowList(
      'variants',
      'Variants (at least two; the first is the control, served to units outside the experiment)',
      'variant',
      d.variants,
      (row, i) => [
        field(`variants.${i}`, 'Variant key', text(row.key ?? '', (v) => (row.key = v), { id: `f-variants-${i}-key` })),
        field(`variants.${i}`, 'Weight', num(row.weight, (v) => (row.weight = /** @type {number} */ (v)), { min: 0, step: 1, id: `f-variants-${i}-weight` })),
        field(`variants.${i}`, 'Value', text(showValue(row.value), (v) => (row.value = readValue(v)), { id: `f-variants-${i}-value` }), 'JSON (true, 3, "text") or plain text'),
        row.overrides ? h('p', { class: 'help' }, `Overrides in ${Object.keys(row.overrides).join(', ')}: edit them in the JSON tab.`) : null,
      ].filter((n) => n !== null),
      () => ({ key: `arm-${d.variants.length}`, weight: 0, value: '' }),
      2,
    );
    const exposure = h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Exposure'),
      field('exposure', 'Exposure (% of units)', num(d.exposure, (v) => (d.exposure = /** @type {number} */ (v)), { min: 0.01, max: 100, step: 0.01 }), 'More than 0, at most 100, two decimals at most.'),
      field('layer', 'Layer', text(String(d.layer ?? ''), (v) => (d.layer = v)), 'Experiments in one layer get disjoint slices of its units.'),
    );
    if (!Array.isArray(d.audience)) d.audience = [];
    const audience = rowList(
      'audience',
      'Audience (every condition must hold; none: everyone)',
      'condition',
      d.audience,
      (row, i) => {
        const op = h('select', { id: `f-audience-${i}-op` }, OPS.map((o) => h('option', { value: o, selected: o === row.op }, o)));
        const listy = () => LIST_OPS.includes(row.op);
        const values = text(listy() ? showList(row.values) : showValue(row.value), (v) => setValues(v), { id: `f-audience-${i}-values` });
        /** @param {string} v */
        const setValues = (v) => {
          if (listy()) {
            delete row.value;
            // A value that is no scalar (`{"a":1}`) stays in the draft as typed: the server's
            // validation_failed then points at this field. The declared type names what it accepts.
            row.values = /** @type {NonNullable<AudienceCondition['values']>} */ (readList(v));
          } else {
            delete row.values;
            row.value = /** @type {AudienceCondition['value']} */ (readValue(v));
          }
        };
        op.addEventListener('change', () => {
          row.op = /** @type {AudienceCondition['op']} */ (op.value); // one of OPS, the select's options
          setValues(values.value);
          changed();
        });
        return [
          field(`audience.${i}`, 'Attribute', text(row.attribute ?? '', (v) => (row.attribute = v), { id: `f-audience-${i}-attribute` })),
          field(`audience.${i}`, 'Operator', op),
          field(`audience.${i}`, 'Value (in, not in: a comma-separated list)', values),
        ];
      },
      () => /** @type {AudienceCondition} */ ({ attribute: '', op: 'eq', value: '' }),
      0,
    );
    const dataAccess = field(
      'data_access',
      'Data classes it reads',
      text((d.data_access ?? []).join(', '), (v) => (d.data_access = v.split(',').map((s) => s.trim()).filter(Boolean))),
      'Comma-separated, e.g. clickstream, purchase_history.',
    );
    const sched = d.schedule ?? {};
    const example = schedulePlaceholder(new Date());
    const schedule = h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Schedule (empty: live as soon as approved, until completed)'),
      slotFor('schedule').slot,
      field('schedule.start', 'Start (UTC, ISO 8601)', text(sched.start ?? '', (v) => (d.schedule = { ...d.schedule, start: v }), { placeholder: example.start })),
      field('schedule.end', 'End (UTC, ISO 8601)', text(sched.end ?? '', (v) => (d.schedule = { ...d.schedule, end: v }), { placeholder: example.end })),
    );
    // A schedule violation concerns both dates: their inputs are marked with it.
    slotFor('schedule').inputs.push(...(slots.get('schedule.start')?.inputs ?? []), ...(slots.get('schedule.end')?.inputs ?? []));
    return [datalist, metricList, basics, services, variants, exposure, audience, h('fieldset', { class: 'group' }, h('legend', {}, 'Data access'), dataAccess), schedule, rolloutFields(any)];
  }

  /** @param {Record<string, any>} d */
  function rolloutFields(d) {
    const on = h('input', { type: 'checkbox', id: 'f-rollout-on', checked: !!d['rollout'] });
    on.addEventListener('change', () => {
      if (on.checked) d['rollout'] = { stages: [{ exposure: d['exposure'], hold: 'PT0S' }], guardrails: [], auto_advance: false };
      else delete d['rollout'];
      redraw('#f-rollout-on');
      changed();
    });
    const r = d['rollout'];
    /** @type {Child[]} */
    const inner = [];
    if (r) {
      if (!Array.isArray(r.stages)) r.stages = [];
      if (!Array.isArray(r.guardrails)) r.guardrails = [];
      inner.push(
        rowList(
          'rollout.stages',
          'Stages (exposure strictly increasing; the last equals the exposure above)',
          'stage',
          r.stages,
          (/** @type {{ exposure: number, hold?: string }} */ st, /** @type {number} */ i) => [
            field(`rollout.stages.${i}`, 'Exposure (%)', num(st.exposure, (v) => (st.exposure = /** @type {number} */ (v)), { min: 0.01, max: 100, step: 0.01, id: `f-rollout-stages-${i}-exposure` })),
            field(`rollout.stages.${i}`, 'Hold (ISO 8601 duration)', text(st.hold ?? '', (v) => (v ? (st.hold = v) : delete st.hold), { placeholder: 'PT1H', id: `f-rollout-stages-${i}-hold` })),
          ],
          () => ({ exposure: d['exposure'], hold: 'PT1H' }),
          1,
        ),
        rowList(
          'rollout.guardrails',
          'Guardrails (a metric and the regression tolerated)',
          'guardrail',
          r.guardrails,
          (/** @type {{ metric: string, max_regression?: number }} */ g, /** @type {number} */ i) => [
            field(`rollout.guardrails.${i}`, 'Metric', text(g.metric ?? '', (v) => (g.metric = v), { list: 'catalog-metrics', id: `f-rollout-guardrails-${i}-metric` })),
            field(`rollout.guardrails.${i}`, 'Tolerated regression (0.1 = 10 %)', num(g.max_regression, (v) => (v === null ? delete g.max_regression : (g.max_regression = v)), { min: 0, step: 0.01, id: `f-rollout-guardrails-${i}-max` })),
          ],
          () => ({ metric: 'error_rate', max_regression: 0.1 }),
          0,
        ),
      );
      const auto = h('input', { type: 'checkbox', id: 'f-rollout-auto', checked: !!r.auto_advance });
      auto.addEventListener('change', () => {
        r.auto_advance = auto.checked;
        changed();
      });
      inner.push(h('div', { class: 'field inline' }, auto, h('label', { for: 'f-rollout-auto' }, 'Advance by itself once a hold is over and the analysis is healthy')));
    }
    return h(
      'fieldset',
      { class: 'group', id: 'group-rollout' },
      h('legend', {}, 'Staged, guarded rollout'),
      slotFor('rollout').slot,
      h('div', { class: 'field inline' }, on, h('label', { for: 'f-rollout-on' }, 'Roll out in stages, guarded by metrics')),
      inner,
    );
  }

  /** Draws the fields again from the draft (after a row was added or removed, or the JSON changed), keeping the errors shown. @param {string} [focus] */
  function redraw(focus) {
    const active = focus ?? (document.activeElement instanceof HTMLElement && fields.contains(document.activeElement) ? `#${document.activeElement.id}` : null);
    fields.replaceChildren(...buildFields());
    setErrors(shown);
    if (active) {
      /** @type {HTMLElement | null} */
      const el = fields.querySelector(active);
      el?.focus();
    }
  }

  // ---- the JSON tab ------------------------------------------------------------------------
  json.addEventListener('input', () => {
    /** @type {unknown} */
    let parsed;
    try {
      parsed = JSON.parse(json.value);
    } catch (err) {
      jsonError.textContent = `Not JSON yet: ${err instanceof Error ? err.message : String(err)}. The form keeps the last valid intent.`;
      jsonError.hidden = false;
      json.setAttribute('aria-invalid', 'true');
      return;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      jsonError.textContent = 'An intent is a JSON object.';
      jsonError.hidden = false;
      json.setAttribute('aria-invalid', 'true');
      return;
    }
    jsonError.hidden = true;
    json.removeAttribute('aria-invalid');
    draft = /** @type {IntentSpec} */ (parsed);
    redraw();
    scheduleDryRun();
  });

  // ---- tabs --------------------------------------------------------------------------------
  const tabForm = h('button', { type: 'button', role: 'tab', id: 'tab-form', 'aria-controls': 'panel-form', 'aria-selected': 'true' }, 'Form');
  const tabJson = h('button', { type: 'button', role: 'tab', id: 'tab-json', 'aria-controls': 'panel-json', 'aria-selected': 'false', tabindex: '-1' }, 'JSON');
  const panelForm = h('div', { role: 'tabpanel', id: 'panel-form', 'aria-labelledby': 'tab-form' }, fields);
  const panelJson = h(
    'div',
    { role: 'tabpanel', id: 'panel-json', 'aria-labelledby': 'tab-json', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'author-json' }, 'The intent as JSON'), json, jsonError),
    h('p', { class: 'help', id: 'author-json-help' }, 'Every field of SPEC §2, including what the form does not cover (a variant’s overrides per service). Changes here show in the form, and the other way round.'),
  );
  /** @param {'form' | 'json'} which */
  const select = (which) => {
    const isForm = which === 'form';
    tabForm.setAttribute('aria-selected', String(isForm));
    tabJson.setAttribute('aria-selected', String(!isForm));
    tabForm.tabIndex = isForm ? 0 : -1;
    tabJson.tabIndex = isForm ? -1 : 0;
    panelForm.hidden = !isForm;
    panelJson.hidden = isForm;
    (isForm ? tabForm : tabJson).focus();
  };
  tabForm.addEventListener('click', () => select('form'));
  tabJson.addEventListener('click', () => select('json'));
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Edit the intent as', class: 'tabs' }, tabForm, tabJson);
  tablist.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      ev.preventDefault();
      select(tabForm.getAttribute('aria-selected') === 'true' ? 'json' : 'form');
    }
  });

  // ---- submit ------------------------------------------------------------------------------
  const form = h('form', { id: 'author-form', novalidate: true, 'aria-labelledby': 'author-heading' }, tablist, panelForm, panelJson, h('div', { class: 'buttons' }, submit), submitResult);
  let submitting = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submitting) return;
    submitting = true;
    submit.disabled = true;
    if (timer) clearTimeout(timer);
    inflight?.abort();
    seq++;
    const body = toBody(draft);
    submitResult.replaceChildren();
    try {
      /** @type {SubmitAnswer} */
      const r = editing
        ? await api('PUT', `/v1/intents/${enc(editing.key)}`, { body, headers: editing.etag ? { 'If-Match': editing.etag } : {} })
        : await api('POST', '/v1/intents', { body });
      const key = r.intent.key;
      if (r.status === 'denied') {
        // Stored, but denied: stay here, now editing that key, to fix it and submit the next version.
        const meta = /** @type {{ etag?: string | null }} */ ({});
        await api('GET', `/v1/intents/${enc(key)}`, { meta });
        editing = { key, version: r.intent.version, etag: meta.etag ?? null };
        history.replaceState(null, '', `#/experiments/${enc(key)}/edit`);
        showDecision(r.decision, body, r);
        redraw();
        submit.textContent = submitLabel();
        const msg = `Submitted ${key} v${r.intent.version}: denied by the policy. Change the fields marked and submit v${r.intent.version + 1}.`;
        submitResult.replaceChildren(h('p', { class: 'error', id: 'submit-denied' }, msg));
        announce(msg);
        return;
      }
      const msg = `Submitted ${key} v${r.intent.version}: ${humanize(r.status)}${r.state ? `, ${r.state}` : ''}.`;
      history.pushState(null, '', `#/experiments/${enc(key)}`);
      announce(msg);
      await rerender({ focus: 'h1' });
      flash(msg);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'version_changed') {
        submitResult.replaceChildren(
          h('p', { class: 'error', role: 'alert', id: 'submit-error' }, `Someone submitted a newer version of ${editing?.key} while you were editing: nothing was stored. `, h('a', { href: `#/experiments/${enc(editing?.key ?? '')}` }, 'Read it'), ' before you change it.'),
        );
      } else {
        showProblem(err);
        submitResult.replaceChildren(h('p', { class: 'error', role: 'alert', id: 'submit-error' }, `Not submitted: ${err instanceof Error ? err.message : String(err)}`));
      }
    } finally {
      submitting = false;
      submit.disabled = false;
    }
  });

  fields.replaceChildren(...buildFields());
  json.value = JSON.stringify(toBody(draft), null, 2);
  // A stored intent is judged at once (it may carry a denial to fix); a blank one once typed into.
  if (editing) scheduleDryRun();

  return [
    title,
    [
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', editing ? [h('a', { href: `#/experiments/${enc(editing.key)}` }, editing.key), ' / edit'] : 'new'),
      h('h1', { id: 'author-heading' }, editing ? `Edit ${editing.key}: v${editing.version + 1}` : 'New experiment'),
      h('p', { class: 'help' }, editing ? `Submitting makes v${editing.version + 1}, judged afresh; the live version keeps running until it is approved.` : 'Submitting stores it as v1 with the policy’s decision.'),
      h('section', { 'aria-labelledby': 'dry-run-heading', class: 'dry-run-wrap' }, dryHeading, dryRun, topErrors),
      form,
    ],
  ];
}

/** An element id for a field path: `services.0` → `services-0`. @param {string} path */
function idOf(path) {
  return path.replace(/[^a-zA-Z0-9_-]/g, '-');
}

/** The "New experiment" link for the list, for the roles that may submit (owner, admin). */
export function newExperimentLink() {
  const role = session.me?.role;
  return role === 'owner' || role === 'admin' ? h('p', {}, h('a', { href: '#/new', class: 'button-link', id: 'new-experiment' }, 'New experiment')) : null;
}

/** "Edit" on an experiment, when the server says the caller may submit a new version (`editable`). @param {IntentDetail} exp */
export function editLink(exp) {
  return exp.editable ? h('p', {}, h('a', { href: `#/experiments/${enc(exp.key)}/edit`, class: 'button-link', id: 'edit-intent' }, `Edit: submit v${exp.version + 1}`)) : null;
}
