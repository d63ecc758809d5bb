// @ts-check
/** A guarded rollout (SPEC §10): its stage ladder, its guardrails over time, and Advance. */
import { api, enc } from '../api.js';
import { openDialog } from '../dialog.js';
import { h, svg } from '../dom.js';
import { badge, dl, errorBox, instant, pct, table, time } from '../format.js';

/** @typedef {import('../../types.js').IntentDetail} IntentDetail */
/** @typedef {import('../../types.js').Analysis} Analysis */
/** @typedef {import('../../types.js').GuardrailResult} GuardrailResult */
/** @typedef {import('../../types.js').Child} Child */

/**
 * The stage ladder (each stage's exposure and hold, the current one marked), the guardrails' charts,
 * and Advance when the server lists it among the caller's allowed actions.
 * @param {IntentDetail & { rollout: NonNullable<IntentDetail['rollout']> }} exp
 * @param {Analysis | { error: unknown } | null} analysis
 */
export function rolloutSection(exp, analysis) {
  const r = exp.rollout;
  const stages = exp.intent.rollout?.stages ?? [];
  const ladder = h(
    'ol',
    { class: 'ladder', id: 'rollout-ladder', 'aria-label': `Stages of ${exp.key}` },
    stages.map((st, i) =>
      h(
        'li',
        { class: i === r.stage ? 'current' : i < r.stage ? 'done' : 'todo', 'aria-current': i === r.stage ? 'step' : null },
        h('span', { class: 'stage-name' }, `Stage ${i + 1}`),
        h('span', { class: 'stage-exposure' }, `${st.exposure} %`),
        h('span', { class: 'stage-hold' }, st.hold && st.hold !== 'PT0S' ? `hold ${st.hold}` : 'no hold'),
        i === r.stage ? h('span', { class: 'stage-here' }, 'now') : null,
        h('span', { class: 'visually-hidden' }, i < r.stage ? ' (done)' : i > r.stage ? ' (to come)' : ''),
      ),
    ),
  );
  const advance = (exp.allowed_actions ?? []).includes('advance')
    ? h(
        'button',
        {
          type: 'button',
          id: 'action-advance',
          /** @param {MouseEvent} ev */
          onclick: (ev) =>
            openDialog(/** @type {HTMLElement} */ (ev.currentTarget), {
              title: `Advance ${exp.key} to stage ${r.stage + 2}`,
              help: `Stage ${r.stage + 2} exposes ${stages[r.stage + 1]?.exposure ?? '?'} % of units. Units exposed now stay exposed, in the same arm.`,
              field: { label: 'Reason (optional, kept in the audit trail)', required: false },
              confirm: 'Advance',
              /** @returns {Promise<IntentDetail>} */
              run: (reason) => api('POST', `/v1/intents/${enc(exp.key)}/actions`, { body: reason ? { action: 'advance', reason } : { action: 'advance' } }),
              done: (d) => (d.rollout ? `Advanced. ${exp.key} is at stage ${d.rollout.stage + 1} of ${d.rollout.stages}, ${d.rollout.exposure} % exposed.` : `Advanced ${exp.key}.`),
            }),
        },
        'Advance',
      )
    : null;
  return h(
    'section',
    { 'aria-labelledby': 'rollout-heading' },
    h('h2', { id: 'rollout-heading' }, 'Rollout'),
    dl([
      ['Stage', h('span', { id: 'rollout-stage' }, `${r.stage + 1} of ${r.stages}, ${r.exposure} % exposed`)],
      ['Status', h('span', { id: 'rollout-status' }, badge('rollout', r.status))],
      ['Hold until', time(r.hold_until)],
      ['Auto advance', exp.intent.rollout?.auto_advance ? 'yes, once the hold is over and the analysis is healthy' : 'no'],
      ['Next advance', h('span', { id: 'rollout-next' }, nextAdvance(exp, analysis))],
    ]),
    ladder,
    advance ? h('div', { class: 'buttons' }, advance) : null,
    analysisPart(analysis),
  );
}

/** @param {Analysis | { error: unknown } | null} a @returns {Child} */
function analysisPart(a) {
  if (!a) return null;
  if ('error' in a) return errorBox(a.error);
  const units = Object.entries(a.units).map(([arm, n]) => `${arm} ${n}`).join(', ');
  /** @type {Child[]} */
  const nodes = [
    h('h3', { id: 'analysis-heading' }, 'Guardrails'),
    h(
      'p',
      { id: 'analysis-summary' },
      'Analysis ',
      badge('analysis', a.status),
      ` · units ${units} · sample ratio p = ${a.srm.p_value < 0.001 ? a.srm.p_value.toExponential(2) : a.srm.p_value.toFixed(3)}${a.srm.flagged ? ' (mismatch)' : ''} · assignment mismatches ${a.assignment_mismatches}`,
    ),
  ];
  const metrics = [...new Set(a.guardrails.map((g) => g.metric))];
  if (metrics.length === 0) nodes.push(h('p', { class: 'empty' }, 'This rollout has no guardrails.'));
  for (const metric of metrics) {
    const rows = a.guardrails.filter((g) => g.metric === metric);
    const first = /** @type {GuardrailResult} */ (rows[0]);
    nodes.push(
      h('h4', {}, metric, first.better ? ` (${first.better} is better; tolerated ${pct(first.better === 'higher' ? -first.max_regression : first.max_regression)})` : ''),
      guardrailChart(metric, rows, a.history ?? []),
      historyTable(metric, rows, a.history ?? []),
      table(
        null,
        ['Arm', 'Control (units, mean)', 'Arm (units, mean)', 'Change', 'Interval', 'Status'],
        rows.map((g) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, g.arm),
            h('td', {}, `${g.control.units}, ${+g.control.mean.toPrecision(4)}`),
            h('td', {}, `${g.arm_stats.units}, ${+g.arm_stats.mean.toPrecision(4)}`),
            h('td', {}, pct(g.relative_change)),
            h('td', {}, g.interval ? `[${pct(g.interval[0])}, ${pct(g.interval[1])}]` : '—'),
            h('td', {}, badge('guardrail', g.status)),
          ),
        ),
        { label: `Guardrail ${metric}, each arm against the control` },
      ),
    );
  }
  return nodes;
}

const ARM_COLOURS = ['#0b5cad', '#b35900', '#6f42c1', '#1a7f37', '#b42318'];

/**
 * One guardrail over time: per arm, its relative change against control (a line) and its interval
 * (a band), from the analysis history; a dashed line where the tolerated regression lies, and zero.
 * @param {string} metric
 * @param {GuardrailResult[]} rows this metric's rows, one per arm
 * @param {NonNullable<Analysis['history']>} history
 */
function guardrailChart(metric, rows, history) {
  const W = 640, H = 220, L = 64, R = 110, T = 12, B = 40;
  const arms = rows.map((g) => g.arm);
  const series = arms.map((arm) =>
    history.flatMap((p) => {
      const g = p.guardrails.find((x) => x.metric === metric && x.arm === arm);
      return g && g.relative_change !== null && g.interval ? [{ t: Date.parse(p.at), change: g.relative_change, interval: g.interval }] : [];
    }),
  );
  const points = series.flat();
  if (points.length === 0) {
    return h('p', { class: 'empty chart-empty', 'data-metric': metric }, 'No analysis points yet: the chart starts once both arms have values and the guardrail loop has run.');
  }
  const first = /** @type {GuardrailResult} */ (rows[0]);
  const bad = first.better === 'higher' ? -first.max_regression : first.max_regression;
  const ys = [0, bad, ...points.flatMap((p) => [p.interval[0], p.interval[1]])];
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  const pad = (y1 - y0) * 0.08 || 0.05;
  y0 -= pad;
  y1 += pad;
  let t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t));
  if (t1 === t0) { t0 -= 60_000; t1 += 60_000; }
  /** @param {number} t */
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  /** @param {number} v */
  const y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  /** @param {number} n */
  const f = (n) => n.toFixed(1);
  /** @param {number} v @param {string} cls @param {string} label */
  const hline = (v, cls, label) => [
    svg('line', { x1: L, x2: W - R, y1: f(y(v)), y2: f(y(v)), class: cls }),
    svg('text', { x: W - R + 4, y: f(y(v) + 4), class: `chart-label ${cls}` }, label),
  ];
  /** @param {number} t */
  const clock = (t) => new Date(t).toISOString().slice(11, 19);
  /** @type {Child[]} */
  const children = [
    svg('title', {}, `${metric}: relative change of ${arms.join(', ')} against control over time, with intervals`),
    svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }),
    svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }),
    [y0 + pad, y1 - pad].map((v) => svg('text', { x: L - 6, y: f(y(v) + 4), 'text-anchor': 'end', class: 'tick' }, pct(v))),
    svg('text', { x: L, y: H - B + 16, class: 'tick' }, clock(t0)),
    svg('text', { x: W - R, y: H - B + 16, 'text-anchor': 'end', class: 'tick' }, clock(t1)),
    svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label' }, 'time (UTC)'),
    svg('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 12 ${(T + H - B) / 2})` }, 'change vs control'),
    hline(0, 'zero', '0 %'),
    hline(bad, 'tolerance', `tolerated ${pct(bad)}`),
  ];
  series.forEach((pts, i) => {
    const p0 = pts[0];
    if (!p0) return;
    const colour = ARM_COLOURS[i % ARM_COLOURS.length];
    const upper = pts.map((p) => `${f(x(p.t))},${f(y(p.interval[1]))}`);
    const lower = pts.map((p) => `${f(x(p.t))},${f(y(p.interval[0]))}`).reverse();
    const line = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(p.change))}`).join(' ');
    children.push(
      pts.length > 1
        ? svg('polygon', { points: [...upper, ...lower].join(' '), fill: colour, class: 'band', 'data-arm': arms[i] })
        : svg('line', { x1: f(x(p0.t)), x2: f(x(p0.t)), y1: f(y(p0.interval[1])), y2: f(y(p0.interval[0])), stroke: colour, class: 'band', 'data-arm': arms[i] }),
      svg('path', { d: pts.length > 1 ? line : `${line} h0.01`, stroke: colour, class: 'arm-line', 'data-arm': arms[i] }),
      pts.map((p) => svg('circle', { cx: f(x(p.t)), cy: f(y(p.change)), r: 2.5, fill: colour })),
      // legend, top right: one swatch and name per arm
      svg('rect', { x: W - R + 8, y: T + 4 + i * 16, width: 10, height: 10, fill: colour }),
      svg('text', { x: W - R + 22, y: T + 13 + i * 16, class: 'chart-label' }, arms[i]),
    );
  });
  return h(
    'figure',
    { class: 'chart', 'data-metric': metric },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${metric} against control over time` }, children),
    h('figcaption', { class: 'help' }, `Each line is an arm's relative change in ${metric} against control; its shaded band is the always-valid interval. The rollout trips when a band lies wholly beyond the dashed tolerance.`),
  );
}

/**
 * When the next stage may start, and what holds it back: the hold (until when), a guardrail that
 * regressed or a sample-ratio mismatch (from the analysis), a halt, or the last stage reached.
 * @param {IntentDetail & { rollout: NonNullable<IntentDetail['rollout']> }} exp
 * @param {Analysis | { error: unknown } | null} analysis
 * @returns {Child}
 */
export function nextAdvance(exp, analysis) {
  const r = exp.rollout;
  const auto = !!exp.intent.rollout?.auto_advance;
  const a = analysis && !('error' in analysis) ? analysis : null;
  const next = exp.intent.rollout?.stages[r.stage + 1];
  const to = next ? `stage ${r.stage + 2} (${next.exposure} %)` : '';
  switch (r.status) {
    case 'complete':
      return `None: stage ${r.stage + 1} is the last. Ship a variant or complete the experiment to end it.`;
    case 'halted':
      return [`Halted: a guardrail tripped and the guardrail paused ${exp.key}. `, blockers(a) ?? '', 'Resume it to go on.'];
    case 'holding':
      return [`To ${to} from `, instant(r.hold_until), `, when the hold of stage ${r.stage + 1} is over`, auto ? '; it advances by itself then if the analysis is healthy.' : '.'];
    case 'blocked':
      return [`To ${to} once the analysis is clear. Blocked: `, blockers(a) ?? 'the analysis is regressed or flagged.'];
    case 'ready':
      return `To ${to} now: the hold is over${a ? ` and the analysis is ${a.status}` : ''}.${auto ? ' It advances by itself at the next guardrail check if the analysis is healthy.' : ' Advance when you are ready.'}`;
    default:
      return '—';
  }
}

/** What the analysis says stops the rollout: a sample-ratio mismatch, or each guardrail that regressed. @param {Analysis | null} a @returns {string | null} */
function blockers(a) {
  if (!a) return null;
  if (a.srm.flagged) return `the sample ratio does not match the weights (p = ${a.srm.p_value.toExponential(2)}). `;
  const bad = a.guardrails.filter((g) => g.status === 'regressed');
  if (bad.length === 0) return null;
  return `${bad.map((g) => `${g.metric} in ${g.arm} regressed (${pct(g.relative_change)}, interval ${g.interval ? `[${pct(g.interval[0])}, ${pct(g.interval[1])}]` : '—'}, tolerated ${pct(g.better === 'higher' ? -g.max_regression : g.max_regression)})`).join('; ')}. `;
}

/**
 * The chart's points as a table, for screen readers and for exact numbers: per analysis point and
 * arm, the relative change, its interval and the guardrail's status then. Each point's time is
 * exact (the column says UTC, and the points are minutes apart: "4 days ago" twice would not tell
 * them apart, while the chart's axis does).
 * @param {string} metric @param {GuardrailResult[]} rows @param {NonNullable<Analysis['history']>} history
 */
function historyTable(metric, rows, history) {
  const arms = rows.map((g) => g.arm);
  const trs = history.flatMap((p) =>
    arms.flatMap((arm) => {
      const g = p.guardrails.find((x) => x.metric === metric && x.arm === arm);
      if (!g) return [];
      return [
        h(
          'tr',
          {},
          h('td', {}, instant(p.at)),
          h('th', { scope: 'row' }, arm),
          h('td', { class: 'num' }, pct(g.relative_change)),
          h('td', {}, g.interval ? `[${pct(g.interval[0])}, ${pct(g.interval[1])}]` : '—'),
          h('td', {}, badge('guardrail', g.status)),
        ),
      ];
    }),
  );
  if (trs.length === 0) return null;
  return h(
    'details',
    { class: 'chart-table', 'data-metric': metric },
    h('summary', {}, `The chart of ${metric} as a table (${history.length} ${history.length === 1 ? 'point' : 'points'})`),
    table(`${metric}: each arm against control at each analysis`, ['Time (UTC)', 'Arm', 'Change', 'Interval', 'Status'], trs, { label: `${metric} over time, as a table` }),
  );
}