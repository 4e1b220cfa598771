/**
 * Form pieces: a labelled input with its hint and its error right below it (linked by
 * `aria-describedby`, marked `aria-invalid`), and the "remember me" checkbox. Values typed by the
 * user come back into the field after an error, except passwords, which are never echoed.
 * `autocomplete` tokens (`email`, `username`, `current-password`, `new-password`, `name`) let
 * password managers fill and save correctly (SEC-07, WHATWG HTML §4.10.18.7).
 *
 * @module app/views/forms
 */
import { html } from 'hono/html';
import type { Html } from './layout.ts';

/** Errors by field name, as the routes produce them. */
export type Errors = Readonly<Record<string, string>> | undefined;

export interface FieldOptions {
  readonly name: string;
  readonly label: string;
  readonly type?: 'text' | 'email' | 'password';
  /** Kept input; ignored for passwords. */
  readonly value?: string | undefined;
  readonly autocomplete: string;
  readonly errors?: Errors;
  readonly required?: boolean;
  readonly hint?: string;
  readonly minlength?: number;
  readonly maxlength?: number;
  readonly autofocus?: boolean;
  /** Shown, sent, not editable: the account's own login on the password forms of a logged-in user. */
  readonly readonly?: boolean;
}

/**
 * Whether a field takes the focus at load: the first field in error when the form was refused (its
 * error is read with it, through `aria-describedby`; WCAG 2.2 SC 3.3.1), else the field that asked
 * for it. `autofocus`, not a script: the CSP allows none.
 */
function focused(o: FieldOptions): boolean {
  const errored = Object.keys(o.errors ?? {});
  return errored.length > 0 ? errored[0] === o.name : o.autofocus === true;
}

/** One labelled input. */
export function field(o: FieldOptions): Html {
  const type = o.type ?? 'text';
  const error = o.errors?.[o.name];
  const id = `f-${o.name}`;
  const described = [o.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const value = type === 'password' ? undefined : o.value;
  return html`<div class="field${error ? ' has-error' : ''}">
      <label for="${id}">${o.label}</label>
      <input id="${id}" name="${o.name}" type="${type}" autocomplete="${o.autocomplete}"${value ? html` value="${value}"` : ''}${
        o.required ? html` required` : ''
      }${o.minlength ? html` minlength="${o.minlength}"` : ''}${o.maxlength ? html` maxlength="${o.maxlength}"` : ''}${
        focused(o) ? html` autofocus` : ''
      }${o.readonly ? html` readonly` : ''}${type === 'text' ? html` autocapitalize="none" spellcheck="false"` : ''}${described ? html` aria-describedby="${described}"` : ''}${
        error ? html` aria-invalid="true"` : ''
      }>
      ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
      ${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}
    </div>`;
}

/**
 * The account's login as a read-only line above a password form of a logged-in user: password
 * managers need a username field beside a password to save or fill it, and a hidden input is not
 * one to them (Chromium's "password forms should have username fields").
 */
export function accountLoginField(login: string): Html {
  return field({ name: 'username', label: 'Account', value: login, autocomplete: 'username', readonly: true });
}

/** The "remember me" checkbox: unchecked unless the user just ticked it (the security requirements §5.5). */
export function rememberBox(checked: boolean, errors: Errors): Html {
  const error = errors?.remember;
  return html`<div class="field checkbox">
      <input id="f-remember" name="remember" type="checkbox" value="on"${checked ? html` checked` : ''}>
      <label for="f-remember">Remember me on this device</label>
      ${error ? html`<p class="field-error">${error}</p>` : ''}
    </div>`;
}

/** Errors that belong to no field of the form (unknown fields, too many fields). */
export function otherErrors(errors: Errors, shown: readonly string[]): Html {
  const rest = Object.entries(errors ?? {}).filter(([name]) => !shown.includes(name));
  if (rest.length === 0) return html``;
  return html`<ul class="form-errors" role="alert">${rest.map(([name, reason]) => html`<li><code>${name}</code>: ${reason}</li>`)}</ul>`;
}
