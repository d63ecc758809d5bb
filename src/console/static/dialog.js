// @ts-check
/** The one modal dialog every action uses (its markup is in index.html). */
import { announce, byId, h, main } from './dom.js';
import { rerender } from './nav.js';

/**
 * @template T
 * @typedef {object} DialogSpec
 * @property {string} title
 * @property {string} help what the action does
 * @property {{ label: string, required: boolean } | null} field an optional text field (reason, comment)
 * @property {string} confirm the confirm button's text
 * @property {(value: string) => Promise<T>} run the API call
 * @property {(result: T) => string} done what to say once it succeeded
 * @property {string} [focus] where focus goes on the redrawn page (default: the Actions heading)
 */

/**
 * A title, what the action does, an optional text field, and the API call. Errors (problem+json
 * detail) stay in the dialog; success closes it and redraws.
 * @template T
 * @param {HTMLElement} opener where focus returns on cancel
 * @param {DialogSpec<T>} spec
 */
export function openDialog(opener, { title, help, field, confirm, run, done, focus = '#actions-heading' }) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('action-dialog'));
  const form = /** @type {HTMLFormElement} */ (byId('action-form'));
  const text = /** @type {HTMLTextAreaElement} */ (byId('action-reason'));
  const label = byId('action-reason-label');
  const error = byId('action-error');
  const ok = /** @type {HTMLButtonElement} */ (byId('action-confirm'));
  const cancel = byId('action-cancel');
  byId('action-dialog-title').textContent = title;
  byId('action-dialog-help').textContent = help;
  ok.textContent = confirm;
  error.hidden = true;
  error.textContent = '';
  text.value = '';
  text.removeAttribute('aria-invalid');
  if (text.parentElement) text.parentElement.hidden = !field;
  if (field) {
    label.textContent = field.label;
    text.required = field.required;
  } else {
    text.required = false;
  }
  let busy = false;
  const close = () => {
    form.removeEventListener('submit', onSubmit);
    cancel.removeEventListener('click', onCancel);
    dialog.removeEventListener('close', onClose);
    if (dialog.open) dialog.close();
  };
  const onCancel = () => close();
  const onClose = () => {
    close();
    if (opener.isConnected) opener.focus();
  };
  /** @param {SubmitEvent} ev */
  const onSubmit = async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const value = text.value.trim();
    if (field?.required && !value) {
      error.textContent = `${field.label.replace(/ \(.*$/, '')} is required.`;
      error.hidden = false;
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    busy = true;
    ok.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const result = await run(value);
      dialog.removeEventListener('close', onClose);
      close();
      announce(done(result));
      await rerender({ focus });
      flash(done(result));
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
      error.hidden = false;
      (field ? text : ok).focus();
    } finally {
      busy = false;
      ok.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };
  form.addEventListener('submit', onSubmit);
  cancel.addEventListener('click', onCancel);
  dialog.addEventListener('close', onClose);
  dialog.showModal();
  (field ? text : ok).focus();
}

/** A visible confirmation under the page heading (the announcer tells screen readers). @param {string} message */
export function flash(message) {
  const h1 = main().querySelector('h1');
  if (!h1) return;
  h1.after(h('p', { class: 'notice', id: 'notice' }, message));
}
