// @ts-check
// Switchyard web console: a small single-page app over the /v1 API, as native ES modules with no
// framework and no build step (tsc checks their JSDoc types: tsconfig.console.json). Every view
// reads the API with the token the user pasted; every button calls the API, and only the buttons
// the server lists in an intent's allowed_actions are shown. Data is only ever put into the page as
// text (textContent), never parsed as HTML.
import { announce, byId, main } from './dom.js';
import { render, signOut } from './router.js';

byId('sign-out').addEventListener('click', () => {
  signOut();
  announce('Signed out');
});
// The skip link moves focus without touching the fragment, which names the page (an unknown one is "Not found").
document.querySelector('a.skip-link')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main().focus();
});
window.addEventListener('hashchange', () => void render());
void render();
