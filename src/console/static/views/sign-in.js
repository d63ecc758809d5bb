// @ts-check
import { api } from '../api.js';
import { announce, h } from '../dom.js';
import { go } from '../nav.js';
import { session, signIn, whoText } from '../session.js';

/** @returns {import('../../types.js').Child[]} */
export function signInView() {
  const notice = session.notice;
  session.notice = null;
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error', hidden: !notice }, notice ?? '');
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help sign-in-error',
  });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', id: 'sign-in-form', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'API token'), input),
    h(
      'p',
      { class: 'help', id: 'token-help' },
      'A token from POST /v1/tokens (it starts with sy_). It stays in this browser tab only and is sent as a bearer token to the /v1 API.',
    ),
    error,
    h('div', { class: 'buttons' }, button),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Paste a token first.';
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      /** @type {import('../../types.js').Me} */
      const me = await api('GET', '/v1/whoami', { token });
      signIn(token, me);
      announce(whoText(me));
      go(me.role === 'service' ? '#/services' : '#/experiments');
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  return [h('h1', { id: 'sign-in-title' }, 'Sign in'), form];
}
