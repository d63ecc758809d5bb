// @ts-check
/** #/services: the flag states each service fetches. */
import { api, enc, flagsOf } from '../api.js';
import { h } from '../dom.js';
import { badge, condition, errorBox, exposureText, json, table } from '../format.js';
import { rerender } from '../nav.js';
import { session } from '../session.js';

/** @typedef {import('../../types.js').Child} Child */

/** @type {import('../nav.js').View} */
export async function servicesView(route, stale) {
  const me = session.me;
  if (!me) return ['Services', []];
  /** @type {string[]} */
  const all = me.role === 'service' ? (me.service ? [me.service] : []) : (/** @type {import('../../types.js').PolicyInfo} */ (await api('GET', '/v1/policy'))).services;
  const only = route.query.get('service');
  const services = only && all.includes(only) ? [only] : all;
  const docs = await flagsOf(services);
  if (stale()) return ['Services', []];
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-services', onclick: () => rerender({ focus: '#refresh-services' }) }, 'Refresh');
  /** @type {Child[]} */
  const nodes = [
    h('h1', {}, 'Services'),
    h(
      'p',
      { class: 'lede' },
      'The flag states each service fetches from GET /v1/services/{service}/flags. A service’s version grows by one with every change to its flags.',
    ),
    h('div', { class: 'buttons' }, refresh, only ? h('a', { href: '#/services', class: 'button-link' }, 'Show every service') : null),
  ];
  for (const { service, doc, error } of docs) {
    const id = `service-${service}`;
    const section = h('section', { 'aria-labelledby': `${id}-heading`, id, class: 'service' });
    section.append(h('h2', { id: `${id}-heading` }, service, ' ', h('span', { class: 'version', 'data-version': doc?.version ?? '' }, doc ? `version ${doc.version}` : '')));
    if (!doc) {
      section.append(errorBox(error));
    } else {
      const rows = Object.entries(doc.flags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, f]) =>
          h(
            'tr',
            { 'data-flag': key },
            h('th', { scope: 'row' }, h('code', {}, key)),
            h('td', {}, badge('flag', f.state)),
            h(
              'td',
              {},
              !f.experiment
                ? '—'
                : me.role === 'service' // a service token may not read intents: no link to a page it cannot open
                  ? `${f.experiment.key} v${f.experiment.version}`
                  : h('a', { href: `#/experiments/${enc(f.experiment.key)}` }, `${f.experiment.key} v${f.experiment.version}`),
            ),
            h('td', {}, f.default_variant),
            h('td', {}, Object.entries(f.variants).map(([k, v]) => `${k} = ${json(v)}`).join(', ')),
            h('td', {}, exposureText(f.allocation)),
            h('td', {}, f.audience?.length ? f.audience.map(condition).join(' and ') : 'everyone'),
          ),
        );
      section.append(
        table(`Flags of ${service}, version ${doc.version}`, ['Flag', 'State', 'Experiment', 'Default', 'Variants', 'Exposure', 'Audience'], rows, {
          cards: true,
          empty: `No flags for ${service} yet (version ${doc.version}).`,
        }),
      );
    }
    nodes.push(section);
  }
  return ['Services', nodes];
}
