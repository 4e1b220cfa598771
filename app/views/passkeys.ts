/**
 * The passkey parts of the pages (the app's HTTP contract, "Second factors"): the account's list (name,
 * added, last used) with a rename form and a remove button each, and an "Add a passkey" button;
 * and the buttons of the login, two-factor and re-authentication pages. Renaming and removing are
 * plain forms with `_csrf`, so they work without JavaScript; the WebAuthn ceremonies cannot, so
 * their buttons start `hidden` and `/static/passkeys.js` shows them when the browser has WebAuthn.
 * A button says what to do in `data-` attributes only (no inline script, SEC-64): the URL of its
 * options, the URL its credential is posted to, the fields sent along and where to go after. No
 * CSRF token: its requests are JSON, which no page of another site can send without a preflight,
 * and same-origin (SEC-45, SEC-46); the token stays in the forms' `_csrf` fields only (SEC-26).
 * Every button's accessible name contains "passkey".
 *
 * @module app/views/passkeys
 */
import { html } from 'hono/html';
import type { PasskeyCredential } from 'latchkey';
import { MAX_PASSKEY_NAME } from '../passkeys.ts';
import { formatUtc } from './device.ts';
import { csrfField, type Html } from './layout.ts';

/** What a passkey button does. */
export interface PasskeyButton {
  /** `register` runs `navigator.credentials.create()`, `authenticate` `get()`. */
  readonly ceremony: 'register' | 'authenticate';
  readonly label: string;
  /** Where the options come from (POST). */
  readonly options: string;
  /** Where the credential goes (POST JSON `{ credential, ...fields }`). */
  readonly submit: string;
  /** Where to go once the answer is 2xx, unless it names a `next` of its own. */
  readonly next: string;
  /** Ids of inputs whose values are sent along, by their `name` (a checkbox as true/false). */
  readonly fields?: readonly string[];
  /** Whether `next` is sent along too (the login routes take it). */
  readonly sendNext?: boolean;
  readonly style?: string;
  /** Distinguishes the status line of several buttons on one page. */
  readonly id: string;
}

/** A passkey button and its status line (a live region for what went wrong). */
export function passkeyButton(b: PasskeyButton): Html {
  return html`<div class="passkey-action">
      <button type="button" class="${b.style ?? 'button'}" hidden data-passkey="${b.ceremony}" data-options="${b.options}" data-submit="${b.submit}" data-next="${b.next}" data-fields="${(b.fields ?? []).join(' ')}"${b.sendNext ? html` data-send-next` : ''} data-status="${b.id}-status">${b.label}</button>
      <p class="passkey-status" id="${b.id}-status" role="status" aria-live="polite"></p>
    </div>`;
}

function passkeyItem(p: PasskeyCredential, csrf: string, index: number): Html {
  const id = encodeURIComponent(p.id);
  return html`<li class="passkey">
      <div class="passkey-main"><span class="passkey-name"><bdi>${p.name}</bdi></span></div>
      <div class="session-meta">
        <span>Added ${formatUtc(p.createdAt)}</span> · <span>${p.lastUsedAt === null ? 'never used' : html`last used ${formatUtc(p.lastUsedAt)}`}</span>
      </div>
      <form class="inline passkey-rename" method="post" action="/account/passkeys/${id}/rename">
        ${csrfField(csrf)}
        <label for="passkey-rename-${index}">New name</label>
        <input id="passkey-rename-${index}" name="name" type="text" required maxlength="${MAX_PASSKEY_NAME}" value="${p.name}" autocomplete="off">
        <button type="submit" class="button small">Rename passkey</button>
      </form>
      <form class="inline" method="post" action="/account/passkeys/${id}/delete">
        ${csrfField(csrf)}<button type="submit" class="button small danger">Remove passkey</button>
      </form>
    </li>`;
}

/** The account page's passkeys: the list, and the button that adds one under the name typed. */
export function passkeySection(v: { readonly passkeys: readonly PasskeyCredential[]; readonly csrf: string }): Html {
  return html`<section class="card" id="passkeys">
      <h2>Passkeys</h2>
      <p>A passkey logs you in with your device's screen lock, fingerprint or face, without a password; after a password it is a second step.</p>
      ${v.passkeys.length === 0
        ? html`<p class="aside">You have no passkeys.</p>`
        : html`<ul class="passkeys">${v.passkeys.map((p, i) => passkeyItem(p, v.csrf, i))}</ul>`}
      <div class="field">
        <label for="passkey-name">Name of a new passkey</label>
        <input id="passkey-name" name="name" type="text" maxlength="${MAX_PASSKEY_NAME}" placeholder="e.g. Laptop" autocomplete="off">
      </div>
      ${passkeyButton({ ceremony: 'register', label: 'Add a passkey', options: '/account/passkeys/options', submit: '/account/passkeys', next: '/account#passkeys', fields: ['passkey-name'], id: 'passkey-add' })}
    </section>`;
}
