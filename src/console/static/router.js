// @ts-check
/** Draws the view the URL fragment names, with the header that says who is signed in. */
import { api, ApiError } from './api.js';
import { append, byId, h, main } from './dom.js';
import { errorBox } from './format.js';
import { currentRoute, register } from './nav.js';
import { forget, session, whoText } from './session.js';
import { authorView } from './views/author.js';
import { auditView } from './views/audit.js';
import { decisionView } from './views/decision.js';
import { experimentView } from './views/intent.js';
import { experimentsView } from './views/list.js';
import { layersView } from './views/layers.js';
import { policyView } from './views/policy.js';
import { servicesView } from './views/services.js';
import { signInView } from './views/sign-in.js';

/** @typedef {import('../types.js').Child} Child */

function renderChrome() {
  const me = session.me;
  byId('nav').hidden = !me;
  byId('session').hidden = !me;
  byId('whoami').textContent = me ? whoText(me) : '';
  if (!me) return;
  const current = currentRoute().page;
  for (const a of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll('#nav a'))) {
    // A service token reads only its own flags: the other pages would answer 403.
    if (a.parentElement) a.parentElement.hidden = me.role === 'service' && a.dataset['nav'] !== 'services';
    if (a.dataset['nav'] === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** Signs out (the user asked, or the server no longer knows the token) and shows the sign-in page. @param {string} [notice] */
export function signOut(notice) {
  forget(notice);
  if (location.hash && location.hash !== '#/') location.hash = '#/';
  else void render();
}

let renderSeq = 0;

/**
 * Draws the view for the URL. `focus` is a selector to move keyboard focus to afterwards; by
 * default the page's heading, so a screen reader hears where it arrived.
 * @param {import('./nav.js').RenderOptions} [options]
 */
export async function render({ focus = 'h1' } = {}) {
  const seq = ++renderSeq;
  const stale = () => seq !== renderSeq;
  if (session.token && !session.me) {
    try {
      session.me = await api('GET', '/v1/whoami');
    } catch (err) {
      if (stale()) return;
      // A 401 has signed out already (api.js) and redrawn the sign-in page.
      if (err instanceof Error && 'status' in err && err.status === 401) return;
      renderChrome();
      show('Switchyard', [h('h1', { tabindex: '-1' }, 'Switchyard'), errorBox(err)], focus);
      return;
    }
    if (stale()) return;
  }
  renderChrome();
  const me = session.me;
  if (!me) {
    show('Sign in', signInView(), focus);
    return;
  }
  const route = currentRoute();
  const page = route.page === 'home' ? homePage(me) : route.page;
  /** @type {import('./nav.js').View} */
  const view =
    page === 'new' || route.edit ? authorView : page === 'experiments' ? (route.key ? experimentView : experimentsView) : page === 'services' ? servicesView : page === 'layers' ? layersView : page === 'audit' ? auditView : page === 'decisions' ? decisionView : page === 'policy' ? policyView : unknownPage;
  setBusy(true);
  /** @type {string} */
  let title;
  /** @type {Child[]} */
  let nodes;
  try {
    // A service token reads only its own flags: every other page would answer 403.
    if (me.role === 'service' && page !== 'services') [title, nodes] = notOpen(me);
    else [title, nodes] = await view(route, stale);
  } catch (err) {
    [title, nodes] = errorPage(err, me);
  }
  if (stale()) return;
  setBusy(false);
  show(title, nodes, focus);
}

/** Where the logo and `#/` lead: the first page this token may read. @param {import('../types.js').Me} me */
function homePage(me) {
  return me.role === 'service' ? 'services' : 'experiments';
}

/** A link back to the home page, for the pages that end a path. @param {import('../types.js').Me} me */
function homeLink(me) {
  return h('p', {}, h('a', { href: '#/', id: 'home-link' }, homePage(me) === 'services' ? 'Back to services' : 'Back to experiments'));
}

/** A fragment that names no page: the same "Not found" as an unknown key, with the way back. @type {import('./nav.js').View} */
async function unknownPage() {
  throw new ApiError(404, { detail: `The console has no page at ${location.hash}`, code: 'page_not_found' });
}

/** @param {import('../types.js').Me} me @returns {[string, Child[]]} */
function notOpen(me) {
  return [
    'Not available',
    [h('h1', { tabindex: '-1' }, 'Not available to this token'), h('p', {}, `A ${me.role} token reads its own service’s flags only.`), homeLink(me)],
  ];
}

/**
 * The page for a view that failed: "Not found" for a 404 (an unknown key), "Not allowed" for a 403,
 * else the problem's detail; each with a way back.
 * @param {unknown} err @param {import('../types.js').Me} me @returns {[string, Child[]]}
 */
function errorPage(err, me) {
  if (err instanceof ApiError && err.status === 404) {
    return ['Not found', [h('h1', { tabindex: '-1' }, 'Not found'), h('p', { id: 'not-found' }, err.message), homeLink(me)]];
  }
  if (err instanceof ApiError && err.status === 403) {
    return ['Not allowed', [h('h1', { tabindex: '-1' }, 'Not allowed'), errorBox(err), homeLink(me)]];
  }
  const retry = h('button', { type: 'button', class: 'secondary', onclick: () => void render() }, 'Try again');
  return ['Error', [h('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(err), h('div', { class: 'buttons' }, retry), homeLink(me)]];
}

/**
 * While a view loads, the previous page stays but says so: a status line, and its buttons and
 * fields disabled, so nothing on it acts on what is being replaced.
 * @param {boolean} busy
 */
function setBusy(busy) {
  const m = main();
  m.setAttribute('aria-busy', busy ? 'true' : 'false');
  if (!busy) return;
  for (const el of /** @type {NodeListOf<HTMLButtonElement | HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>} */ (
    m.querySelectorAll('button, input, select, textarea')
  )) {
    el.disabled = true;
  }
  if (!m.querySelector('#loading')) m.prepend(h('p', { id: 'loading', class: 'loading', role: 'status' }, 'Loading…'));
}

/** @param {string} title @param {Child[]} nodes @param {string} focus */
function show(title, nodes, focus) {
  document.title = `${title} · Switchyard`;
  const m = main();
  m.replaceChildren();
  append(m, nodes);
  m.setAttribute('aria-busy', 'false');
  /** @type {HTMLElement | null} */
  const target = (focus && m.querySelector(focus)) || m.querySelector('h1');
  if (target) {
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
}

register(render, signOut);
