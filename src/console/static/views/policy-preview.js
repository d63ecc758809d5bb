// @ts-check
/**
 * The preview of a candidate bundle (PUT /v1/policy?dry_run=true, issue #18): the live experiments
 * it would deny first, then those it changes, then the unchanged ones collapsed under a count; and
 * what it changes in the rules' data (data.json) against the active revision, old → new.
 */
import { enc } from '../api.js';
import { h } from '../dom.js';
import { badge, shortHash, table } from '../format.js';
import { pathText, valueText } from '../links.js';

/** @typedef {import('../../types.js').PublishResult} PublishResult */
/** @typedef {import('../../types.js').PolicyInfo} PolicyInfo */
/** @typedef {import('../../types.js').ImpactRow} ImpactRow */
/** @typedef {import('../../types.js').DataChange} DataChange */
/** @typedef {import('../../types.js').Child} Child */

const COLUMNS = ['Experiment', 'Version', 'State', 'Verdict', 'Changed', 'Violations under the candidate'];

/**
 * The three groups, in the order a reviewer needs them. Pure: exported for the order's test.
 * @param {ImpactRow[]} rows
 * @returns {{ deny: ImpactRow[], changed: ImpactRow[], unchanged: ImpactRow[] }}
 */
export function groupImpact(rows) {
  const deny = rows.filter((e) => e.new.status === 'denied');
  const changed = rows.filter((e) => e.new.status !== 'denied' && e.changed);
  const unchanged = rows.filter((e) => e.new.status !== 'denied' && !e.changed);
  return { deny, changed, unchanged };
}

/** @param {ImpactRow} e */
function impactRow(e) {
  return h(
    'tr',
    { class: e.changed ? 'changed' : null, 'data-key': e.key },
    h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(e.key)}` }, e.key)),
    h('td', { class: 'num' }, `v${e.version}`),
    h('td', {}, badge('state', e.state)),
    h('td', { class: 'verdicts' }, badge('status', e.old.status), ' → ', badge('status', e.new.status)),
    h('td', {}, e.changed ? 'yes' : 'no'),
    h(
      'td',
      {},
      e.new.violations.length ? h('ul', { class: 'plain' }, e.new.violations.map((v) => h('li', {}, h('code', {}, v.code), ' ', v.message))) : 'none',
    ),
  );
}

/**
 * @param {string} id @param {string} title @param {ImpactRow[]} rows @param {string} caption
 * @returns {Child}
 */
function group(id, title, rows, caption) {
  if (rows.length === 0) return null;
  return h(
    'div',
    { class: `impact-group ${id}`, id },
    h('h4', {}, `${title} (${rows.length})`),
    table(caption, COLUMNS, rows.map(impactRow), { cards: true }),
  );
}

/** @param {PublishResult} report @param {PolicyInfo} info @returns {Child[]} */
export function impactView(report, info) {
  const im = report.impact;
  const same = report.revision === info.revision;
  const { deny, changed, unchanged } = groupImpact(im.experiments);
  const quiet = deny.length === 0 && changed.length === 0;
  /** @type {Child} */
  let rest = null;
  if (unchanged.length > 0) {
    // Collapsed under its count while something above needs reading; open when nothing changes.
    rest = h(
      'details',
      { class: 'impact-group unchanged', id: 'impact-unchanged', open: quiet },
      h('summary', {}, `Unchanged (${unchanged.length})`),
      table('Live experiments the candidate leaves as they are', COLUMNS, unchanged.map(impactRow), { cards: true }),
    );
  }
  return [
    h('h3', {}, 'Impact'),
    h(
      'p',
      { id: 'impact-summary' },
      `Candidate `,
      shortHash(report.revision),
      same ? ' (the active revision)' : ` against active `,
      same ? '' : shortHash(report.previous_revision),
      `: ${im.evaluated} live experiment${im.evaluated === 1 ? '' : 's'} evaluated, ${im.changed} changed, ${im.would_deny} would be denied.`,
    ),
    im.experiments.length === 0 ? h('p', { class: 'empty' }, 'No live experiment to evaluate.') : null,
    group('impact-deny', 'Would be denied', deny, 'Live experiments the candidate would deny: verdict under the active policy → under the candidate'),
    group('impact-changed', 'Changed', changed, 'Live experiments whose verdict, violations or obligations change'),
    rest,
    dataChangesView(report),
  ];
}

/** @param {DataChange} c @returns {[string, string]} */
function beforeAfter(c) {
  if (c.change === 'added') return ['—', valueText(c.after)];
  if (c.change === 'removed') return [valueText(c.before), '—'];
  return [valueText(c.before), valueText(c.after)];
}

/** What the candidate changes in the rules' data (data.json): catalog, caps, metrics, approvals. @param {PublishResult} report */
export function dataChangesView(report) {
  const changes = report.data_changes ?? [];
  const rows = changes.map((c) => {
    const [before, after] = beforeAfter(c);
    return h(
      'tr',
      { class: `data-${c.change}`, 'data-path': c.path.join('.') },
      h('th', { scope: 'row' }, h('code', { class: 'wrap' }, pathText(c.path))),
      h('td', {}, badge('data', c.change)),
      h('td', { class: 'before' }, h('code', { class: 'wrap' }, before)),
      h('td', { class: 'after' }, h('code', { class: 'wrap' }, after)),
    );
  });
  const omitted = report.data_changes_omitted ?? 0;
  return h(
    'section',
    { 'aria-labelledby': 'data-changes-heading', id: 'data-changes' },
    h('h3', { id: 'data-changes-heading' }, 'What changes in the rules’ data'),
    h(
      'p',
      { class: 'help' },
      'The candidate’s data.json (catalog services and tiers, exposure caps, metrics, approval rules) against the active revision’s.',
    ),
    table('Data the candidate changes: active → candidate', ['Path', 'Change', 'Active', 'Candidate'], rows, {
      cards: true,
      id: 'data-changes-table',
      empty: 'The candidate’s data is the same as the active revision’s.',
    }),
    omitted > 0 ? h('p', { class: 'help', id: 'data-changes-omitted' }, `${omitted} more change${omitted === 1 ? '' : 's'} not listed.`) : null,
  );
}
