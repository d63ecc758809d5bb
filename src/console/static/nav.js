// @ts-check
/**
 * Redrawing and signing out, for the views and the dialog: router.js registers the functions here
 * at start, so no view imports the router (which imports every view).
 */

/** @typedef {{ focus?: string }} RenderOptions */

/** @type {(options?: RenderOptions) => Promise<void>} */
let renderFn = async () => {};
/** @type {(notice?: string) => void} */
let signOutFn = () => {};

/**
 * @param {(options?: RenderOptions) => Promise<void>} render
 * @param {(notice?: string) => void} signOut
 */
export function register(render, signOut) {
  renderFn = render;
  signOutFn = signOut;
}

/** Draws the view for the URL again. @param {RenderOptions} [options] */
export function rerender(options) {
  return renderFn(options);
}

/** @param {string} [notice] */
export function signOut(notice) {
  signOutFn(notice);
}

/** Goes to `target` (a `#/…` fragment), or redraws when already there. @param {string} target */
export function go(target) {
  if (location.hash === target) void rerender();
  else location.hash = target;
}

/**
 * Where the URL fragment points: a page, an experiment's key, and the query after `?`.
 * `#/new` is the authoring form for a new intent; `#/experiments/{key}/edit` (edit: true) for the next version of one.
 * @typedef {{ page: 'home' | 'experiments' | 'services' | 'policy' | 'new' | 'audit' | 'decisions' | 'layers' | 'unknown', key?: string, edit?: boolean, query: URLSearchParams }} Route
 */

/**
 * A view: reads what it shows, then answers its title and nodes. `stale()` turns true once the URL
 * has moved on meanwhile (its result is then dropped).
 * @typedef {(route: Route, stale: () => boolean) => Promise<[string, import('../types.js').Child[]]>} View
 */

/** @returns {Route} */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [pathPart = '', queryPart = ''] = raw.split('?');
  const parts = pathPart
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const query = new URLSearchParams(queryPart);
  if (parts[0] === 'experiments' && parts[1] && parts[2] === 'edit' && parts.length === 3) return { page: 'experiments', key: parts[1], edit: true, query };
  if (parts[0] === 'new' && parts.length === 1) return { page: 'new', query };
  if (parts[0] === 'experiments' && parts[1] && parts.length === 2) return { page: 'experiments', key: parts[1], query };
  // Governance pages (issue #18): the audit trail, and one decision.
  if (parts[0] === 'decisions' && parts[1] && parts.length === 2) return { page: 'decisions', key: parts[1], query };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit', query };
  if ((parts[0] === 'services' || parts[0] === 'policy' || parts[0] === 'experiments' || parts[0] === 'layers') && parts.length === 1) return { page: parts[0], query };
  // Anything else the fragment names is no page of the console: "Not found" (router.js).
  if (parts.length > 0 || pathPart.replace(/\/+/g, '/') !== '/') return { page: 'unknown', query };
  return { page: 'home', query };
}
