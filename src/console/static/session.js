// @ts-check
/** Who is signed in: the token pasted (kept in this tab's sessionStorage) and its GET /v1/whoami. */

/** @typedef {import('../types.js').Me} Me */

const TOKEN_KEY = 'switchyard.token';

export const session = {
  /** @type {string | null} */
  token: sessionStorage.getItem(TOKEN_KEY),
  /** @type {Me | null} */
  me: null,
  /** Shown once on the sign-in page after a sign-out the user did not ask for. @type {string | null} */
  notice: null,
};

/**
 * @param {string} token
 * @param {Me} me
 */
export function signIn(token, me) {
  sessionStorage.setItem(TOKEN_KEY, token);
  session.token = token;
  session.me = me;
}

/** Forgets the token; `notice` says why on the sign-in page. @param {string} [notice] */
export function forget(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.me = null;
  session.notice = notice ?? null;
}

/** @param {Me} me */
export function whoText(me) {
  const extra = [];
  if (me.team) extra.push(`team ${me.team}`);
  if (me.approval_roles?.length) extra.push(`approves as ${me.approval_roles.join(', ')}`);
  if (me.service) extra.push(`service ${me.service}`);
  return `Signed in as ${me.name} · ${me.role}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}
