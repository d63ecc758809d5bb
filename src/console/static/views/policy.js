// @ts-check
/** #/policy: the active revision; for governance and admin, a preview of a new bundle's impact, then Publish. */
import { api } from '../api.js';
import { openDialog } from '../dialog.js';
import { announce, append, h } from '../dom.js';
import { dl, errorBox, time } from '../format.js';
import { session } from '../session.js';
import { revisionHistory } from './policy-history.js';
import { impactView } from './policy-preview.js';

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
  nodes.push(await revisionHistory(info));
  if (stale()) return ['Policy', []];
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
      /** @type {import('../../types.js').PublishResult} */
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
