// @ts-check
/** #/policy: the active revision; for governance and admin, a preview of a new bundle's impact, then Publish. */
import { api, enc } from '../api.js';
import { openDialog } from '../dialog.js';
import { announce, append, h } from '../dom.js';
import { badge, dl, errorBox, shortHash, table, time } from '../format.js';
import { session } from '../session.js';

/** @typedef {import('../../types.js').PolicyInfo} PolicyInfo */
/** @typedef {import('../../types.js').PublishResult} PublishResult */
/** @typedef {import('../../types.js').Child} Child */

/** @type {import('../nav.js').View} */
export async function policyView(_route, stale) {
  /** @type {PolicyInfo} */
  const info = await api('GET', '/v1/policy');
  if (stale()) return ['Policy', []];
  const me = session.me;
  // PUT /v1/policy is for governance and admin tokens (SPEC §8); the page offers it to them only.
  const mayPublish = me?.role === 'governance' || me?.role === 'admin';
  /** @type {Child[]} */
  const nodes = [
    h('h1', {}, 'Policy'),
    h(
      'section',
      { 'aria-labelledby': 'active-heading' },
      h('h2', { id: 'active-heading' }, 'Active revision'),
      dl([
        ['Revision', h('code', { id: 'policy-revision', class: 'wrap' }, info.revision ?? 'none loaded')],
        ['Manifest revision', info.manifest_revision ? h('code', {}, info.manifest_revision) : '—'],
        ['Wasm SHA-256', info.wasm_sha256 ? h('code', { class: 'wrap' }, info.wasm_sha256) : '—'],
        ['Entrypoints', info.entrypoints?.length ? info.entrypoints.join(', ') : '—'],
        ['Activated', info.loaded_at ? [time(info.loaded_at), info.activated_by ? ` by ${info.activated_by}` : ''] : '—'],
        ['Services in the catalog', info.services?.join(', ') || '—'],
      ]),
    ),
  ];
  nodes.push(mayPublish ? publishSection(info) : h('p', { class: 'help' }, 'Governance and admin tokens can preview and publish a new bundle here.'));
  return ['Policy', nodes];
}

/** @param {PolicyInfo} info */
function publishSection(info) {
  const file = h('input', { id: 'bundle-file', name: 'bundle', type: 'file', accept: '.tar.gz,.tgz,application/gzip', required: true, 'aria-describedby': 'bundle-help' });
  const preview = h('button', { type: 'submit', id: 'preview-button' }, 'Preview impact');
  const result = h('div', { id: 'impact', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card', id: 'preview-form', 'aria-labelledby': 'preview-heading', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'bundle-file' }, 'Policy bundle'), file),
    h(
      'p',
      { class: 'help', id: 'bundle-help' },
      'The output of make policies (opa build -t wasm), build/policy/bundle.tar.gz. The preview re-evaluates every live experiment under it with today’s clock and changes nothing.',
    ),
    h('div', { class: 'buttons' }, preview),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    const f = file.files?.[0];
    if (!f) {
      result.append(errorBox('Choose a bundle file first.'));
      file.focus();
      return;
    }
    preview.disabled = true;
    try {
      const bytes = await f.arrayBuffer();
      /** @type {PublishResult} */
      const report = await api('PUT', '/v1/policy?dry_run=true', { bytes });
      append(result, impactView(report, info));
      const publish = h('button', { type: 'button', id: 'publish-button', class: 'danger' }, 'Publish this bundle');
      publish.addEventListener('click', () =>
        openDialog(publish, {
          title: 'Publish this bundle',
          help: `Revision ${report.revision} becomes the active policy for every new decision. Running experiments are not stopped; the impact above names those it would deny.`,
          field: null,
          confirm: 'Publish',
          /** @returns {Promise<PublishResult>} */
          run: () => api('PUT', '/v1/policy', { bytes }),
          done: (r) => `Published. The active revision is ${r.revision}.`,
        }),
      );
      result.append(h('div', { class: 'buttons' }, publish));
      announce(`Impact: ${report.impact.evaluated} evaluated, ${report.impact.changed} changed, ${report.impact.would_deny} would be denied.`);
    } catch (err) {
      result.append(errorBox(err));
    } finally {
      preview.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'preview-heading' }, h('h2', { id: 'preview-heading' }, 'Preview a new bundle'), form, result);
}

/** @param {PublishResult} report @param {PolicyInfo} info @returns {Child[]} */
function impactView(report, info) {
  const im = report.impact;
  const same = report.revision === info.revision;
  const rows = im.experiments.map((e) =>
    h(
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
        e.new.violations.length
          ? h('ul', { class: 'plain' }, e.new.violations.map((v) => h('li', {}, h('code', {}, v.code), ' ', v.message)))
          : 'none',
      ),
    ),
  );
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
    table('Live experiments: verdict under the active policy → under the candidate', ['Experiment', 'Version', 'State', 'Verdict', 'Changed', 'Violations under the candidate'], rows, {
      cards: true,
      empty: 'No live experiment to evaluate.',
    }),
  ];
}
