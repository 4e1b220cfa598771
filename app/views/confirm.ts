/**
 * "Finish what you started": after re-authenticating (SEC-35), the user comes back to the account
 * page with `?confirm=ACTION`, and this card asks for that action again in one click. A POST
 * cannot be replayed by a redirect, and a GET never changes anything (SEC-42): the card is a form
 * with its own CSRF token, and nothing happens until it is sent. The forms that need typed input
 * (password, address) cannot be carried over: their card says so and the field takes the focus.
 *
 * @module app/views/confirm
 */
import { html } from 'hono/html';
import type { PasskeyCredential, SessionInfo } from 'latchkey';
import { describeDevice, formatUtc } from './device.ts';
import { csrfField, type Html } from './layout.ts';

/** The actions a fresh-only route sends back to confirm, by their `confirm` value. */
export const CONFIRMABLE = ['revoke-others', 'revoke-session', 'password', 'email', 'totp-setup', 'totp-disable', 'recovery-codes', 'passkey-delete'] as const;
export type Confirmable = (typeof CONFIRMABLE)[number];

/** The account page to come back to after re-authenticating for `action`. */
export function confirmPath(action: Confirmable, sessionId?: string): string {
  return `/account?confirm=${action}${sessionId ? `&session=${encodeURIComponent(sessionId)}` : ''}`;
}

/** A known `confirm` value, or null. */
export function readConfirm(value: string | undefined): Confirmable | null {
  return (CONFIRMABLE as readonly string[]).includes(value ?? '') ? (value as Confirmable) : null;
}

function card(question: string, detail: Html | string, action: string, label: string, csrf: string, danger = false): Html {
  return html`<section class="card confirm" aria-labelledby="confirm-heading">
      <h2 id="confirm-heading">${question}</h2>
      ${detail ? html`<p>${detail}</p>` : ''}
      <div class="actions">
        <form class="inline" method="post" action="${action}">${csrfField(csrf)}<button type="submit" class="button ${danger ? 'danger' : 'primary'}" autofocus>${label}</button></form>
        <a class="button" href="/account">Cancel</a>
      </div>
    </section>`;
}

function note(text: string): Html {
  return html`<section class="card confirm"><p class="notice">${text}</p></section>`;
}

/** The card for `action`; `sessionId` names the session of `revoke-session`, or the passkey of `passkey-delete`. */
export function confirmCard(action: Confirmable, sessions: readonly SessionInfo[], sessionId: string | undefined, csrf: string, passkeys: readonly PasskeyCredential[] = []): Html {
  const others = sessions.filter((s) => !s.current);
  switch (action) {
    case 'revoke-others':
      if (others.length === 0) return note('There are no other sessions to log out any more.');
      return card(
        `Log out your ${others.length === 1 ? 'other session' : `${others.length} other sessions`}?`,
        `Every device but this one will have to log in again.`,
        '/account/sessions/revoke-others',
        'Log out other sessions',
        csrf,
        true,
      );
    case 'revoke-session': {
      const target = others.find((s) => s.id === sessionId);
      if (!target) return note('That session has already ended.');
      return card(
        `Log out ${describeDevice(target.userAgent)}?`,
        `Last seen ${formatUtc(target.lastSeenAt)}${target.ipAddress ? ` from ${target.ipAddress}` : ''}.`,
        `/account/sessions/${target.id}/revoke`,
        'Log out this session',
        csrf,
        true,
      );
    }
    case 'totp-setup':
      return card('Set up an authenticator app?', '', '/account/totp/setup', 'Set up an authenticator app', csrf);
    case 'totp-disable':
      return card('Turn off two-factor authentication?', 'Your recovery codes stop working too.', '/account/totp/disable', 'Turn off two-factor authentication', csrf, true);
    case 'recovery-codes':
      return card('Make new recovery codes?', 'The codes you have now stop working.', '/account/recovery-codes', 'New recovery codes', csrf);
    case 'passkey-delete': {
      const passkey = passkeys.find((p) => p.id === sessionId);
      if (!passkey) return note('That passkey has already been removed.');
      return card(`Remove the passkey "${passkey.name}"?`, 'It will no longer log you in.', `/account/passkeys/${passkey.id}/delete`, 'Remove passkey', csrf, true);
    }
    case 'password':
      return note('Password confirmed. For your safety what you typed was not kept: type your current and new password again below.');
    case 'email':
      return note('Password confirmed. Type the new address again below.');
  }
}
